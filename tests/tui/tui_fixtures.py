"""A small deterministic run for the TUI tests: fixed ids and times, every panel has something.

Trace 1 fails: a planner hands off to a researcher that calls the same search three times (a
loop), then a coder whose tool raises; one span name and one message carry Rich markup, ANSI
escapes and control characters. Trace 2 succeeds. metrics.jsonl has GPU samples, verdicts.json
blames the failing tool. ``candidate_spans`` is the same app run again, changed for the diff.
``lineage_verdict`` and ``undetermined_verdict`` are other verdicts on the failing trace, for tests
to write over verdicts.json (built by hand: the TUI tests never run the attribution engine).
"""

from __future__ import annotations

import json
from pathlib import Path

from rootspan.metrics import write_metrics
from rootspan.model import Alternative, Culprit, LineageLink, MetricPoint, Span, SpanEvent, StatusCode, Verdict, Bottleneck
from rootspan.rundir import write_traces, write_verdicts

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
TRACE_FAIL = "aa" * 16
TRACE_OK = "bb" * 16
EVIL_NAME = "execute_tool [bold]evil[/bold] [link=https://evil.example]click[/link] \x1b[31mred\x1b[0m\x07"
EVIL_RESULT = "[red]not red[/red] \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ done"
STACK = 'Traceback (most recent call last):\n  File "tools.py", line 12, in run\n    1 / 0\nZeroDivisionError: division by zero'


def sid(trace: int, n: int) -> str:
    return f"{trace:02x}{n:014x}"


def _span(trace_id: str, span_id: str, parent: str | None, name: str, start_ms: float, end_ms: float, step: int,
          **attributes: object) -> Span:
    op = name.split(" ", 1)[0]
    attrs = {"gen_ai.operation.name": op, "rootspan.step": step}
    attrs.update({key.replace("__", "."): value for key, value in attributes.items()})
    return Span(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name,
                start_ns=T0 + int(start_ms * MS), end_ns=T0 + int(end_ms * MS), attributes=attrs,
                resource={"service.name": "tui-test"}, scope_name="rootspan")


def failing_trace(slow_coder: bool = False, drop_last_search: bool = False, extra_review: bool = False) -> list[Span]:
    t = TRACE_FAIL
    s = lambda n: sid(1, n)  # noqa: E731
    coder_end = 180.0 if slow_coder else 150.0
    spans = [
        _span(t, s(1), None, "invoke_workflow solve-ticket", 0, 200, 0, gen_ai__workflow__name="solve-ticket",
              rootspan__outcome="failure", rootspan__expected="42"),
        _span(t, s(2), s(1), "invoke_agent planner", 1, 40, 1, gen_ai__agent__name="planner"),
        _span(t, s(3), s(2), "chat tiny-moe", 2, 30, 2, gen_ai__request__model="tiny-moe",
              gen_ai__usage__input_tokens=120, gen_ai__usage__output_tokens=30,
              gen_ai__input__messages=json.dumps([{"role": "user", "parts": [{"type": "text", "content": "what is 6*7?"}]}]),
              gen_ai__output__messages=json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": EVIL_RESULT}]}]),
              rootspan__gpu__kernel_time_ns=12 * MS, rootspan__gpu__kernel_count=340,
              rootspan__gpu__busy_fraction=0.43, rootspan__gpu__mem__peak_allocated_bytes=3 * 2**30,
              rootspan__gpu__throttle_reasons=["sw_power_cap"], rootspan__gpu__moe__imbalance_max=2.5,
              rootspan__gpu__moe__tokens_per_expert=json.dumps([[10, 2, 0, 40, 5, 5, 1, 9]]),
              rootspan__gpu__top_kernels=json.dumps([{"name": "gemm_bf16", "time_ns": 8 * MS, "count": 120}])),
        _span(t, s(4), s(1), "invoke_agent researcher", 41, 100, 3, gen_ai__agent__name="researcher"),
    ]
    searches = 2 if drop_last_search else 3
    for index in range(searches):
        start = 42 + index * 15
        spans.append(_span(t, s(5 + index), s(4), "execute_tool search", start, start + 12, 4 + index,
                           gen_ai__tool__name="search", gen_ai__tool__call__arguments='{"q": "6*7"}',
                           gen_ai__tool__call__result="no results"))
    spans += [
        _span(t, s(10), s(1), "invoke_agent coder", 101, coder_end, 8, gen_ai__agent__name="coder"),
        _span(t, s(11), s(10), "chat tiny-moe", 102, 130, 9, gen_ai__request__model="tiny-moe",
              gen_ai__usage__input_tokens=300, gen_ai__usage__output_tokens=80, rootspan__gpu__kernel_time_ns=20 * MS),
        _span(t, s(12), s(10), EVIL_NAME, 131, 135, 10, gen_ai__tool__name="evil",
              gen_ai__tool__call__result=EVIL_RESULT),
        _span(t, s(13), s(10), "execute_tool calculator", 136, 140, 11, gen_ai__tool__name="calculator",
              gen_ai__tool__call__arguments='{"expr": "6/0"}'),
    ]
    failing = spans[-1]
    failing.status_code = StatusCode.ERROR
    failing.status_message = "ZeroDivisionError: division by zero"
    failing.events = [SpanEvent(name="exception", time_ns=T0 + 139 * MS, attributes={
        "exception.type": "ZeroDivisionError", "exception.message": "division by zero", "exception.stacktrace": STACK})]
    if extra_review:
        spans.append(_span(t, s(14), s(1), "invoke_agent reviewer", 185, 195, 12, gen_ai__agent__name="reviewer"))
    return spans


def ok_trace() -> list[Span]:
    t = TRACE_OK
    s = lambda n: sid(2, n)  # noqa: E731
    return [
        _span(t, s(1), None, "invoke_workflow smalltalk", 300, 350, 0, rootspan__outcome="success"),
        _span(t, s(2), s(1), "invoke_agent planner", 301, 340, 1, gen_ai__agent__name="planner"),
        _span(t, s(3), s(2), "chat tiny-moe", 302, 330, 2, gen_ai__request__model="tiny-moe",
              gen_ai__usage__input_tokens=50, gen_ai__usage__output_tokens=10),
    ]


def metric_points() -> list[MetricPoint]:
    points = []
    for index in range(40):
        time_ns = T0 + index * 5 * MS
        attrs = {"hw.id": "gpu0"}
        points.append(MetricPoint(name="hw.gpu.utilization", time_ns=time_ns, value=(index % 10) / 10, unit="1", attributes=attrs))
        points.append(MetricPoint(name="hw.gpu.memory.usage", time_ns=time_ns, value=float(2**30 + index * 2**24), unit="By", attributes=attrs))
        points.append(MetricPoint(name="hw.power", time_ns=time_ns, value=300.0 + 5 * index, unit="W", attributes=attrs))
    return points


def verdict() -> Verdict:
    return Verdict(
        trace_id=TRACE_FAIL, outcome="failure",
        culprit=Culprit(span_id=sid(1, 13), agent="coder", step=11, name="execute_tool calculator"),
        category="tool_error", confidence=0.81,
        evidence=["step 11 raised ZeroDivisionError", "the workflow's answer depends on step 11 [link=x]y[/link]"],
        path=[sid(1, 13), sid(1, 10), sid(1, 1)],
        bottlenecks=[Bottleneck(span_id=sid(1, 11), bound_by="llm_decode", share=0.4, evidence=["28ms decoding"])],
    )


def lineage_verdict(quote: str = "the price is already in dollars") -> Verdict:
    """A hallucination traced back three hops: the failing tool, the coder that carried the value, the planner.

    ``quote`` is what the introducing planner step said, so tests can make it hostile.
    """
    return Verdict(
        trace_id=TRACE_FAIL, outcome="failure", category="hallucination", confidence=0.74,
        culprit=Culprit(span_id=sid(1, 2), agent="planner", step=1, name="invoke_agent planner"),
        evidence=["step 1 states 1839.08 with no source"],
        lineage=[
            LineageLink(span_id=sid(1, 13), step=11, agent="coder", name="execute_tool calculator", role="failing",
                        value="1839.08", quote="total: 1839.08"),
            LineageLink(span_id=sid(1, 10), step=8, agent="coder", name="invoke_agent coder", role="carried",
                        value="1839.08", quote="converted the total"),
            LineageLink(span_id=sid(1, 2), step=1, agent="planner", name="invoke_agent planner", role="introduced",
                        value="1839.08", quote=quote),
        ],
    )


def undetermined_verdict() -> Verdict:
    """Too little evidence to name a culprit: two ranked candidates, each with its evidence."""
    return Verdict(
        trace_id=TRACE_FAIL, outcome="failure", category="hallucination", confidence=0.41, determined=False,
        alternatives=[
            Alternative(span_id=sid(1, 2), agent="planner", step=1, confidence=0.41, name="invoke_agent planner",
                        category="hallucination", evidence=["states 1839.08 with no source", "no tool call before it"]),
            Alternative(span_id=sid(1, 13), agent="coder", step=11, confidence=0.33, category="tool_error",
                        evidence=["raised ZeroDivisionError"]),
        ],
    )


def make_run(path: Path, with_verdicts: bool = True) -> Path:
    """The baseline run directory: two traces, metrics and (optionally) verdicts."""
    path.mkdir(parents=True, exist_ok=True)
    write_traces(path, failing_trace() + ok_trace())
    write_metrics(path, metric_points())
    if with_verdicts:
        write_verdicts(path, [verdict()])
    return path


def make_candidate(path: Path) -> Path:
    """The same app run again: the coder got slower, one search fewer, a reviewer added."""
    path.mkdir(parents=True, exist_ok=True)
    write_traces(path, failing_trace(slow_coder=True, drop_last_search=True, extra_review=True) + ok_trace())
    return path


def screen_segments(app) -> list:
    """The current screen as Rich segments, the way a terminal would receive them."""
    import io

    from rich.console import Console

    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return list(console.render(update))


def screen_text(app) -> str:
    """The current screen as plain text, one line per terminal row."""
    return "".join(segment.text for segment in screen_segments(app) if not segment.control)


class FixedEngine:
    """A deterministic stand-in for the attribution engine, so screens and snapshots are stable.

    Verdicts come only from verdicts.json (the engine finds nothing new), the critical path is
    fixed, and steps align by name; the real engine is exercised by its own tests.
    """

    def analyse_run(self, run, need_verdicts):
        from rootspan.tui.analysis import NO_VERDICT_HINT, RunAnalysis

        paths = {TRACE_FAIL: [sid(1, 1), sid(1, 10), sid(1, 11)]}
        return RunAnalysis(critical_paths={tid: paths.get(tid, []) for tid in run.traces},
                           verdict_note=NO_VERDICT_HINT + " (test engine)" if need_verdicts else "")

    def align(self, baseline, candidate):
        from rootspan.tui.analysis import align_by_names

        return align_by_names(baseline, candidate), "aligned by step names (test engine)"


async def settle(pilot, rounds: int = 6) -> None:
    """Wait until loading, analysis and alignment workers (and what they start) have finished."""
    app = pilot.app
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def run_pilot(app, script, size: tuple[int, int] = (100, 30)) -> None:
    """Run an async Pilot script against the app (no pytest-asyncio needed)."""
    import asyncio

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await script(pilot)

    asyncio.run(main())


def widget_text(widget) -> str:
    """Plain text of a Static, or of every Static inside a container (including off-screen parts)."""
    from textual.widgets import Static

    statics = [widget] if isinstance(widget, Static) else list(widget.query(Static))
    return "\n".join(str(static.render()) for static in statics)


def many_traces(count: int = 300, seed: int = 7, slow_index: int | None = 5) -> list[Span]:
    """``count`` small traces of one app (the traces list at the scale of a day's CI runs).

    Each trace is a workflow with three agent turns (an LLM call, and a tool call in the second);
    durations vary log-normally by about 20% around 300 ms. Every 9th trace fails in its tool (with
    a status ERROR span); trace ``slow_index`` is 10x slower than the rest in its tool, the one slow trace.
    Trace i starts i seconds after T0, so start order is index order.
    """
    import random

    rng = random.Random(seed)
    spans: list[Span] = []
    for index in range(count):
        t = f"{index + 1:08x}" + "ab" * 12
        s = lambda n: f"{index + 1:08x}{n:08x}"  # noqa: E731
        base = index * 1000.0  # ms after T0
        failed = index % 9 == 4
        clock = base
        turns = []
        for number, agent in enumerate(("planner", "researcher", "writer")):
            llm = 60 * rng.lognormvariate(0, 0.2)
            tool = (40 * rng.lognormvariate(0, 0.2) * (10 if index == slow_index else 1)) if agent == "researcher" else 0.0
            turns.append((number, agent, clock, llm, tool))
            clock += llm + tool + 2
        outcome = "failure" if failed else "success"
        spans.append(_span(t, s(1), None, "invoke_workflow report", base, clock + 1, 0, rootspan__outcome=outcome))
        step = 1
        for number, agent, start, llm, tool in turns:
            turn = s(10 + number * 3)
            spans.append(_span(t, turn, s(1), f"invoke_agent {agent}", start, start + llm + tool + 1, step,
                               gen_ai__agent__name=agent))
            spans.append(_span(t, s(11 + number * 3), turn, "chat tiny-moe", start + 0.5, start + 0.5 + llm, step + 1,
                               gen_ai__usage__input_tokens=100 + index % 50, gen_ai__usage__output_tokens=20))
            step += 2
            if tool:
                call = _span(t, s(12 + number * 3), turn, "execute_tool web_search", start + llm + 0.6,
                             start + llm + 0.6 + tool, step, gen_ai__tool__name="web_search")
                if failed:
                    call.status_code = StatusCode.ERROR
                    call.status_message = "TimeoutError: search backend"
                spans.append(call)
                step += 1
    return spans


def make_many(path: Path, count: int = 300, slow_index: int | None = 5) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    write_traces(path, many_traces(count, slow_index=slow_index))
    return path
