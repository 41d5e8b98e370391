"""How long secret redaction takes on 200k characters, and how long it holds up the app's thread.

Issue 15: the old URL pattern took 3 s on "a." * 50000, a tool returning 200k characters blocked
the app for 16 s with capture on, and an exception with a 200k-character message took 29 s with
capture off. This measures, for each engine (RE2 and the stdlib ``re`` fallback):

* 200k characters of ordinary text (code, prose, JSON, base64, logs, logs with secrets) and of
  adversarial shapes: the first call (RE2 builds automaton states lazily) and the median of
  ``--repeats`` later calls;
* the secret corpus of the tests: how many formats each engine redacts;
* with the real tracer (RE2): the wall time of a ``@rs.tool`` call returning 200k characters
  with capture on, and of leaving a span with a 200k-character exception with capture off.

Run: python benchmarks/bench_redact.py [--out FILE.json] [--repeats 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

SIZE = 200_000
ROOT = Path(__file__).resolve().parent.parent


def texts() -> dict[str, str]:
    rnd = random.Random(0)
    code = (ROOT / "tracer" / "spans.py").read_text() * 20
    words = "the order was shipped to the customer on monday and the refund policy says thirty days".split()
    prose = " ".join(rnd.choice(words) for _ in range(SIZE // 4))
    items = [{"id": i, "name": f"item {i}", "price": i * 1.5, "url": f"https://shop.example.com/items/{i}?ref=home"}
             for i in range(4000)]
    logs = "\n".join(f"2024-05-01T12:00:{i % 60:02d}Z INFO id={rnd.getrandbits(64):x} path=/api/v1/orders/{i} status=200"
                     for i in range(4000))
    secret_logs = "\n".join(
        line + (f" Authorization: Bearer {rnd.getrandbits(128):x}" if i % 20 == 0 else "")
        for i, line in enumerate(logs.splitlines()))
    shapes = {
        "code": code, "prose": prose, "json": json.dumps(items), "base64": base64.b64encode(rnd.randbytes(SIZE)).decode(),
        "logs": logs, "logs with a bearer token every 20 lines": secret_logs,
    }
    for unit in ("a.", "://", "a:b@", "eyJ", "password=", "ghp_", "token: x "):
        shapes[f"adversarial {unit!r} repeated"] = unit * (SIZE // len(unit) + 1)
    return {name: text[:SIZE] for name, text in shapes.items()}


def time_engine(engine: str, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests" / "tracer"))
    from secret_corpus import CASES

    from rootspan.tracer.redact import Redactor

    start = time.perf_counter()
    redact = Redactor(engine=engine)
    redact("warm up the rule set")
    build_ms = (time.perf_counter() - start) * 1000
    results = {}
    for name, text in texts().items():
        start = time.perf_counter()
        redact(text)
        first = (time.perf_counter() - start) * 1000
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            redact(text)
            runs.append((time.perf_counter() - start) * 1000)
        results[name] = {"first_ms": round(first, 2), "median_ms": round(statistics.median(runs), 2)}
    redacted = sum(1 for case in CASES if case.secret not in redact(case.text))
    kept = sum(1 for case in CASES if redact(case.near_miss) == case.near_miss)
    return {"engine": engine, "rule_set_build_ms": round(build_ms, 1), "chars": SIZE, "texts": results,
            "corpus": {"formats": len(CASES), "redacted": redacted, "near_misses_kept": kept}}


def time_app(repeats: int) -> dict:
    """Wall time the app's own thread spends in a traced call, real pipeline into a temp run dir."""
    import rootspan.tracer as rs

    big = ("order 42 shipped; " * (SIZE // 18 + 1))[:SIZE]
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        rs.setup(service="bench-redact", run_dir=Path(tmp) / "on", capture_content=True, profile="off")

        @rs.tool("fetch_page")
        def fetch_page(url: str) -> str:
            return big

        fetch_page("https://example.com")  # first call compiles the rule set
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            fetch_page("https://example.com")
            runs.append((time.perf_counter() - start) * 1000)
        out["tool_returning_200k_capture_on_median_ms"] = round(statistics.median(runs), 2)
        rs.shutdown()

        rs.setup(service="bench-redact", run_dir=Path(tmp) / "off", capture_content=False, profile="off")
        runs = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            try:
                with rs.tool_span("parse"):
                    raise ValueError(big)
            except ValueError:
                pass
            runs.append((time.perf_counter() - start) * 1000)
        out["exception_200k_message_capture_off_median_ms"] = round(statistics.median(runs[1:]), 2)
        rs.shutdown()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the JSON here (default: stdout)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from rootspan.tracer import redact

    engines = ["re2", "re"] if redact.ENGINE == "re2" else ["re"]
    report = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(), "platform": platform.platform()},
        "engines": [time_engine(engine, args.repeats) for engine in engines],
        "app_thread": time_app(args.repeats),
    }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
