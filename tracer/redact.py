"""Secret redaction for everything the tracer exports that may hold user text.

Content attributes (messages, tool arguments and results, outputs) exist only with content
capture on; exception messages and stack traces, the outcome's reason and the expected answer
are exported always. All of them pass through the redactor before they reach a span, so no
exporter or processor ever sees the secret.

Structured values (tool arguments, results, message lists) are redacted *before* they are JSON
encoded: the walk replaces the whole value under a secret-looking key ({"api_key": ...}) and
redacts every string in place, so JSON escaping never hides a secret from a pattern.

Matching runs on RE2 (``google-re2``) when it imports: its automaton is linear in the input for
any pattern, which is what lets detect-secrets' own patterns run here. Without it, stdlib ``re``
runs rootspan's own rules only (secret_rules.py), which are written to stay linear under a
backtracking engine too. The rule set is compiled on first use, not at import or setup().
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Pattern

from rootspan.tracer import secret_rules
from rootspan.tracer.secret_rules import Rule

try:  # RE2 is a declared dependency; the fallback keeps tracing alive where its wheel is missing.
    import re2 as _re2
except Exception:  # noqa: BLE001 - ImportError, or a wheel built for another ABI
    _re2 = None

REDACTED = "[REDACTED]"
ENGINE = "re2" if _re2 is not None else "re"
MAX_DEPTH = 64
# Trimmed off a whole-match secret, so "key=AKC...\"" keeps its "=" and quote.
_DELIMITERS = " \t\r\n=:\"'"


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    regex: Any
    group: int | None


# RE2 is linear for unbounded repetition, and a large bound only grows its automaton (past its
# memory budget, RE2 falls back to a slower engine and logs to stderr): lift bounds of 100+.
_LARGE_BOUND = re.compile(r"\{(\d+),\d{3,}\}")


def _for_re2(pattern: str) -> str:
    return _LARGE_BOUND.sub(r"{\1,}", pattern)


def _re2_compile(pattern: str, capture: bool = True) -> Any:
    """RE2 with room for the combined automaton (8 MiB by default thrashes on random base64) and
    without RE2's own logging to stderr, which the app's output must not carry."""
    assert _re2 is not None
    options = _re2.Options()
    options.max_mem = 64 << 20
    options.log_errors = False
    options.never_capture = not capture
    return _re2.compile(_for_re2(pattern), options)


class _RuleSet:
    """Compiled rules: one combined RE2 scan for all whole-match rules, one scan per context rule."""

    def __init__(self, rules: list[Rule], engine: Any) -> None:
        whole = [rule for rule in rules if rule.group is None]
        grouped = [rule for rule in rules if rule.group is not None]
        self.combined: Any = None
        self.each: list[_Compiled] = []
        if engine is _re2 and _re2 is not None:
            # RE2 runs an alternation of all token formats in one pass over the text.
            self.combined = _re2_compile("|".join(f"(?:{rule.pattern})" for rule in whole), capture=False)
        else:
            self.each.extend(_Compiled(rule, engine.compile(rule.pattern), None) for rule in whole)
        for rule in grouped:
            regex = _re2_compile(rule.pattern) if engine is _re2 else engine.compile(rule.pattern)
            group = regex.groupindex[rule.group] if isinstance(rule.group, str) else rule.group
            self.each.append(_Compiled(rule, regex, group))

    def spans(self, text: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        if self.combined is not None:
            for match in self.combined.finditer(text):
                found.append(_trimmed(text, match.start(), match.end()))
        for compiled in self.each:
            group = compiled.group
            for match in compiled.regex.finditer(text):
                if group is not None and match.start(group) >= 0 and match.end(group) > match.start(group):
                    found.append((match.start(group), match.end(group)))
                else:
                    found.append(_trimmed(text, match.start(), match.end()))
        return [(start, end) for start, end in found if end > start]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _DELIMITERS:
        start += 1
    while end > start and text[end - 1] in _DELIMITERS:
        end -= 1
    return start, end


_builtin: _RuleSet | None = None
_builtin_lock = threading.Lock()


def compile_rules(engine: str = ENGINE) -> _RuleSet:
    """The built-in rules for ``engine``: "re2" (own + detect-secrets' rules) or "re" (own only)."""
    if engine == "re2":
        if _re2 is None:
            raise RuntimeError("google-re2 is not installed")
        return _RuleSet(secret_rules.own_rules() + secret_rules.detect_secrets_rules(), _re2)
    return _RuleSet(secret_rules.own_rules(), re)


def builtin_rules() -> _RuleSet:
    """The default rule set, compiled once per process (detect-secrets' import costs ~150 ms)."""
    global _builtin
    if _builtin is None:
        with _builtin_lock:
            if _builtin is None:
                _builtin = compile_rules()
    return _builtin


# ---- secret-looking keys of structured values ------------------------------------------------

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SECRET_WORDS = frozenset({"password", "passwd", "passphrase", "pwd", "pass", "secret", "secrets", "token",
                           "apikey", "credential", "credentials", "authorization", "auth", "cookie", "sig", "signature"})
_KEY_QUALIFIERS = frozenset({"api", "access", "private", "secret", "account", "signing", "encryption", "master", "auth",
                             "subscription"})
_JOINED = ("apikey", "accesskey", "privatekey", "accountkey", "sharedaccesskey", "connectionstring", "clientsecret",
           "authtoken", "accesstoken", "refreshtoken", "sessiontoken")


def is_secret_key(name: str) -> bool:
    """Whether a dict key names a secret: password, db_password, clientSecret, x-api-key, token.

    ``max_tokens``, ``token_count``, ``tokenizer``, ``key`` or ``primary_key`` stay: "secret" may
    appear anywhere in the name, "token"/"password"-like words must end it, and "key" needs a
    qualifier before it (api, access, private, secret, account...).
    """
    words = [word.lower() for word in _WORDS.findall(name)]
    if not words:
        return False
    if "secret" in words or "secrets" in words:
        return True
    last = words[-1]
    if last in _SECRET_WORDS:
        return True
    if last == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS:
        return True
    if last in ("string",) and len(words) > 1 and words[-2] == "connection":
        return True
    joined = "".join(words)
    return joined.endswith(_JOINED)


class Redactor:
    """Applies the built-in secret rules plus the caller's own patterns (whole match redacted)."""

    def __init__(self, extra_patterns: Iterable[str | Pattern[str]] | None = None, engine: str | None = None) -> None:
        # The caller's patterns run on stdlib re as given: their cost is the caller's choice.
        self._extra = [p if isinstance(p, re.Pattern) else re.compile(p) for p in (extra_patterns or ())]
        self.engine = engine or ENGINE
        # Another engine than the process default (tests of the fallback) compiles its own set.
        self._rules = None if self.engine == ENGINE else compile_rules(self.engine)

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``."""
        if not text:
            return text
        spans = (self._rules or builtin_rules()).spans(text)
        for pattern in self._extra:
            spans.extend(match.span() for match in pattern.finditer(text) if match.end() > match.start())
        if not spans:
            return text
        return _replace(text, spans)

    def value(self, value: Any) -> Any:
        """A JSON-ready copy of ``value``: secret keys' values replaced whole, strings redacted.

        Objects that are not JSON types become ``str(value)`` (as ``json.dumps(default=str)``
        would) and are redacted as text; cycles and nesting past 64 levels become a marker.
        """
        return self._walk(value, 0, set())

    def to_json(self, value: Any) -> str:
        """``value`` redacted and encoded: a string as itself, anything else as JSON."""
        cleaned = self.value(value)
        if isinstance(cleaned, str):
            return cleaned
        try:
            return json.dumps(cleaned, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError):  # a key json cannot encode (a tuple key)
            return self(str(cleaned))

    def _walk(self, value: Any, depth: int, seen: set[int]) -> Any:
        if isinstance(value, str):
            return self(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if depth >= MAX_DEPTH:
            return "<nested too deep>"
        if isinstance(value, dict):
            if id(value) in seen:
                return "<cycle>"
            seen.add(id(value))
            out: dict[Any, Any] = {}
            for key, item in value.items():
                key_text = key if isinstance(key, str) else _safe_str(key)
                out[self(key_text)] = REDACTED if is_secret_key(key_text) else self._walk(item, depth + 1, seen)
            seen.discard(id(value))
            return out
        if isinstance(value, (list, tuple, set, frozenset)):
            if id(value) in seen:
                return "<cycle>"
            seen.add(id(value))
            items = [self._walk(item, depth + 1, seen) for item in value]
            seen.discard(id(value))
            return items
        return self(_safe_str(value))


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a __str__ that raises must not break the app's call
        return f"<{type(value).__name__} that cannot be shown>"


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    spans.sort()
    parts: list[str] = []
    position = 0
    current_start, current_end = spans[0]
    for start, end in spans[1:]:
        if start <= current_end:
            current_end = max(current_end, end)
            continue
        parts.append(text[position:current_start])
        parts.append(REDACTED)
        position = current_end
        current_start, current_end = start, end
    parts.append(text[position:current_start])
    parts.append(REDACTED)
    parts.append(text[current_end:])
    return "".join(parts)
