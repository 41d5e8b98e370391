"""Secret redaction for everything the tracer exports that may hold user text.

Content attributes (messages, tool arguments and results, outputs) exist only with content
capture on; exception messages and stack traces are exported always. Both pass through the
redactor before they reach a span, so no exporter or processor ever sees the secret. Only text
that is actually recorded is scanned, which keeps regexes off the hot path of ordinary spans.
"""

from __future__ import annotations

import re
from typing import Iterable, Pattern

REDACTED = "[REDACTED]"

# (pattern, replacement): replacements keep the non-secret context so a reader still sees what
# kind of secret was there.
DEFAULT_PATTERNS: tuple[tuple[str, str], ...] = (
    # scheme://user:password@host -> keep the user, hide the password
    (r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/:@]*:)[^\s/@]+(?=@)", r"\g<keep>" + REDACTED),
    # Authorization: Bearer <token>
    (r"(?i)(?P<keep>\bbearer\s+)[A-Za-z0-9\-._~+/]+=*", r"\g<keep>" + REDACTED),
    # OpenAI / Anthropic style keys: sk-..., sk-proj-..., sk-ant-...
    (r"\bsk-[A-Za-z0-9_\-]{16,}", REDACTED),
    # AWS access key ids and secret keys given as key=value
    (r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA)[0-9A-Z]{16}\b", REDACTED),
    (r"(?i)(?P<keep>aws_secret_access_key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{40}", r"\g<keep>" + REDACTED),
    # GitHub, Google, Slack, Hugging Face tokens
    (r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", REDACTED),
    (r"\bAIza[0-9A-Za-z\-_]{35}\b", REDACTED),
    (r"\bxox[abprs]-[A-Za-z0-9\-]{10,}\b", REDACTED),
    (r"\bhf_[A-Za-z0-9]{30,}\b", REDACTED),
    # password=..., api_key: ..., "secret": "..."
    (
        r"(?i)(?P<keep>\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"',;&]+",
        r"\g<keep>" + REDACTED,
    ),
)


class Redactor:
    """Applies the default secret patterns plus the caller's own, in order."""

    def __init__(self, extra_patterns: Iterable[str | Pattern[str]] | None = None) -> None:
        rules: list[tuple[Pattern[str], str]] = [(re.compile(p), r) for p, r in DEFAULT_PATTERNS]
        for pattern in extra_patterns or ():
            compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
            rules.append((compiled, REDACTED))
        self._rules = rules

    def __call__(self, text: str) -> str:
        for pattern, replacement in self._rules:
            text = pattern.sub(replacement, text)
        return text
