"""Keeping the OTLP endpoint's credentials out of everything rootspan or the exporter prints.

Credentials reach the exporter three ways: ``OTEL_EXPORTER_OTLP_HEADERS`` /
``OTEL_EXPORTER_OTLP_TRACES_HEADERS`` (``Authorization=Basic%20...``), userinfo in the endpoint
URL (``https://user:key@host``) and query parameters (``?api_key=...``). rootspan names the
endpoint in its shutdown line as scheme://host[:port]/path only, and a logging filter on the
OTLP exporter's and the batch processor's loggers replaces those exact values (and anything the
secret rules match) in their messages and tracebacks: a failing export logs the server's reply or
the connection error, either of which can echo the URL or a header back.
"""

from __future__ import annotations

import logging
import os
from typing import Callable
from urllib.parse import parse_qsl, unquote, urlsplit

HEADER_VARS = ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS")
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
# Loggers whose records can carry a URL, a header or a server's reply.
LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",  # the profilers' samples (profilers/otlp_metrics.py)
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.sdk._shared_internal",
)
REDACTED = "[REDACTED]"


def display_endpoint(url: str) -> str:
    """``url`` without userinfo, query or fragment: safe to print."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<OTLP endpoint (unparsable URL)>"
    if not parts.scheme or not host:
        return "<OTLP endpoint>"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def credential_values(environ: os._Environ[str] | dict[str, str] | None = None) -> list[str]:
    """Every header value, userinfo part and query value configured for the exporter, raw and decoded."""
    env = os.environ if environ is None else environ
    values: set[str] = set()
    for name in HEADER_VARS:
        for item in env.get(name, "").split(","):
            if "=" in item:
                values.add(item.split("=", 1)[1].strip())
    for name in ENDPOINT_VARS:
        url = env.get(name, "").strip()
        if not url:
            continue
        try:
            parts = urlsplit(url)
            values.update(v for v in (parts.username, parts.password) if v)
            values.update(value for _, value in parse_qsl(parts.query))
        except ValueError:
            continue
    expanded: set[str] = set()
    for value in values:
        expanded.add(value)
        expanded.add(unquote(value))
        # "Basic%20abc" -> also the bare "abc" a server or library might print on its own
        for scheme in ("Basic ", "Bearer "):
            decoded = unquote(value)
            if decoded.startswith(scheme):
                expanded.add(decoded[len(scheme):].strip())
    # Very short values ("1", "on") would blank out ordinary words; they are no credential anyway.
    return sorted((value for value in expanded if len(value) >= 4), key=len, reverse=True)


class CredentialFilter(logging.Filter):
    """Rewrites a log record so that no configured credential or secret-looking text remains."""

    def __init__(self, values: list[str], redact: Callable[[str], str]) -> None:
        super().__init__()
        self.values = values
        self.redact = redact

    def scrub(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, REDACTED)
        return self.redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is printed by logging as it is
            return True
        record.msg, record.args = self.scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


_installed: list[tuple[logging.Logger, CredentialFilter]] = []


def install_filter(redact: Callable[[str], str]) -> None:
    """(Re)install the filter with the credentials configured now; one per logger at a time."""
    remove_filter()
    values = credential_values()
    for name in LOGGERS:
        logger = logging.getLogger(name)
        credential_filter = CredentialFilter(values, redact)
        logger.addFilter(credential_filter)
        _installed.append((logger, credential_filter))


def remove_filter() -> None:
    while _installed:
        logger, credential_filter = _installed.pop()
        logger.removeFilter(credential_filter)
