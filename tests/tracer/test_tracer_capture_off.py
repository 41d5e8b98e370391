"""With content capture off (the default) exactly the documented fields leave the process, and no
configured OTLP credential is ever printed.

Both tests run a real traced app in a child process (the real SDK pipeline, atexit flush) and
read what it wrote: the run directory's OTLP JSON file, and its stderr.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from secret_corpus import CASES
from tracer_helpers import EchoingCollector, serving

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tracing.md"
SECRETS = {case.name: case.secret for case in CASES}
PLANTED = {
    "reason": SECRETS["OpenAI project"],
    "reason_kv": SECRETS["env DB_PASSWORD"],
    "expected_key": SECRETS["GitHub fine-grained"],
    "expected_text": SECRETS["Slack bot"],
    "exception": SECRETS["JWT bare"],
    "exception_url": SECRETS["postgres url"],
    "source_line": "hunter2hunter2",
    "tool_arg": SECRETS["Hugging Face"],
    "tool_result": SECRETS["Stripe live secret"],
    "prompt": SECRETS["Anthropic"],
    "handoff": SECRETS["SendGrid"],
}

APP = """
import json, sys
import rootspan.tracer as rs

secrets = json.loads(sys.argv[2])
rs.setup(service="capture-off", run_dir=sys.argv[1], profile="off")

@rs.tool("lookup")
def lookup(query, token):
    return "result " + secrets["tool_result"]

@rs.agent("clerk")
def clerk(task):
    with rs.llm_call(model="m-1", provider="local") as call:
        call.usage(input_tokens=12, output_tokens=3)
        call.finish_reasons(["stop"])
        call.messages(input=[{"role": "user", "content": "key " + secrets["prompt"]}], output="ok")
    rs.handoff("auditor", reason="auditor holds " + secrets["handoff"])
    lookup("order 42", token=secrets["tool_arg"])
    try:
        raise PermissionError("login failed with password=hunter2hunter2")
    except PermissionError:
        pass
    return "done"

with rs.workflow("ticket", conversation_id="T-1", task="refund " + secrets["prompt"]):
    clerk("refund")
    rs.outcome(success=False, reason="used " + secrets["reason"] + " and " + "DB_PASSWORD=" + secrets["reason_kv"],
               expected={"api_key": secrets["expected_key"], "answer": "token " + secrets["expected_text"]},
               answer="the answer " + secrets["tool_result"])
    try:
        with rs.tool_span("connect"):
            raise ConnectionError("cannot reach postgres://app:" + secrets["exception_url"] + "@db/x with " + secrets["exception"])
    except ConnectionError:
        pass
"""


def _documented_names() -> set[str]:
    """Attribute names the docs' capture-off section lists (backticked), the contract under test."""
    text = DOCS.read_text()
    section = text.split("### What is recorded with capture off", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"`([a-z_][a-z0-9_.]*)`", section))


def _exported(run_dir: Path) -> tuple[str, set[str], set[str]]:
    raw = (run_dir / "traces.jsonl").read_text()
    attributes: set[str] = set()
    events: set[str] = set()
    for line in raw.splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    attributes.update(attr["key"] for attr in span.get("attributes", []))
                    for event in span.get("events", []):
                        events.update(attr["key"] for attr in event.get("attributes", []))
    return raw, attributes, events


def test_capture_off_exports_only_the_documented_fields_and_no_secret(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(APP))
    run_dir = tmp_path / "run"
    result = subprocess.run([sys.executable, str(app), str(run_dir), json.dumps(PLANTED)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    raw, attributes, events = _exported(run_dir)
    for where, secret in PLANTED.items():
        assert secret not in raw, where
        assert secret not in result.stderr, where
    # The fields that carry them are there, redacted: the reason, the expected answer, the exception.
    assert "[REDACTED]" in raw
    for recorded in ("rootspan.outcome.reason", "rootspan.expected", "error.type"):
        assert recorded in attributes
    assert {"exception.message", "exception.stacktrace", "exception.type"} <= events
    # Content attributes exist only with capture on.
    for content in ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments",
                    "gen_ai.tool.call.result", "rootspan.output", "rootspan.handoff.reason"):
        assert content not in attributes
    documented = _documented_names()
    assert attributes | events <= documented, sorted((attributes | events) - documented)


def test_otlp_credentials_are_never_printed(tmp_path):
    with serving(EchoingCollector) as server:
        port = server.server_port
        basic = "QWxhZGRpbjpvcGVuIHNlc2FtZQ" + "xyz"
        api_key = "k-" + SECRETS["Hugging Face"]
        password = "pw-" + SECRETS["env DB_PASSWORD"]
        query_key = "q-" + SECRETS["GitHub ghp_"][4:]
        env = {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://ann:{password}@127.0.0.1:{port}/v1/traces?api_key={query_key}",
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Basic%20{basic},x-api-key={api_key}",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2",
        }
        app = tmp_path / "app.py"
        app.write_text(textwrap.dedent("""
            import rootspan.tracer as rs
            rs.setup(service="creds", profile="off")
            with rs.workflow("w"):
                pass
        """))
        result = subprocess.run([sys.executable, str(app)], capture_output=True, text=True, timeout=120,
                                env={**os.environ, **env}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    err = result.stderr
    # The export failed and both the exporter and rootspan said so...
    assert "Failed to export" in err
    assert f"spans failed to export to OTLP endpoint http://127.0.0.1:{port}/v1/traces" in err
    # ...without any credential, raw or decoded.
    for secret in (basic, api_key, password, query_key, "ann:"):
        assert secret not in err, (secret, err)
