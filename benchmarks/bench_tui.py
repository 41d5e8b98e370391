"""Time to first screen of ``rootspan view`` on a large synthetic run, and how responsive it stays.

Builds a run of N spans (default 100k, in one trace: the worst case for the waterfall) with the
core model and writer, then drives the real app headless with ``App.run_test``:

- load_run_s: rootspan.rundir.load_run alone, outside the app, for comparison;
- first_screen_s: app start until the traces list shows its rows (the load runs in a worker);
- max_loop_stall_ms: the longest the UI event loop went without running while the run loaded
  (a 5 ms ticker measures it), i.e. how frozen the app felt during the load;
- waterfall_s: enter on the trace until the waterfall's rows are built and shown;
- key_ms: one key press each for page down, end, the errors filter, expand all, collapse all;
- blame_s: b until the verdict shows (the engine runs in a child process for a run this big),
  and max_loop_stall_during_engine_ms: the longest UI stall meanwhile.

Usage: python benchmarks/bench_tui.py [--spans 100000] [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rootspan.model import Span, StatusCode
from rootspan.rundir import load_run, write_traces

TRACE = "ab" * 16
T0 = 1_700_000_000_000_000_000
AGENTS = ("planner", "researcher", "coder", "reviewer", "writer")
BATCH = 512  # spans per TracesData line: the OTel BatchSpanProcessor's default export batch


def synthetic_spans(count: int) -> list[Span]:
    """A workflow of agent turns, each with alternating LLM and tool calls; a few tools fail."""
    spans = [Span(trace_id=TRACE, span_id=f"{1:016x}", name="invoke_workflow big", start_ns=T0,
                  end_ns=T0 + count * 1_000_000, attributes={"gen_ai.operation.name": "invoke_workflow",
                                                              "rootspan.step": 0, "rootspan.outcome": "failure"})]
    per_turn = 100
    next_id, step = 2, 1
    turn = 0
    while len(spans) < count:
        agent = AGENTS[turn % len(AGENTS)]
        start = T0 + turn * per_turn * 1_000_000
        turn_id = f"{next_id:016x}"
        next_id += 1
        spans.append(Span(trace_id=TRACE, span_id=turn_id, parent_span_id=spans[0].span_id, name=f"invoke_agent {agent}",
                          start_ns=start, end_ns=start + (per_turn - 1) * 1_000_000,
                          attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent, "rootspan.step": step}))
        step += 1
        for index in range(per_turn - 1):
            if len(spans) >= count:
                break
            child_start = start + index * 1_000_000
            if index % 2 == 0:
                name, attrs = "chat tiny-moe", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "tiny-moe",
                                                "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20,
                                                "rootspan.gpu.kernel_time_ns": 400_000}
            else:
                name, attrs = "execute_tool search", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
                                                      "gen_ai.tool.call.arguments": json.dumps({"q": f"query {index}"})}
            attrs["rootspan.step"] = step
            step += 1
            span = Span(trace_id=TRACE, span_id=f"{next_id:016x}", parent_span_id=turn_id, name=name,
                        start_ns=child_start, end_ns=child_start + 900_000, attributes=attrs)
            if index == 7 and turn % 50 == 0:
                span.status_code, span.status_message = StatusCode.ERROR, "TimeoutError: search timed out"
            spans.append(span)
            next_id += 1
        turn += 1
    return spans


def write_run(directory: Path, count: int) -> None:
    spans = synthetic_spans(count)
    for start in range(0, len(spans), BATCH):
        write_traces(directory, spans[start:start + BATCH])


async def measure(run_dir: Path) -> dict[str, object]:
    from textual.widgets import DataTable

    from rootspan.tui.app import RootspanApp
    from rootspan.tui.screens_blame import BlameScreen
    from rootspan.tui.screens_traces import TracesScreen
    from rootspan.tui.waterfall import Waterfall

    stalls: list[float] = []
    app = RootspanApp(run_dir)
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        async def ticker(into: list[float]) -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                into.append(now - last - 0.005)
                last = now

        tick = asyncio.create_task(ticker(stalls))
        def traces_shown() -> bool:
            tables = app.screen.query(DataTable) if isinstance(app.screen, TracesScreen) else []
            return bool(tables) and tables.first().row_count > 0

        while not traces_shown():
            await pilot.pause(0.01)
        first_screen = time.perf_counter() - started
        tick.cancel()

        begin = time.perf_counter()
        await pilot.press("enter")
        while not app.screen.query(Waterfall) or not app.screen.query_one(Waterfall).rows:
            await pilot.pause(0.01)
        await pilot.pause()
        waterfall_s = time.perf_counter() - begin
        rows_shown = len(app.screen.query_one(Waterfall).rows)

        keys: dict[str, float] = {}
        for key in ("pagedown", "end", "e", "e", "plus", "minus"):
            begin = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            name = {"e": "errors_filter"}.get(key, key)
            keys[name if name not in keys else name + "_off"] = round((time.perf_counter() - begin) * 1000, 1)

        # The engine (child process on a run this big) runs when the blame view asks for it.
        engine_stalls: list[float] = []
        tick = asyncio.create_task(ticker(engine_stalls))
        begin = time.perf_counter()
        await pilot.press("b")
        while not isinstance(app.screen, BlameScreen) or app.screen.analysis is None:
            await pilot.pause(0.05)
        blame_s = time.perf_counter() - begin
        tick.cancel()
        await app.workers.wait_for_complete()
    return {
        "first_screen_s": round(first_screen, 2),
        "max_loop_stall_ms": round(max(stalls, default=0.0) * 1000, 1),
        "waterfall_s": round(waterfall_s, 2),
        "waterfall_rows": rows_shown,
        "key_ms": keys,
        "blame_s": round(blame_s, 2),
        "max_loop_stall_during_engine_ms": round(max(engine_stalls, default=0.0) * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--keep", type=Path, help="write the synthetic run here and keep it")
    args = parser.parse_args()

    directory = args.keep or Path(tempfile.mkdtemp(prefix="rootspan-bench-tui-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        begin = time.perf_counter()
        if not (directory / "traces.jsonl").exists():
            write_run(directory, args.spans)
        generate_s = time.perf_counter() - begin
        load_before = os.getloadavg()[0]  # other work on the machine slows every figure below
        begin = time.perf_counter()
        load_run(directory)  # the core loader alone: most of the time to first screen
        load_run_s = time.perf_counter() - begin
        result = {
            "spans": args.spans,
            "traces_bytes": (directory / "traces.jsonl").stat().st_size,
            "generate_s": round(generate_s, 2),
            "load_run_s": round(load_run_s, 2),
            **asyncio.run(measure(directory)),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}",
            "load_average_before": round(load_before, 2),
        }
    finally:
        if args.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
