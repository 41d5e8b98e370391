"""`rootspan serve --model DIR` on a checkpoint with a byte-level BPE tokenizer and a chat
template (what HF-format DeepSeek-V2/V3 checkpoints ship): the template makes the prompt, in a
sandbox; streamed pieces of multi-byte text add up to the whole decode; a template that refuses
the messages is a 400. The checkpoint is random weights with a tokenizer trained here."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from rootspan.agents.chat_format import ChatFormat, TemplateError
from rootspan.agents.moe import MoEConfig, generate, write_random_checkpoint
from rootspan.agents.serve import build, running
from rootspan.errors import UserError

SPECIAL = ["<eos>", "<bos>", "<|user|>", "<|assistant|>", "<|system|>"]
TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'developer' %}{{ raise_exception('developer messages are not supported') }}{% endif %}"
    "<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
    "{% if tools %}{{ tools | tojson }}{% endif %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bytelevel")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["héllo wörld, 日本語のテキスト", "the quick brown fox", "naïve café"] * 30, trainer)
    tok.save(str(out / "tokenizer.json"))
    config = MoEConfig(vocab_size=tok.get_vocab_size(), bos_token_id=tok.token_to_id("<bos>"),
                       eos_token_id=tok.token_to_id("<eos>"), max_position_embeddings=256)
    write_random_checkpoint(out, config, seed=1)
    (out / "tokenizer_config.json").write_text(json.dumps(
        {"chat_template": TEMPLATE, "bos_token": "<bos>", "eos_token": {"content": "<eos>"}}))
    return out


@pytest.fixture(scope="module")
def served(checkpoint: Path):
    torch.manual_seed(0)
    served = build(checkpoint)
    with running(served.app) as url:
        served.url = url  # type: ignore[attr-defined]
        yield served
    served.engine.close()


def test_the_template_makes_the_prompt(served, checkpoint) -> None:
    tok = served.backend.tokenizer
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "héllo"}]
    ids = ChatFormat(served.backend, checkpoint).encode(messages)
    assert ids == tok.encode("<bos><|system|>be brief<|user|>héllo<|assistant|>", add_special_tokens=False).ids
    assert ids[0] == tok.token_to_id("<bos>") and ids[-1] == tok.token_to_id("<|assistant|>")
    client = openai.OpenAI(base_url=served.url, api_key="unused", max_retries=0)
    reply = client.chat.completions.create(model=checkpoint.name, messages=messages, max_tokens=3)
    assert reply.usage.prompt_tokens == len(ids)


def test_stream_pieces_of_multibyte_text_add_up_to_the_decode(served, checkpoint) -> None:
    messages = [{"role": "user", "content": "日本語"}]
    ids = ChatFormat(served.backend, checkpoint).encode(messages)
    expected_ids = generate(served.backend.net, [ids], max_new_tokens=24)[0].tolist()
    expected = served.backend.tokenizer.decode(expected_ids, skip_special_tokens=True)
    client = openai.OpenAI(base_url=served.url, api_key="unused", max_retries=0)
    ask = dict(model=checkpoint.name, messages=messages, max_tokens=24, extra_body={"ignore_eos": True})
    whole = client.chat.completions.create(**ask).choices[0].message.content
    pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(stream=True, **ask) if c.choices]
    assert whole == "".join(pieces) == expected
    # A trailing replacement character (a UTF-8 sequence the next byte may complete) is held back.
    assert not any(p.endswith("\ufffd") for p in pieces[:-1])
    # Byte-level tokens are not text one by one: the naive join of token strings differs.
    assert "".join(served.backend.tokenizer.id_to_token(i) for i in expected_ids) != expected


def test_tools_reach_the_template(served, checkpoint) -> None:
    tools = [{"type": "function", "function": {"name": "calc", "parameters": {"type": "object"}}}]
    fmt = ChatFormat(served.backend, checkpoint)
    assert '"name": "calc"' in fmt.render([{"role": "user", "content": "x"}], tools)
    body = {"model": checkpoint.name, "messages": [{"role": "user", "content": "x"}], "tools": tools, "max_tokens": 2}
    assert httpx.post(served.url + "/chat/completions", json=body, timeout=30).status_code == 200


@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ([{"role": "developer", "content": "x"}], "developer messages are not supported"),
        ([{"role": "user", "content": "x", "name": {"nested": True}}], None),
    ],
)
def test_a_template_refusing_the_messages_is_a_400(served, checkpoint, messages, words) -> None:
    body = {"model": checkpoint.name, "messages": messages, "max_tokens": 2}
    response = httpx.post(served.url + "/chat/completions", json=body, timeout=30)
    if words is None:  # extra fields the template ignores are fine
        assert response.status_code == 200
        return
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "messages" and words in error["message"]


def test_the_template_runs_in_a_sandbox(tmp_path: Path, served) -> None:
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}))
    with pytest.raises(Exception, match="unsafe|not safely|access"):
        ChatFormat(served.backend, tmp_path).render([{"role": "user", "content": "x"}])


def test_bad_templates_are_one_line_errors(tmp_path: Path, served) -> None:
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{% for m in messages %}"}))
    with pytest.raises(UserError, match="not a valid Jinja template"):
        ChatFormat(served.backend, tmp_path)
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(UserError, match="not readable JSON"):
        ChatFormat(served.backend, tmp_path)
    with pytest.raises(TemplateError):
        (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ raise_exception('no') }}"}))
        ChatFormat(served.backend, tmp_path).render([])


def test_without_a_template_the_demo_prompt_is_used(served) -> None:
    from rootspan.agents.moe_backend import DEMO_CHECKPOINT, MoEBackend

    backend = MoEBackend(DEMO_CHECKPOINT)
    fmt = ChatFormat(backend, DEMO_CHECKPOINT)
    messages = [{"role": "system", "content": "ignored"}, {"role": "user", "content": "Q:1+1\nP:"}]
    assert not fmt.templated and fmt.encode(messages) == backend.encode("Q:1+1\nP:")
