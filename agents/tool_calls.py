"""Tool calls out of a model's text, in the markup its chat template writes them in.

A checkpoint that supports tools shows the markup in its chat template: the template renders an
assistant turn's ``tool_calls`` the way the model was trained to write them. Two forms are read:

* DeepSeek-V3 (HF tokenizer_config ``chat_template``)::

      <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME
      ```json
      {"arg": 1}
      ```<｜tool▁call▁end｜>
      <｜tool▁call▁begin｜>...<｜tool▁call▁end｜><｜tool▁calls▁end｜>

  (DeepSeek-V3.1's ``<｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{"arg": 1}<｜tool▁call▁end｜>``
  inside the same wrapper is read too.)
* Hermes / Qwen2.5: ``<tool_call>{"name": NAME, "arguments": {...}}</tool_call>``, one block per
  call, no wrapper.

``markup_of(template)`` picks the form by rendering an assistant tool call through the template
(what it writes, not what the model is called). ``ToolCallParser`` reads text incrementally,
so the streamed and the whole response come from the same code: text before the markup goes
out as soon as it cannot be the start of a marker, a call goes out once it is complete and
valid. Markup that does not hold a valid call (arguments that are not a JSON object, a name the
request did not offer, a block cut off by max_tokens) stays in the content as the model wrote
it; a marker inside an open ````` code fence of the prose is quoted text, not a call.

Why by hand: the parsers that exist (vLLM's, SGLang's tool parsers) are part of those servers
and pull in their request types and engines; the grammar is small.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Union

FENCE = "```"


@dataclass(frozen=True)
class ToolCall:
    """One parsed call; ``arguments`` is a JSON object serialised as text (OpenAI's shape)."""

    name: str
    arguments: str
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")

    def openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


Piece = Union[str, ToolCall]  # what the parser hands out: content text or a call


def _json_object(text: str) -> Optional[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _deepseek_call(body: str) -> Optional[tuple[str, dict[str, Any]]]:
    """V3: ``function<｜tool▁sep｜>NAME``, newline, a json code fence holding ARGS; V3.1: ``NAME<｜tool▁sep｜>ARGS``."""
    left, sep, right = body.partition(DEEPSEEK_SEP)
    if not sep:
        return None
    fenced = re.fullmatch(r"([^\n]+)\n```(?:json)?\n(.*)\n```\s*", right, flags=re.DOTALL)
    if fenced and left.strip() == "function":
        name, args = fenced.group(1).strip(), fenced.group(2)
    elif not fenced:
        name, args = left.strip(), right
    else:
        return None
    parsed = _json_object(args)
    return (name, parsed) if name and parsed is not None else None


def _hermes_call(body: str) -> Optional[tuple[str, dict[str, Any]]]:
    """``{"name": NAME, "arguments": {...}}`` (arguments may also be a JSON object in a string)."""
    value = _json_object(body)
    if value is None or not isinstance(value.get("name"), str):
        return None
    args = value.get("arguments", {})
    if isinstance(args, str):
        args = _json_object(args)
    return (value["name"], args) if isinstance(args, dict) else None


@dataclass(frozen=True)
class Markup:
    """One tool-call form: an optional wrapper around calls, each call's delimiters, its body's parser."""

    name: str
    call_begin: str
    call_end: str
    parse_call: Callable[[str], Optional[tuple[str, dict[str, Any]]]]
    wrapper_begin: str = ""
    wrapper_end: str = ""
    separator: str = ""

    @property
    def start(self) -> str:
        """Where markup starts in the text."""
        return self.wrapper_begin or self.call_begin

    @property
    def tokens(self) -> list[str]:
        """The marker strings (a tokenizer may hold them as special tokens, to keep in the output)."""
        return [t for t in (self.wrapper_begin, self.wrapper_end, self.call_begin, self.call_end, self.separator) if t]


DEEPSEEK_SEP = "<｜tool▁sep｜>"
DEEPSEEK = Markup("deepseek", "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", _deepseek_call,
                  wrapper_begin="<｜tool▁calls▁begin｜>", wrapper_end="<｜tool▁calls▁end｜>", separator=DEEPSEEK_SEP)
HERMES = Markup("hermes", "<tool_call>", "</tool_call>", _hermes_call)
MARKUPS = (DEEPSEEK, HERMES)

_PROBE_NAME = "rootspan_probe_tool"


def markup_of(render: Callable[[list[dict[str, Any]], list[dict[str, Any]]], str], source: str = "") -> Optional[Markup]:
    """The tool-call form a chat template writes, found by rendering an assistant turn that calls a
    tool (arguments as a JSON string, OpenAI's way, then as a mapping, transformers' way); the
    template's source is the fallback for a template that refuses both. None: no tool calls."""
    tools = [{"type": "function", "function": {"name": _PROBE_NAME, "description": "probe",
                                               "parameters": {"type": "object", "properties": {}}}}]
    rendered, refused = [], 0
    for arguments in ('{"x": 1}', {"x": 1}):
        call = {"id": "call_0", "type": "function", "function": {"name": _PROBE_NAME, "arguments": arguments}}
        messages = [{"role": "user", "content": "probe"},
                    {"role": "assistant", "content": None, "tool_calls": [call]},
                    {"role": "tool", "tool_call_id": "call_0", "content": "1"}]
        try:
            text = render(messages, tools)
        except Exception:  # noqa: BLE001 - a template that refuses this shape says nothing either way
            refused += 1
            continue
        if _PROBE_NAME in text:
            rendered.append(text)
    for markup in MARKUPS:
        if any(markup.call_begin in text for text in rendered):
            return markup
    if refused == 2:
        for markup in MARKUPS:
            if markup.start in source:
                return markup
    return None


def _prefix_tail(text: str, marker: str) -> int:
    """Length of the longest end of ``text`` that is the start of ``marker`` (to hold back)."""
    for k in range(min(len(text), len(marker) - 1), 0, -1):
        if text.endswith(marker[:k]):
            return k
    return 0


class ToolCallParser:
    """Feeds text in, hands out content text and complete calls in order.

    ``names``: the tool names the request allows; a call to another name is content. The pieces
    do not depend on how the text was cut into ``feed`` calls (the streamed and the whole
    response agree): a decision is taken only on text that has arrived, never on its absence
    before ``finish``. Whitespace between content and a call, between calls, and after the last
    one is not content."""

    def __init__(self, markup: Markup, names: Iterable[str]) -> None:
        self.markup = markup
        self.names = set(names)
        self.calls: list[ToolCall] = []
        self._pending = ""  # text not yet handed out
        self._in_markup = False
        self._raw = ""  # markup consumed since the block or the last call began (content if it fails)
        self._block_calls = 0  # calls handed out in the current wrapper block
        self._fences = 0  # code fences in the content so far: odd means inside one
        self._after_call = False

    def feed(self, text: str) -> list[Piece]:
        self._pending += text
        return self._drain(final=False)

    def finish(self) -> list[Piece]:
        """The rest: an unfinished block is content as written."""
        out = self._drain(final=True)
        rest, self._pending = self._pending, ""
        if rest and not (self.calls and not rest.strip()):
            out.append(rest)
        return _merge(out)

    def _drain(self, final: bool) -> list[Piece]:
        out: list[Piece] = []
        while True:
            step = self._markup_step(final) if self._in_markup else self._text_step(final)
            if step is None:
                return _merge(out)
            out.extend(step)

    def _content(self, text: str) -> list[Piece]:
        if not text:
            return []
        self._fences += text.count(FENCE)
        self._after_call = False
        return [text]

    def _text_step(self, final: bool) -> Optional[list[Piece]]:
        m = self.markup
        if self._after_call and self._pending.strip():
            self._pending = self._pending.lstrip()
        text = self._pending
        at = text.find(m.start)
        while at >= 0 and (self._fences + text[:at].count(FENCE)) % 2 == 1:
            at = text.find(m.start, at + 1)  # inside a code fence of the prose: quoted, not a call
        if at < 0:
            if final:
                return None
            # Hold back what could be the start of a marker, whitespace that may touch one, and
            # backticks (a fence split across two pieces would not be counted).
            send = text[: len(text) - _prefix_tail(text, m.start)].rstrip().rstrip("`")
            if not send:
                return None
            self._pending = text[len(send):]
            return self._content(send)
        head = text[:at].rstrip()
        self._raw = text[len(head):at]  # whitespace before the markup: content only if it fails
        self._pending = text[at:]
        self._in_markup = True
        self._block_calls = 0
        if m.wrapper_begin:
            self._take(len(m.wrapper_begin))
        return self._content(head)

    def _markup_step(self, final: bool) -> Optional[list[Piece]]:
        m, buf = self.markup, self._pending
        if m.wrapper_begin:
            body = buf.lstrip()
            if body.startswith(m.wrapper_end) and self._block_calls:
                self._take(len(buf) - len(body) + len(m.wrapper_end))
                self._raw, self._in_markup = "", False
                return []
            if not body.startswith(m.call_begin):
                if not final and (m.call_begin.startswith(body) or m.wrapper_end.startswith(body)):
                    return None  # could still become the next call or the wrapper's end
                return self._fail(0)
            self._take(len(buf) - len(body))
            buf = body
        end = buf.find(m.call_end)
        if end < 0:
            return None if not final else self._fail(len(buf))
        end += len(m.call_end)
        parsed = m.parse_call(buf[len(m.call_begin) : end - len(m.call_end)])
        if parsed is None or parsed[0] not in self.names:
            return self._fail(end)
        self._pending = buf[end:]
        call = ToolCall(parsed[0], json.dumps(parsed[1], ensure_ascii=False))
        self.calls.append(call)
        self._block_calls += 1
        self._raw = ""
        self._after_call = True
        if not m.wrapper_begin:
            self._in_markup = False
        return [call]

    def _take(self, n: int) -> None:
        self._raw += self._pending[:n]
        self._pending = self._pending[n:]

    def _fail(self, upto: int) -> list[Piece]:
        """Not a valid call: the markup read so far and ``upto`` more characters are content, as
        written; scanning goes on after them as text."""
        head = self._raw + self._pending[:upto]
        self._pending = self._pending[upto:]
        self._raw, self._in_markup = "", False
        self._fences += head.count(FENCE)
        self._after_call = False
        return [head] if head else []


def _merge(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] += piece
        elif piece != "":
            out.append(piece)
    return out


def parse(text: str, markup: Markup, names: Iterable[str]) -> tuple[Optional[str], list[ToolCall]]:
    """Whole text -> (content, calls); content is None when calls took all of it."""
    parser = ToolCallParser(markup, names)
    pieces = parser.feed(text) + parser.finish()
    content = "".join(p for p in pieces if isinstance(p, str))
    calls = [p for p in pieces if isinstance(p, ToolCall)]
    if calls and not content.strip():
        return None, calls
    return content, calls
