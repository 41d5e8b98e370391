"""What the issue-15 safety rules cost: symlink-proof writes and escaping invisible characters.

Measures, alternating old and new round by round in one process (so the ratio compares like with
like on a shared machine), best of the rounds:
- a whole-file write of 100 KB: ``Path.write_text`` (the old writers) vs ``safe_write.write_atomic``
  (random O_EXCL|O_NOFOLLOW temp file, then rename);
- one JSON line appended: ``open(path, "a")`` vs ``safe_write.append_bytes`` (O_NOFOLLOW, fstat);
- ``text.printable`` on 200k characters of ASCII and of mixed non-ASCII text, old rule (controls
  only) vs new (controls, bidi, zero-width, tags...), plus the new rule's first-call cost; and on
  200k characters of which 15k are bidi/zero-width (each one escaped, which the old rule did not).
Run: python benchmarks/bench_safe_io.py [--json] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from rootspan.safe_write import append_bytes, write_atomic

_OLD_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def old_printable(value: object) -> str:
    """The rule before issue 15 (control characters only), for the comparison."""
    text = str(value).replace("\n", "\\n").replace("\t", " ")
    return _OLD_CONTROL.sub(lambda m: "\\x%02x" % ord(m.group(0)), text)


def _per_call_us(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    import rootspan.text as text_module

    text_module._unicode.clear()
    text_module.printable("é")  # the non-ASCII class, compiled once per process
    first_call_ms = (time.perf_counter() - started) * 1000
    printable = text_module.printable

    payload = "x" * 100_000
    line = (json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "chat m"}] * 20}]}]}) + "\n").encode()
    ascii_text = ("plain tool output, line of text. " * 7000)[:200_000]
    mixed_text = ("résumé 漢字 تجربة 👍 text " * 9000)[:200_000]
    hostile_text = ("résumé 漢字 تجربة 👍 \u202e\u200b text " * 8000)[:200_000]  # 15k characters to escape
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def old_append() -> None:
            with (folder / "old.jsonl").open("ab") as handle:
                handle.write(line)

        cases = {
            "write 100 KB file (us)": (lambda: (folder / "old.json").write_text(payload),
                                       lambda: write_atomic(folder / "new.json", payload), 200),
            "append one line (us)": (old_append, lambda: append_bytes(folder / "new.jsonl", line), 2000),
            "printable 200k ASCII chars (us)": (lambda: old_printable(ascii_text), lambda: printable(ascii_text), 20),
            "printable 200k mixed chars (us)": (lambda: old_printable(mixed_text), lambda: printable(mixed_text), 20),
            "printable 200k hostile chars (us)": (lambda: old_printable(hostile_text), lambda: printable(hostile_text), 10),
        }
        for _ in range(args.rounds):
            for name, (old, new, n) in cases.items():
                row = results.setdefault(name, {"old": [], "new": []})
                row["old"].append(_per_call_us(old, n))
                row["new"].append(_per_call_us(new, n))
    summary = {
        name: {"old": round(min(row["old"]), 1), "new": round(min(row["new"]), 1),
               "ratio": round(min(row["new"]) / min(row["old"]), 2)}
        for name, row in results.items()
    }
    output = {"rounds": args.rounds, "printable_first_call_ms": round(first_call_ms, 2), "results": summary}
    if args.json:
        print(json.dumps(output, indent=2))
    else:
        print(f"printable first non-ASCII call: {output['printable_first_call_ms']} ms")
        for name, row in summary.items():
            print(f"{name:<34} old {row['old']:>9}  new {row['new']:>9}  x{row['ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
