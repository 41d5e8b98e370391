"""How long loading a run takes, and how much memory, as it grows: synthetic runs of 1k to 1M spans.

Targets: 100k spans in under 5 s (issue 3); 1M spans in at most 15 s and 1.5 GB resident (issue 15)
on the 2-core CI machine. Each load runs in a fresh process, so its peak resident set size
(``ru_maxrss``) is the load's own, interpreter and imports included (``rss_before_mb`` is that
part). Prints a table, writes JSON.
Run: python benchmarks/bench_load.py [--json] [--sizes 1000,10000,100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rootspan.synthetic import write_synthetic_run

# Runs in the child: one load, then what it cost. ru_maxrss is in KiB on Linux.
CHILD = """
import json, resource, sys, time
from rootspan.rundir import load_run
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
run = load_run(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "spans": run.span_count, "warnings": len(run.warnings),
                  "rss_before_kib": before, "rss_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def load_in_child(run_dir: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(run_dir)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(sizes: list[int], repeats: int) -> dict:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            run_dir = Path(tmp) / f"run-{size}"
            write_synthetic_run(run_dir, size)
            file_bytes = (run_dir / "traces.jsonl").stat().st_size
            loads = [load_in_child(run_dir) for _ in range(repeats)]
            assert all(load["spans"] == size and not load["warnings"] for load in loads), loads
            timings = [load["seconds"] for load in loads]
            results.append({
                "spans": size,
                "file_mb": round(file_bytes / 1e6, 2),
                "load_s_median": round(statistics.median(timings), 3),
                "load_s_min": round(min(timings), 3),
                "spans_per_s": round(size / statistics.median(timings)),
                "rss_peak_mb": round(max(load["rss_peak_kib"] for load in loads) / 1024, 1),
                "rss_before_mb": round(min(load["rss_before_kib"] for load in loads) / 1024, 1),
            })
    return {
        "benchmark": "load",
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
        "results": results,
        "target": "100k spans < 5 s; 1M spans <= 15 s and <= 1.5 GB resident",
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
        print(f"{'spans':>8} {'MB':>7} {'median s':>9} {'spans/s':>9} {'peak RSS MB':>12}")
        for row in report["results"]:
            print(f"{row['spans']:>8} {row['file_mb']:>7} {row['load_s_median']:>9} {row['spans_per_s']:>9} "
                  f"{row['rss_peak_mb']:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
