"""Key latencies of the traces list of ``rootspan view`` on runs of many small traces.

A day of CI or an eval sweep is hundreds to thousands of traces of one app; the traces list
rebuilds its table on every sort, filter keystroke and toggle. This writes runs of N traces
(8 spans each: a workflow, three agent turns, their LLM calls and one tool call; every 9th trace
fails, one is 10x slower) with the core model and writer, drives the real app headless with
``App.run_test``, and times, from the key press until the app is idle again:

- first_screen_s: app start until the list shows its rows (load, summaries, slow-trace test);
- sort_ms: s (start -> duration -> status -> failures first), the mean of the four;
- failed_only_ms: f on, then off (mean);
- filter_key_ms: one keystroke in the / field (the list follows each key), mean over a 4-letter word;
- jump_ms: G then g.

Usage: python benchmarks/bench_traces_list.py [--traces 250,1000,5000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rootspan.model import Span, StatusCode
from rootspan.rundir import write_traces

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def traces(count: int, seed: int = 0) -> list[Span]:
    rng = random.Random(seed)
    spans: list[Span] = []
    for index in range(count):
        t = f"{index + 1:08x}" + "ef" * 12
        sid = lambda n: f"{index + 1:08x}{n:08x}"  # noqa: E731
        clock = T0 + index * 1000 * MS
        begin = clock
        children: list[Span] = []
        for number, agent in enumerate(("planner", "researcher", "writer")):
            llm = int(60 * MS * rng.lognormvariate(0, 0.2))
            tool = int(40 * MS * rng.lognormvariate(0, 0.2) * (10 if index == 5 else 1)) if number == 1 else 0
            turn = sid(10 + number)
            children.append(Span(trace_id=t, span_id=turn, parent_span_id=sid(1), name=f"invoke_agent {agent}",
                                 start_ns=clock, end_ns=clock + llm + tool + MS,
                                 attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}))
            children.append(Span(trace_id=t, span_id=sid(20 + number), parent_span_id=turn, name="chat tiny-moe",
                                 start_ns=clock, end_ns=clock + llm,
                                 attributes={"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 100,
                                             "gen_ai.usage.output_tokens": 20}))
            if tool:
                call = Span(trace_id=t, span_id=sid(30), parent_span_id=turn, name="execute_tool web_search",
                            start_ns=clock + llm, end_ns=clock + llm + tool, attributes={"gen_ai.operation.name": "execute_tool"})
                if index % 9 == 4:
                    call.status_code, call.status_message = StatusCode.ERROR, "TimeoutError"
                children.append(call)
            clock += llm + tool + 2 * MS
        outcome = "failure" if index % 9 == 4 else "success"
        spans.append(Span(trace_id=t, span_id=sid(1), name="invoke_workflow report", start_ns=begin, end_ns=clock,
                          attributes={"gen_ai.operation.name": "invoke_workflow", "rootspan.outcome": outcome}))
        spans += children
    return spans


async def _measure(path: Path) -> dict[str, float]:
    from rootspan.tui.app import RootspanApp
    from rootspan.tui.screens_traces import TracesScreen

    app = RootspanApp(path)
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, TracesScreen) and app.screen.shown):
            await asyncio.sleep(0.005)
        first = time.perf_counter() - started
        await pilot.pause()

        async def timed(*keys: str) -> float:
            begin = time.perf_counter()
            await pilot.press(*keys)
            await pilot.pause()
            return (time.perf_counter() - begin) * 1000 / len(keys)

        sort = [await timed("s") for _ in range(4)]
        failed = [await timed("f"), await timed("f")]
        jump = [await timed("G"), await timed("g")]
        await pilot.press("slash")
        await pilot.pause()
        filter_keys = [await timed(key) for key in "slow"]
        await pilot.press("escape")
    return {"first_screen_s": round(first, 3), "sort_ms": round(statistics.mean(sort), 1),
            "failed_only_ms": round(statistics.mean(failed), 1), "filter_key_ms": round(statistics.mean(filter_keys), 1),
            "jump_ms": round(statistics.mean(jump), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", default="250,1000,5000", help="run sizes (traces), comma-separated")
    parser.add_argument("--json", action="store_true", help="print only the JSON")
    args = parser.parse_args()
    try:
        sizes = [int(item) for item in args.traces.split(",") if item.strip()]
    except ValueError:
        sys.exit(f"bench_traces_list: --traces must be integers separated by commas, got {args.traces!r}")
    if not sizes or min(sizes) <= 0:
        sys.exit("bench_traces_list: --traces needs at least one positive size")
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "run"
            write_traces(run, traces(size))
            results.append({"traces": size, "spans": size * 8, **asyncio.run(_measure(run))})
    payload = {"benchmark": "traces_list", "python": platform.python_version(), "machine": platform.machine(),
               "results": results}
    if args.json:
        print(json.dumps(payload, indent=2))
        return
    print(f"{'traces':>7} {'first screen':>13} {'sort':>8} {'failed-only':>12} {'filter key':>11} {'G/g':>7}")
    for row in results:
        print(f"{row['traces']:>7} {row['first_screen_s']:>12.2f}s {row['sort_ms']:>6.0f}ms {row['failed_only_ms']:>10.0f}ms "
              f"{row['filter_key_ms']:>9.0f}ms {row['jump_ms']:>5.0f}ms")


if __name__ == "__main__":
    main()
