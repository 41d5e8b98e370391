"""How ``rootspan serve`` turns chat messages into prompt tokens for the checkpoint it serves.

An HF-format checkpoint (DeepSeek-V2/V3 included) ships its chat format as a Jinja template in
tokenizer_config.json (``chat_template``); rendering it the way transformers'
``apply_chat_template`` does (a sandboxed environment, ``trim_blocks``/``lstrip_blocks``, the
``bos_token``/``eos_token`` strings, ``add_generation_prompt=True``, ``tools`` when the request
has some) gives the prompt the model was trained on. The template already holds the special
tokens, so the text is tokenized without adding any. A checkpoint without a template (the
shipped demo model was trained on raw prompts) gets ``MoEBackend.prompt_of``: the non-system
messages' text in order.

Tool calls: ``markup`` is the tool-call form the template writes (agents/tool_calls.py), found
by rendering an assistant turn that calls a tool; None when the template renders none (or there
is no template), and then the server parses no calls and refuses a forced ``tool_choice``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rootspan.agents.tool_calls import Markup, markup_of
from rootspan.errors import UserError

CONFIG_FILE = "tokenizer_config.json"


def _token_text(value: Any) -> str:
    """tokenizer_config stores special tokens as strings or as {"content": ...} objects."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else ""


class ChatFormat:
    """``encode(messages, tools)`` -> prompt token ids, with the checkpoint's template if it has one."""

    def __init__(self, backend: Any, checkpoint: str | Path) -> None:
        self.backend = backend
        self.template: Any = None
        self.special: dict[str, str] = {}
        self.markup: Markup | None = None
        path = Path(checkpoint) / CONFIG_FILE
        if not path.is_file():
            return
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: not readable JSON ({exc})") from None
        source = config.get("chat_template") if isinstance(config, dict) else None
        if isinstance(source, list):  # several named templates: the default one
            source = next((t.get("template") for t in source if isinstance(t, dict) and t.get("name") == "default"), None)
        if not isinstance(source, str) or not source.strip():
            return
        self.special = {"bos_token": _token_text(config.get("bos_token")), "eos_token": _token_text(config.get("eos_token"))}
        self.template = _compile(source, path)
        self.markup = markup_of(self.render, source)

    @property
    def templated(self) -> bool:
        return self.template is not None

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
        if self.template is None:
            return self.backend.prompt_of(messages)
        context: dict[str, Any] = {"messages": messages, "add_generation_prompt": True, **self.special}
        if tools:
            context["tools"] = tools
        return self.template.render(**context)

    def markup_token_ids(self) -> set[int]:
        """Ids of the tokenizer's special tokens that spell the tool-call markers: the output's
        decode must keep them (some checkpoints mark them special, and a decode that skips
        special tokens would erase the calls)."""
        if self.markup is None:
            return set()
        tokenizer = self.backend.tokenizer
        added = tokenizer.get_added_tokens_decoder() if hasattr(tokenizer, "get_added_tokens_decoder") else {}
        wanted = set(self.markup.tokens)
        return {int(i) for i, token in added.items() if token.special and token.content in wanted}

    def tokenize(self, text: str) -> list[int]:
        """Token ids of a rendered prompt (a template's text already holds its special tokens)."""
        if self.template is None:
            return self.backend.encode(text)
        return self.backend.tokenizer.encode(text, add_special_tokens=False).ids

    def encode(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> list[int]:
        return self.tokenize(self.render(messages, tools))


class TemplateError(ValueError):
    """The checkpoint's template refused these messages (its ``raise_exception``) or failed on them."""


def _raise(message: str) -> None:
    raise TemplateError(message)


def _compile(source: str, path: Path) -> Any:
    try:
        from jinja2 import TemplateSyntaxError
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        raise UserError(f"{path} has a chat template; rendering it needs jinja2 (pip install 'rootspan[serve]')") from None
    # Sandboxed: the template comes with a downloaded checkpoint and must not reach Python objects.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, ensure_ascii=False, indent=indent)
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise UserError(f"{path}: chat_template is not a valid Jinja template ({exc.message})") from None
