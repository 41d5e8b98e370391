"""What writing the run directory's batch every second (not every 5 s) costs an app.

The tracer writes ended spans from a background thread every ``schedule_delay`` ms (issue 15:
1 s, so a SIGKILL loses at most ~1 s of them). A shorter delay means more, smaller writes. This
measures the whole process's CPU time per span (app thread and export thread together) while
spans end at a steady rate, with the 5 s SDK default and with 1 s, alternating the two round by
round in one process, so the ratio compares like with like on a shared machine.
Run: python benchmarks/bench_schedule_delay.py [--json] [--rates 200,2000] [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

DELAYS_MS = (5000, 1000)


def one_round(run_dir: Path, delay_ms: int, rate: int, seconds: float) -> float:
    """CPU µs per span for ``rate`` spans/s over ``seconds``, flushed by shutdown at the end."""
    import rootspan.tracer as rs

    os.environ["OTEL_BSP_SCHEDULE_DELAY"] = str(delay_ms)
    rs.setup(service="bench-delay", run_dir=run_dir, profile="off")
    tick = 1.0 / 50  # spans end in 50 bursts a second, as an app's steps would
    per_tick = max(1, rate // 50)
    count = 0
    cpu_start = time.process_time()
    deadline = time.perf_counter() + seconds
    next_tick = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(per_tick):
            with rs.tool_span("search"):
                pass
        count += per_tick
        next_tick += tick
        time.sleep(max(0.0, next_tick - time.perf_counter()))
    rs.shutdown()
    return (time.process_time() - cpu_start) / count * 1e6


def measure(rates: list[int], seconds: float, rounds: int) -> dict:
    results = []
    saved = os.environ.get("OTEL_BSP_SCHEDULE_DELAY")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rate in rates:
                costs: dict[int, list[float]] = {delay: [] for delay in DELAYS_MS}
                for index in range(rounds):
                    order = DELAYS_MS if index % 2 == 0 else tuple(reversed(DELAYS_MS))
                    for delay in order:
                        run_dir = Path(tmp) / f"run-{rate}-{delay}-{index}"
                        costs[delay].append(one_round(run_dir, delay, rate, seconds))
                medians = {delay: statistics.median(values) for delay, values in costs.items()}
                results.append({
                    "spans_per_s": rate,
                    "cpu_us_per_span": {f"{delay}ms": round(value, 2) for delay, value in medians.items()},
                    "ratio_1s_to_5s": round(medians[1000] / medians[5000], 3),
                })
    finally:
        if saved is None:
            os.environ.pop("OTEL_BSP_SCHEDULE_DELAY", None)
        else:
            os.environ["OTEL_BSP_SCHEDULE_DELAY"] = saved
    return {"benchmark": "schedule_delay", "seconds_per_round": seconds, "rounds": rounds, "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rates", default="200,2000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    report = measure([int(rate) for rate in args.rates.split(",")], args.seconds, args.rounds)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        for row in report["results"]:
            print(f"{row['spans_per_s']:>6} spans/s: {row['cpu_us_per_span']} ratio 1 s / 5 s {row['ratio_1s_to_5s']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
