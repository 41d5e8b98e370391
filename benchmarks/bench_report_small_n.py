"""Benchmark: the CI gate's false alarms and power at CI sample sizes (1, 2, 3, 5, 10 runs per side).

Seeded synthetic runs (attribution/report/synthetic.py) through the full comparison: noise-only
pairs give the false-alarm rate, a 2x slower search step in every candidate repeat the power, at
+-25% and +-10% run-to-run noise. Seeded, so the figures are the same on any machine.
Run: ``python benchmarks/bench_report_small_n.py --seeds 200 --json [-o FILE]`` (or
``rootspan bench report``, which prints the same table after its other scenarios).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

from rootspan.attribution.report.bench import SMALL_N, power_by_repeats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="seeded comparisons per cell (default 200)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("-o", "--output", help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        print("--seeds must be at least 1", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = power_by_repeats(args.seeds, SMALL_N)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["machine"] = {"python": platform.python_version(), "processor": platform.machine()}
    text = json.dumps(result, indent=2)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    if args.json:
        print(text)
        return 0
    print(f"{args.seeds} seeds per cell, {result['seconds']} s")
    print(f"{'runs/side':>9}  {'false alarm ±25%':>16}  {'power ±25%':>10}  {'false alarm ±10%':>16}  {'power ±10%':>10}")
    for row in result["rows"]:
        print(
            f"{row['runs_per_side']:>9}  {row['false_alarm_sigma0.25'] * 100:15.1f}%  {row['power_x2_sigma0.25'] * 100:9.1f}%"
            f"  {row['false_alarm_sigma0.1'] * 100:15.1f}%  {row['power_x2_sigma0.1'] * 100:9.1f}%"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
