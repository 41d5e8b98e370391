"""How long loading a run takes as it grows: synthetic runs of 1k, 10k and 100k spans.

Target (issue 3): 100k spans in under 5 s on the 2-core CI machine. Prints a table, writes JSON.
Run: python benchmarks/bench_load.py [--json] [--sizes 1000,10000,100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rootspan.rundir import load_run
from rootspan.synthetic import write_synthetic_run


def measure(sizes: list[int], repeats: int) -> dict:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            run_dir = Path(tmp) / f"run-{size}"
            write_synthetic_run(run_dir, size)
            file_bytes = (run_dir / "traces.jsonl").stat().st_size
            timings = []
            for _ in range(repeats):
                start = time.perf_counter()
                run = load_run(run_dir)
                timings.append(time.perf_counter() - start)
                assert run.span_count == size and not run.warnings
            results.append({
                "spans": size,
                "file_mb": round(file_bytes / 1e6, 2),
                "load_s_median": round(statistics.median(timings), 3),
                "load_s_min": round(min(timings), 3),
                "spans_per_s": round(size / statistics.median(timings)),
            })
    return {
        "benchmark": "load",
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
        "results": results,
        "target": "100k spans < 5 s",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    report = measure([int(size) for size in args.sizes.split(",")], args.repeats)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print(f"{'spans':>8} {'MB':>7} {'median s':>9} {'spans/s':>9}")
        for row in report["results"]:
            print(f"{row['spans']:>8} {row['file_mb']:>7} {row['load_s_median']:>9} {row['spans_per_s']:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
