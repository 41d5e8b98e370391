"""Tracer overhead benchmark as a script: the same measurement as ``rootspan bench tracer --json``.

    python benchmarks/bench_tracer.py [--spans 3000] [--rounds 11] [--no-profiling] [-o tracer.json]

Prints (or writes) the JSON result: CPU µs per span for a bare OpenTelemetry SDK span and for
rootspan's agent, tool and LLM-call spans, through the same run-directory exporter in the same
process, and rootspan's ratio to the bare SDK (target: at most 1.25). The logic lives in
rootspan.tracer.bench so the installed CLI can run it too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rootspan.safe_write import write_atomic
from rootspan.tracer.bench import run_benchmark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=3000, help="spans per variant and round")
    parser.add_argument("--rounds", type=int, default=11, help="rounds; the median is reported")
    parser.add_argument("--no-profiling", action="store_true", help="skip the profilers' overhead figures")
    parser.add_argument("-o", "--output", type=Path, help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)
    result = run_benchmark(n_spans=args.spans, rounds=args.rounds, profiling=not args.no_profiling)
    text = json.dumps(result, indent=2) + "\n"
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
