"""Tool calls in ``rootspan serve``: the parser (agents/tool_calls.py) on DeepSeek-V3 and
Hermes/Qwen markup, the choice of parser from what a chat template renders, and the server end to
end with the real ``openai`` client.

A model emits tool-call markup only if its weights make it, and the shipped demo model never
will. The end-to-end tests therefore serve a *scripted* checkpoint written here in the real
HF format: every block's output projection is zero, so the last hidden state is the current
token's embedding, and the LM head holds, for each token of a scripted reply, the embedding of
the token before it. Greedy decoding then follows the script token by token through the real
engine, tokenizer decode (DeepSeek's markers as *special* tokens, the case a decode that skips
special tokens breaks), parser and HTTP layer; the prompt does not change the reply.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import httpx
import openai
import pytest
import torch
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

from rootspan.agents.chat_format import ChatFormat
from rootspan.agents.moe import DeepseekMoEModel, MoEConfig, save_checkpoint
from rootspan.agents.serve import build, running
from rootspan.agents.tool_calls import DEEPSEEK, HERMES, ToolCall, ToolCallParser, markup_of, parse

DS_BEGIN, DS_END = "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>"
DS_CALL, DS_CALL_END, DS_SEP = "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>"


def ds_call(name: str, args: str) -> str:
    """One call as DeepSeek-V3's HF chat template writes it."""
    return f"{DS_CALL}function{DS_SEP}{name}\n```json\n{args}\n```{DS_CALL_END}"


def pieces_of(parser: ToolCallParser, text: str, rng: random.Random | None = None) -> list:
    """Feed ``text`` whole or in random cuts; adjacent text pieces merged, calls as (name, args)."""
    out = []
    i = 0
    while i < len(text):
        j = len(text) if rng is None else i + rng.randint(1, 7)
        out += parser.feed(text[i:j])
        i = j
    out += parser.finish()
    merged: list = []
    for p in out:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p if isinstance(p, str) else (p.name, json.loads(p.arguments)))
    return merged


# ---- the parser ------------------------------------------------------------------------------
DS_TWO = ("Let me check both." + DS_BEGIN + ds_call("get_weather", '{"city": "Paris"}') + "\n"
          + ds_call("calc", '{"expr": "2*21"}') + DS_END)
HERMES_TWO = ('I will look it up.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
              '<tool_call>\n{"name": "calc", "arguments": "{\\"expr\\": \\"2*21\\"}"}\n</tool_call>')
NAMES = ["get_weather", "calc"]


@pytest.mark.parametrize(("markup", "text", "content"), [(DEEPSEEK, DS_TWO, "Let me check both."),
                                                          (HERMES, HERMES_TWO, "I will look it up.")])
def test_two_calls_with_text_before(markup, text, content) -> None:
    got, calls = parse(text, markup, NAMES)
    assert got == content
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "Paris"}), ("calc", {"expr": "2*21"})]
    assert len({c.id for c in calls}) == 2 and all(c.id.startswith("call_") for c in calls)
    assert calls[0].openai()["type"] == "function" and isinstance(calls[0].openai()["function"]["arguments"], str)


def test_calls_only_have_no_content_and_v31_form_is_read() -> None:
    content, calls = parse(DS_BEGIN + ds_call("calc", "{}") + DS_END, DEEPSEEK, NAMES)
    assert content is None and calls[0].name == "calc" and calls[0].arguments == "{}"
    v31 = DS_BEGIN + f'{DS_CALL}calc{DS_SEP}{{"expr": "1"}}{DS_CALL_END}' + DS_END
    assert [(c.name, c.arguments) for c in parse(v31, DEEPSEEK, NAMES)[1]] == [("calc", '{"expr": "1"}')]


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        # a marker quoted in a code fence of the prose is an example, not a call
        (HERMES, 'Call it like this:\n```\n<tool_call>{"name": "calc", "arguments": {}}</tool_call>\n```\nok?'),
        (DEEPSEEK, "Its format:\n```text\n" + DS_BEGIN + ds_call("calc", "{}") + DS_END + "\n```"),
        # cut off by max_tokens
        (DEEPSEEK, "Checking." + DS_BEGIN + DS_CALL + "function" + DS_SEP + "calc\n```json\n{\"expr\""),
        (HERMES, 'Checking.<tool_call>{"name": "calc", "argum'),
        # arguments that are not a JSON object, a name the request did not offer, no wrapper content
        (DEEPSEEK, DS_BEGIN + ds_call("calc", "{expr: 1}") + DS_END),
        (DEEPSEEK, DS_BEGIN + ds_call("calc", "[1, 2]") + DS_END),
        (HERMES, '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>'),
        (HERMES, '<tool_call>{"arguments": {}}</tool_call>'),
        (DEEPSEEK, "x " + DS_BEGIN + " not a call " + DS_END),
        (DEEPSEEK, DS_BEGIN + f"{DS_CALL}shell{DS_SEP}calc\n```json\n{{}}\n```{DS_CALL_END}" + DS_END),
    ],
)
def test_near_misses_stay_content_as_written(markup, text) -> None:
    content, calls = parse(text, markup, NAMES)
    assert calls == [] and content == text


def test_a_bad_second_call_keeps_the_first_and_the_rest_is_content() -> None:
    text = DS_BEGIN + ds_call("calc", '{"expr": "1"}') + "\n" + ds_call("calc", "{oops") + DS_END
    content, calls = parse(text, DEEPSEEK, NAMES)
    assert [c.name for c in calls] == ["calc"]
    assert content == "\n" + ds_call("calc", "{oops") + DS_END


def test_a_call_after_a_fence_closes_is_a_call() -> None:
    text = 'Example:\n```\n<tool_call>{"name": "calc", "arguments": {}}</tool_call>\n```\nNow: <tool_call>{"name": "calc", "arguments": {"expr": "3"}}</tool_call>'
    content, calls = parse(text, HERMES, NAMES)
    assert content.endswith("```\nNow:") and [json.loads(c.arguments) for c in calls] == [{"expr": "3"}]


@pytest.mark.parametrize(
    ("markup", "text"),
    [(DEEPSEEK, DS_TWO), (HERMES, HERMES_TWO), (DEEPSEEK, DS_TWO[:120]), (HERMES, HERMES_TWO[:70]),
     (HERMES, 'See:\n```\n<tool_call>{"name": "calc", "arguments": {}}</tool_call>\n```\n<tool_call>{"name": "calc", "arguments": {}}</tool_call> '),
     (DEEPSEEK, DS_BEGIN + ds_call("calc", "{}") + ds_call("nope", "{}") + DS_END + " after"),
     (HERMES, "plain text, no calls  \n")],
)
def test_streamed_pieces_do_not_depend_on_the_cuts(markup, text) -> None:
    whole = pieces_of(ToolCallParser(markup, NAMES), text)
    for seed in range(40):
        assert pieces_of(ToolCallParser(markup, NAMES), text, random.Random(seed)) == whole
    assert "".join(p for p in whole if isinstance(p, str)) == (parse(text, markup, NAMES)[0] or "")


def test_text_is_not_held_longer_than_a_marker_could_need() -> None:
    parser = ToolCallParser(HERMES, NAMES)
    assert parser.feed("The answer is 4") == ["The answer is 4"]
    assert parser.feed(" <tool") == []  # could be the start of <tool_call>
    assert parser.feed("kit>") == [" <toolkit>"]
    assert parser.finish() == []


# ---- choosing the parser from the template ------------------------------------------------------
DS_TEMPLATE = (
    "{{ bos_token }}{% if tools %}<|system|>{% for t in tools %}{{ t | tojson }}{% endfor %}{% endif %}"
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}<|user|>{{ m['content'] }}"
    "{% elif m['role'] == 'assistant' %}<|assistant|>{% if m['content'] is not none %}{{ m['content'] }}{% endif %}"
    "{% if m.tool_calls %}" + DS_BEGIN + "{% for c in m.tool_calls %}{% if not loop.first %}\n{% endif %}"
    + DS_CALL + "{{ c['type'] }}" + DS_SEP + "{{ c['function']['name'] }}\n```json\n{{ c['function']['arguments'] }}\n```"
    + DS_CALL_END + "{% endfor %}" + DS_END + "{% endif %}<eos>"
    "{% elif m['role'] == 'tool' %}<|tool|>{{ m['content'] }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
HERMES_TEMPLATE = (
    "{{ bos_token }}{% if tools %}<|system|>{% for t in tools %}{{ t | tojson }}{% endfor %}{% endif %}"
    "{% for m in messages %}<|{{ m['role'] }}|>{% if m['content'] %}{{ m['content'] }}{% endif %}"
    "{% for c in m.tool_calls or [] %}<tool_call>{\"name\": \"{{ c['function']['name'] }}\", "
    "\"arguments\": {{ c['function']['arguments'] | tojson }}}</tool_call>{% endfor %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _render_with(template: str):
    from rootspan.agents.chat_format import _compile

    compiled = _compile(template, Path("tokenizer_config.json"))
    return lambda messages, tools: compiled.render(messages=messages, tools=tools, bos_token="", add_generation_prompt=True)


def test_the_markup_is_what_the_template_renders() -> None:
    assert markup_of(_render_with(DS_TEMPLATE)) is DEEPSEEK
    assert markup_of(_render_with(HERMES_TEMPLATE)) is HERMES
    plain = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    assert markup_of(_render_with(plain), plain) is None
    # Mentioning the markup is not rendering it: a template that writes calls some other way.
    other = "{# <tool_call> is Hermes' #}{% for m in messages %}{{ m['content'] }}{% for c in m.tool_calls or [] %}CALL {{ c['function']['name'] }}{% endfor %}{% endfor %}"
    assert markup_of(_render_with(other), other) is None
    ignoring = "{# <tool_call> #}{% for m in messages %}{{ m['content'] }}{% endfor %}"  # drops calls: no tool support
    assert markup_of(_render_with(ignoring), ignoring) is None
    # A template that refuses every probe: its source decides.
    refusing = "{{ raise_exception('no') }}" + DS_BEGIN
    assert markup_of(_render_with(refusing), refusing) is DEEPSEEK


# ---- the server end to end, on a scripted checkpoint --------------------------------------------
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "weather of a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
         {"type": "function", "function": {"name": "calc", "parameters": {"type": "object"}}}]
SCRIPTS = {
    "deepseek": (DS_TEMPLATE, ["Checking.", DS_BEGIN, DS_CALL, "function", DS_SEP, "get_weather\n```json\n",
                               '{"city": "Paris"}', "\n```", DS_CALL_END, DS_END]),
    "hermes": (HERMES_TEMPLATE, ["Checking.", "<tool_call>", '{"name": "get_weather", "arguments": {"city": "Paris"}}',
                                 "</tool_call>"]),
}
SPECIAL = ["<eos>", "<bos>", "<|user|>", "<|assistant|>", "<|system|>", "<|tool|>"]
REPLY_TEXT = {name: "".join(script) for name, (_, script) in SCRIPTS.items()}


def write_scripted_checkpoint(out: Path, template: str, script: list[str]) -> Path:
    """A real HF-format checkpoint whose greedy reply to any prompt ending in <|assistant|> is
    ``script`` then <eos> (see the module docstring). DeepSeek's markers are special tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([json.dumps(TOOLS), "what is the weather in Paris?"] * 10, trainer)
    markers = [DS_BEGIN, DS_END, DS_CALL, DS_CALL_END, DS_SEP]
    tok.add_special_tokens([AddedToken(m, special=True, normalized=False) for m in markers])
    tok.add_tokens([AddedToken(p, normalized=False) for p in script if p not in markers])
    tok.save(str(out / "tokenizer.json"))
    ids = [tok.token_to_id("<|assistant|>")] + [tok.token_to_id(p) for p in script] + [tok.token_to_id("<eos>")]
    assert None not in ids and len(set(ids)) == len(ids)  # a bigram script needs every token once
    config = MoEConfig(vocab_size=tok.get_vocab_size(), bos_token_id=tok.token_to_id("<bos>"),
                       eos_token_id=tok.token_to_id("<eos>"), max_position_embeddings=1024)
    torch.manual_seed(0)
    model = DeepseekMoEModel(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight", "experts.down_proj")):
                p.zero_()  # every block adds nothing: the residual stream is the token's embedding
        emb = model.model.embed_tokens.weight
        emb.normal_()
        model.lm_head.weight.zero_()
        for before, after in zip(ids, ids[1:]):
            model.lm_head.weight[after] = 10 * emb[before] / emb[before].norm()
    save_checkpoint(model, out)
    (out / "tokenizer_config.json").write_text(json.dumps({"chat_template": template, "bos_token": "<bos>", "eos_token": "<eos>"}))
    return out


@pytest.fixture(scope="module", params=sorted(SCRIPTS))
def served(request, tmp_path_factory):
    template, script = SCRIPTS[request.param]
    checkpoint = write_scripted_checkpoint(tmp_path_factory.mktemp(request.param), template, script)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    served = build(checkpoint, tracer=provider.get_tracer("test"))
    with running(served.app) as url:
        served.url = url  # type: ignore[attr-defined]
        served.exporter = exporter  # type: ignore[attr-defined]
        served.format = request.param  # type: ignore[attr-defined]
        served.client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)  # type: ignore[attr-defined]
        yield served
    served.engine.close()


ASK = [{"role": "user", "content": "what is the weather in Paris?"}]


def test_a_reply_with_a_call_comes_back_as_tool_calls(served) -> None:
    reply = served.client.chat.completions.create(model=served.model_name, messages=ASK, tools=TOOLS)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"} and call.id.startswith("call_")


def test_a_streamed_call_comes_in_tool_call_deltas(served) -> None:
    stream = served.client.chat.completions.create(model=served.model_name, messages=ASK, tools=TOOLS, stream=True)
    content, calls, finish = [], {}, None
    for chunk in stream:
        delta = chunk.choices[0].delta
        if delta.content:
            assert not calls  # text first, then the calls
            content.append(delta.content)
        for tc in delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            entry["id"] = tc.id or entry["id"]
            entry["name"] += (tc.function.name or "") if tc.function else ""
            entry["arguments"] += (tc.function.arguments or "") if tc.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert "".join(content) == "Checking." and finish == "tool_calls"
    assert list(calls) == [0] and calls[0]["name"] == "get_weather" and calls[0]["id"].startswith("call_")
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}


@pytest.mark.parametrize("stream", [False, True])
def test_the_request_span_says_tool_calls(served, stream) -> None:
    trace_id = random.getrandbits(128) | 1
    header = {"traceparent": f"00-{trace_id:032x}-{random.getrandbits(64) | 1:016x}-01"}
    reply = served.client.chat.completions.create(model=served.model_name, messages=ASK, tools=TOOLS, stream=stream,
                                                  extra_headers=header)
    if stream:
        list(reply)  # the server ends its span after the last chunk is sent: wait for it
    deadline = time.monotonic() + 10
    while not (spans := [s for s in served.exporter.get_finished_spans()
                         if s.name.startswith("serve ") and s.context.trace_id == trace_id]):
        assert time.monotonic() < deadline, "the request span never ended"
        time.sleep(0.01)
    [span] = spans
    assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("tool_calls",)


def test_without_tools_the_markup_is_plain_text(served) -> None:
    for extra in ({}, {"tools": TOOLS, "tool_choice": "none"}):
        choice = served.client.chat.completions.create(model=served.model_name, messages=ASK, **extra).choices[0]
        assert choice.message.content == REPLY_TEXT[served.format] and not choice.message.tool_calls
        assert choice.finish_reason == "stop"


def test_tool_choice_none_keeps_the_tools_out_of_the_prompt(served) -> None:
    fmt = ChatFormat(served.backend, served.backend.checkpoint)
    assert '"get_weather"' in fmt.render(ASK, TOOLS)
    none = served.client.chat.completions.create(model=served.model_name, messages=ASK, tools=TOOLS, tool_choice="none")
    auto = served.client.chat.completions.create(model=served.model_name, messages=ASK, tools=TOOLS)
    assert none.usage.prompt_tokens == len(fmt.encode(ASK)) < auto.usage.prompt_tokens == len(fmt.encode(ASK, TOOLS))


def test_forced_choices_are_accepted_and_a_call_to_another_tool_is_text(served) -> None:
    required = served.client.chat.completions.create(model=served.model_name, messages=ASK, tools=TOOLS, tool_choice="required")
    assert required.choices[0].finish_reason == "tool_calls"
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert served.client.chat.completions.create(model=served.model_name, messages=ASK, tools=TOOLS,
                                                 tool_choice=named).choices[0].message.tool_calls[0].function.name == "get_weather"
    # Named "calc": the model still calls get_weather (no constrained decoding), so no call is returned.
    other = served.client.chat.completions.create(model=served.model_name, messages=ASK, tools=TOOLS,
                                                  tool_choice={"type": "function", "function": {"name": "calc"}}).choices[0]
    assert other.finish_reason == "stop" and not other.message.tool_calls
    assert other.message.content == REPLY_TEXT[served.format]


@pytest.mark.parametrize("stream", [False, True])
def test_markup_cut_by_max_tokens_is_content(served, stream) -> None:
    ask = dict(model=served.model_name, messages=ASK, tools=TOOLS, max_tokens=3)
    expected = "".join(SCRIPTS[served.format][1][:3])
    if stream:
        chunks = list(served.client.chat.completions.create(stream=True, **ask))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert not any(c.choices[0].delta.tool_calls for c in chunks if c.choices)
    else:
        choice = served.client.chat.completions.create(**ask).choices[0]
        text, finish = choice.message.content, [choice.finish_reason]
        assert not choice.message.tool_calls
    assert text == expected and finish == ["length"]


def test_a_tool_round_trip_renders_the_call_back_into_the_prompt(served) -> None:
    first = served.client.chat.completions.create(model=served.model_name, messages=ASK, tools=TOOLS).choices[0].message
    history = ASK + [first.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "18 C, sunny"}]
    prompt = ChatFormat(served.backend, served.backend.checkpoint).render(
        [dict(m, content=m.get("content")) for m in history], TOOLS)
    assert "get_weather" in prompt and "18 C, sunny" in prompt
    assert (DEEPSEEK if served.format == "deepseek" else HERMES).call_begin in prompt
    again = served.client.chat.completions.create(model=served.model_name, messages=history, tools=TOOLS)
    assert again.usage.prompt_tokens > len(ChatFormat(served.backend, served.backend.checkpoint).encode(ASK, TOOLS))


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"tools": TOOLS, "tool_choice": "sometimes"}, "not one of"),
        ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "delete_all"}}}, "not among the tools"),
        ({"tools": TOOLS, "tool_choice": {"type": "function"}}, "expected"),
        ({"tool_choice": "required"}, "needs tools"),
        ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools.0"),
    ],
)
def test_bad_tool_requests_are_400(served, extra, words) -> None:
    body = {"model": served.model_name, "messages": ASK, **extra}
    response = httpx.post(served.url + "/chat/completions", json=body, timeout=30)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and words in error["message"]


def test_the_parsed_call_class_is_openai_shaped() -> None:
    call = ToolCall("calc", '{"expr": "1"}', id="call_1")
    assert call.openai() == {"id": "call_1", "type": "function", "function": {"name": "calc", "arguments": '{"expr": "1"}'}}
