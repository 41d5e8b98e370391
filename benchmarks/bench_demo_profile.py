"""Benchmark: what the default `rootspan demo` (profile "sample") costs over an unprofiled demo.

Each repeat runs `rootspan demo` in a fresh process per mode (Kineto's one-time start-up is part
of what a user pays, so it must not be amortised over repeats in one process), modes alternating
in order so that drifts of a shared machine hit each alike. Reported per mode: process wall
seconds, the demo's own seconds (model load to shutdown) and the sum of task seconds, as the
minimum and median of the repeats, and each mode's ratio to "off" (minimum to minimum: the
repeat least disturbed by other processes). Also checks that "sample" wrote kernels/*.json.
Run: ``python benchmarks/bench_demo_profile.py [--repeats 3] [--tasks 10] [--modes off,sample,sample:2] [--json] [-o FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _one(mode: str, out: Path, tasks: int, env: dict[str, str]) -> dict[str, float]:
    """One demo process; ``sample:N`` is the sample mode with ROOTSPAN_PROFILE_FIRST=N."""
    profile, _, first = mode.partition(":")
    if first:
        env = dict(env, ROOTSPAN_PROFILE_FIRST=first)
    args = [sys.executable, "-m", "rootspan", "demo", "-o", str(out), "--tasks", str(tasks), "--profile", profile, "--json"]
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, timeout=900, env=env)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"rootspan demo --profile {mode} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    summary = json.loads(result.stdout)
    return {
        "process_s": wall,
        "demo_s": float(summary["seconds"]),
        "tasks_s": sum(float(o["seconds"]) for o in summary["outcomes"]),
        "kernel_files": len(list((out / "kernels").glob("*.json"))) if (out / "kernels").is_dir() else 0,
        "usdt_lines": result.stderr.count("USDT") + result.stdout.count("USDT"),
    }


def run(modes: list[str], repeats: int, tasks: int) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if key not in ("ROOTSPAN_PROFILE", "ROOTSPAN_PROFILE_FIRST")}
    rows: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory(prefix="rootspan-bench-demo-") as tmp:
        for repeat in range(repeats):
            for mode in modes if repeat % 2 == 0 else list(reversed(modes)):
                rows[mode].append(_one(mode, Path(tmp) / f"{mode.replace(':', '-')}-{repeat}", tasks, env))
    result: dict[str, Any] = {"tasks": tasks, "repeats": repeats, "modes": {}, "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}}
    for mode, runs in rows.items():
        result["modes"][mode] = {
            key: {"min": min(r[key] for r in runs), "median": statistics.median(r[key] for r in runs),
                  "all": [round(r[key], 3) for r in runs]}
            for key in ("process_s", "demo_s", "tasks_s")
        }
        result["modes"][mode]["kernel_files"] = min(r["kernel_files"] for r in runs)
        result["modes"][mode]["usdt_lines"] = max(r["usdt_lines"] for r in runs)
    if "off" in rows:
        base = result["modes"]["off"]
        result["ratio_to_off"] = {
            mode: {key: result["modes"][mode][key]["min"] / base[key]["min"] for key in ("process_s", "demo_s", "tasks_s")}
            for mode in rows
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--modes", default="off,sample",
                        help="comma-separated profile modes; sample:N sets ROOTSPAN_PROFILE_FIRST=N (default off,sample)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("-o", "--output", help="also write the JSON here")
    args = parser.parse_args(argv)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if args.repeats < 1 or args.tasks < 1 or not modes:
        print("--repeats and --tasks must be at least 1 and --modes non-empty", file=sys.stderr)
        return 2
    result = run(modes, args.repeats, args.tasks)
    text = json.dumps(result, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    if args.json:
        print(text)
        return 0
    print(f"rootspan demo, {args.tasks} tasks, {args.repeats} interleaved repeats (min / median seconds)")
    print(f"  {'mode':<8} {'process':>15} {'demo':>15} {'tasks':>15} {'x off (demo)':>13} {'kernel files':>12}")
    for mode, row in result["modes"].items():
        ratio = result.get("ratio_to_off", {}).get(mode, {}).get("demo_s")
        cells = "".join(f" {row[key]['min']:7.2f}/{row[key]['median']:<7.2f}" for key in ("process_s", "demo_s", "tasks_s"))
        print(f"  {mode:<8}{cells} {('%.2f' % ratio) if ratio else '-':>13} {row['kernel_files']:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
