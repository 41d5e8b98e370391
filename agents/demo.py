"""``rootspan demo``: the demo team solves a batch of word problems, traced into one run directory.

One trace per task (a workflow root span), content captured so the analyses can read what each
agent said, profiles from whatever rootspan.profilers provides, and with ``--fault`` one seeded
injected fault whose ground truth goes to labels.json (culprit span, agent and step, category,
failure or slowdown). The labels are computed from the written trace itself, so the step and the
agent are exactly what a loader sees.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rootspan.agents.faults import FAULTS, Fault
from rootspan.errors import UserError
from rootspan.model import Label, LabelCulprit

DEVICES = ("cpu", "cuda")
DEFAULT_TASKS = 10


@dataclass
class TaskOutcome:
    index: int
    question: str
    expected: str
    answer: str | None
    success: bool
    reason: str
    trace_id: str | None
    seconds: float


@dataclass
class DemoResult:
    run_dir: Path
    device: str
    fault: str | None
    seed: int
    outcomes: list[TaskOutcome] = field(default_factory=list)
    label: Label | None = None
    seconds: float = 0.0

    @property
    def successes(self) -> int:
        return sum(1 for o in self.outcomes if o.success)

    def summary(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "device": self.device,
            "fault": self.fault,
            "seed": self.seed,
            "tasks": len(self.outcomes),
            "successes": self.successes,
            "seconds": round(self.seconds, 3),
            "label": self.label.model_dump(mode="json") if self.label else None,
            "outcomes": [o.__dict__ for o in self.outcomes],
        }


def resolve_fault(name: str | None, device: str) -> Fault | None:
    """The catalogue entry for ``--fault``, or a one-line UserError (unknown, or needs a GPU)."""
    if name is None:
        return None
    fault = FAULTS.get(name)
    if fault is None:
        raise UserError(f"unknown fault {name!r}; 'rootspan demo --fault list' shows the catalogue")
    if fault.gpu_only and device != "cuda":
        raise UserError(f"fault {name} needs a GPU and has no CPU analogue; run it with --device cuda")
    return fault


def check_seed(seed: int) -> None:
    """torch and random take 64-bit seeds; a bigger one was an overflow deep inside."""
    if not -(2**63) <= seed < 2**63:
        raise UserError(f"--seed must fit in 64 bits, got {seed}")


def check_device(device: str) -> None:
    if device not in DEVICES:
        raise UserError(f"unknown device {device!r}; use cpu or cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda asked for but CUDA is not available on this machine")


BACKENDS = ("moe", "openai")
# Faults that reach into the model in this process (its router, its CUDA graphs, its device).
MODEL_FAULTS = frozenset({"moe-routing-skew", "host-sync", "no-cuda-graphs", "memory-pressure", "gpu-contention"})


def check_backend(kind: str, base_url: str | None, fault: Fault | None) -> None:
    """A one-line UserError for a backend the demo cannot run: unknown, no URL, or a fault that needs the model here."""
    if kind not in BACKENDS:
        raise UserError(f"unknown backend {kind!r}; use moe (in process) or openai (an OpenAI-compatible server)")
    if kind == "openai":
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise UserError("--backend openai needs --base-url http(s)://HOST:PORT/v1 (e.g. of rootspan serve)")
        if fault is not None and fault.name in MODEL_FAULTS:
            raise UserError(f"fault {fault.name} acts on the in-process model; run it with --backend moe")
    elif base_url:
        raise UserError("--base-url goes with --backend openai")


def default_run_dir() -> Path:
    return Path("runs") / f"demo-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"


def run_demo(
    run_dir: str | os.PathLike[str] | None = None,
    fault: str | None = None,
    device: str = "cpu",
    tasks: int = DEFAULT_TASKS,
    seed: int = 0,
    profile: str = "sample",
    checkpoint: str | os.PathLike[str] | None = None,
    progress: Callable[[TaskOutcome], None] | None = None,
    backend_kind: str = "moe",
    base_url: str | None = None,
    model_name: str = "demo-moe",
) -> DemoResult:
    """Run the team on ``tasks`` seeded problems; returns outcomes and the label (with a fault).

    ``backend_kind="openai"`` sends every LLM call to ``base_url`` (e.g. ``rootspan serve``)
    instead of loading the model here; the server's own run directory then holds the prefill and
    decode spans of each call, and the two directories merge by trace id."""
    if tasks < 1:
        raise UserError("--tasks must be at least 1")
    check_seed(seed)
    check_device(device)
    entry = resolve_fault(fault, device)
    check_backend(backend_kind, base_url, entry)
    # Under `rootspan record -o DIR` the tracer writes to ROOTSPAN_RUN_DIR whatever we ask, so the
    # labels must go there too.
    env_dir = os.environ.get("ROOTSPAN_RUN_DIR", "").strip()
    out = Path(env_dir) if env_dir else Path(run_dir) if run_dir is not None else default_run_dir()
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a directory; pick a run directory with -o")
    if (out / "traces.jsonl").exists():
        raise UserError(f"{out} already holds a run; pick another directory with -o")

    import torch

    import rootspan.tracer as rs
    from rootspan.agents import tasks as T
    from rootspan.agents.demo_team import build_team
    from rootspan.agents.faults import FaultInjector
    from rootspan.agents.moe_backend import DEMO_CHECKPOINT, MoEBackend
    from rootspan.agents.runtime import Hooks

    if rs.current() is not None:
        raise UserError("tracing is already active in this process; the demo needs its own run directory")
    started = time.perf_counter()
    torch.manual_seed(seed)
    if device == "cpu":
        # The model is tiny: one thread is fastest, and extra threads collapse when the cores
        # are shared (measured 14 ms/token with one thread vs 160-200 ms with two on a busy box).
        torch.set_num_threads(1)
    result = DemoResult(run_dir=out, device=device, fault=fault, seed=seed)
    injector = None
    # Tracing first: a profiler that starts in the background (the default "sample" mode) then
    # starts while the model loads. The load makes no spans.
    rs.setup(service="rootspan-demo", run_dir=out, capture_content=True, profile=profile)
    try:
        backend: Any
        if backend_kind == "openai":
            from rootspan.agents.openai_backend import OpenAIBackend

            assert base_url is not None  # check_backend
            # Not "rootspan-moe": seen from this process the model is remote (llm_remote_latency until the
            # server's run directory is merged in and its prefill/decode spans explain the wait).
            backend = OpenAIBackend(model_name, base_url=base_url, stream=True, provider="rootspan-serve")
        else:
            backend = MoEBackend(checkpoint or DEMO_CHECKPOINT, device=device)
        problems = T.make_tasks(tasks, seed)
        injector = FaultInjector(entry, seed, problems, backend) if entry is not None else None
        # Inside the try: prepare() may start busy processes that must end even if setup fails.
        if injector is not None:
            injector.prepare()
        team = build_team(backend, injector or Hooks())
        for index, problem in enumerate(problems):
            if injector is not None:
                injector.begin_task(index)
            task_started = time.perf_counter()
            ran = team.run(problem.question, expected=str(problem.answer), conversation_id=f"task-{index}")
            outcome = TaskOutcome(
                index=index,
                question=problem.question,
                expected=str(problem.answer),
                answer=ran.answer,
                success=bool(ran.success),
                reason=ran.reason,
                trace_id=ran.trace_id,
                seconds=round(time.perf_counter() - task_started, 4),
            )
            result.outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
    finally:
        if injector is not None:
            injector.close()
        rs.shutdown()
    if injector is not None:
        if injector.firing is None:
            raise UserError(
                f"fault {fault} found no place to fire in {tasks} task(s) from task {injector.start_task}; "
                "try another --seed or more --tasks"
            )
        result.label = write_label(out, entry, injector, seed)
    result.seconds = time.perf_counter() - started
    return result


def write_label(run_dir: Path, fault: Fault, injector: Any, seed: int) -> Label:
    """labels.json from the trace as written: the culprit span's step and agent as loaded."""
    from rootspan.rundir import load_run, write_labels

    firing = injector.firing
    run = load_run(run_dir)
    for trace in run.traces.values():
        span = trace.get(firing.span_id)
        if span is None:
            continue
        label = Label(
            fault=fault.name,
            kind=fault.kind,  # type: ignore[arg-type]
            culprit=LabelCulprit(span_id=span.span_id, agent=trace.agent_of(span), step=span.step),
            category=fault.category,
            trace_id=trace.trace_id,
            culprit_name=span.name,
            task_index=firing.task_index,
            seed=seed,
            detail=firing.detail,
            outcome=trace.outcome,
        )
        write_labels(run_dir, label)
        return label
    raise UserError(f"internal: the span fault {fault.name} fired in ({firing.span_id}) is not in {run_dir}")
