"""The fault catalogue: one real, seeded failure or slowdown injected into a demo run.

Each fault fires once, at a place the seed picks (which task, and for most faults which agent or
call), and is injected where it would really happen, so the trace shows its effects and the run's
outcome suffers the way it would: a hallucinating agent writes a number no input contains, a
broken tool raises inside its ``execute_tool`` span, CPU contention is real busy processes during
one LLM call. The injector remembers the span it fired in; demo.py turns that into labels.json.
Nothing in the trace names the fault: the ground truth lives in labels.json only, so the
attribution engine sees what it would see in a real run.

Armed faults wait for an eligible place: if the seeded task offers none (the solver never called
the tool, say), the fault moves to the next task.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import rootspan.tracer as rs
from rootspan.agents import tasks as T
from rootspan.agents.backends import Completion
from rootspan.agents.runtime import Hooks, Turn

PLANNER, SOLVER, VERIFIER = "planner", "solver", "verifier"


@dataclass(frozen=True)
class Fault:
    """One catalogue entry: what it breaks, what labels.json says about it, where it runs."""

    name: str
    kind: str  # "failure" | "slowdown"
    category: str  # failure category, or the expected bound_by for slowdowns
    culprit: str  # "agent" (the agent turn), "tool" (the tool call) or "llm" (the chat span)
    agents: tuple[str, ...]
    description: str
    gpu_only: bool = False


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("agent-hallucination", "failure", "hallucination", "agent", (PLANNER, SOLVER),
              "an agent states a number that appears in none of its inputs"),
        Fault("agent-wrong-tool-args", "failure", "tool_misuse", "agent", (SOLVER,),
              "the solver calls calc with arguments that fail validation (numbers as words)"),
        Fault("agent-ignores-input", "failure", "ignored_input", "agent", (PLANNER,),
              "the planner drops the last statement of the question it was given"),
        Fault("agent-premature-stop", "failure", "premature_termination", "agent", (PLANNER, SOLVER),
              "an agent ends the run without handing off, so no answer gets verified"),
        Fault("agent-loop", "failure", "step_repetition", "agent", (SOLVER,),
              "the solver repeats the identical calc call until the runtime stops it"),
        Fault("agent-wrong-handoff", "failure", "wrong_handoff", "agent", (PLANNER,),
              "the planner hands off to the verifier, skipping the solver"),
        Fault("tool-exception", "failure", "tool_error", "tool", (SOLVER,),
              "calc raises (a backend it depends on is down)"),
        Fault("tool-timeout", "failure", "timeout", "tool", (SOLVER,),
              "calc hangs past its timeout; the runtime abandons the call"),
        Fault("tool-wrong-result", "failure", "tool_wrong_result", "tool", (SOLVER,),
              "calc returns a wrong number"),
        Fault("tool-empty-result", "failure", "tool_empty_result", "tool", (SOLVER,),
              "calc returns an empty result"),
        Fault("tool-slow", "slowdown", "tool_io", "tool", (SOLVER,),
              "calc answers correctly after a real 1.2 s wait (slow I/O)"),
        Fault("moe-routing-skew", "slowdown", "moe_imbalance", "llm", (PLANNER, SOLVER, VERIFIER),
              "the MoE router's bias sends nearly every token to one expert during one LLM call"),
        Fault("host-sync", "slowdown", "host_sync", "llm", (PLANNER, SOLVER, VERIFIER),
              "a device synchronisation after every decoder layer during one LLM call", gpu_only=True),
        Fault("no-cuda-graphs", "slowdown", "gpu_launch_overhead", "llm", (PLANNER, SOLVER, VERIFIER),
              "one LLM call decodes without its CUDA graph (one launch per kernel)", gpu_only=True),
        Fault("memory-pressure", "slowdown", "gpu_memory_pressure", "llm", (PLANNER, SOLVER, VERIFIER),
              "another allocation fills the GPU during one LLM call, forcing allocator retries", gpu_only=True),
        Fault("gpu-contention", "slowdown", "queueing", "llm", (PLANNER, SOLVER, VERIFIER),
              "another stream runs large matmuls on the same GPU during one LLM call", gpu_only=True),
        Fault("cpu-contention", "slowdown", "cpu", "llm", (PLANNER, SOLVER, VERIFIER),
              "busy processes, one per core, compete for the CPU during one LLM call"),
    )
}

TOOL_SLOW_S = 1.2
TOOL_HANG_S = 3 * 2.0  # three times the calculator's timeout


def catalogue_rows() -> list[dict[str, Any]]:
    return [
        {
            "name": f.name,
            "kind": f.kind,
            "category": f.category,
            "culprit": f.culprit,
            "agents": list(f.agents),
            "gpu_only": f.gpu_only,
            "description": f.description,
        }
        for f in FAULTS.values()
    ]


@dataclass
class Firing:
    """Where the fault fired: the culprit span and what was done there."""

    span_id: str
    agent: str
    task_index: int
    detail: str


class FaultInjector(Hooks):
    """Arms one fault for a seeded task and agent; fires it once at the first eligible place."""

    def __init__(self, fault: Fault, seed: int, tasks: list[T.Task], backend: Any = None) -> None:
        self.fault = fault
        self.rng = random.Random(f"{fault.name}:{seed}")
        self.tasks = tasks
        self.backend = backend
        self.start_task = self._pick_task()
        self.agent = self.rng.choice(fault.agents)
        self.task_index = -1
        self.firing: Firing | None = None
        self._active: dict[str, Any] = {}
        self._standby: list[subprocess.Popen[bytes]] = []

    def prepare(self) -> None:
        """Run-wide settings that make the faulty call differ from the others only by the fault."""
        from rootspan.errors import UserError

        name = self.fault.name
        if name == "moe-routing-skew":
            # Counters on every call, so every chat span carries the expert load to compare with.
            self.backend.collect_stats = True
        elif name == "host-sync":
            # Python hooks do not run inside a replayed CUDA graph: decode eagerly throughout.
            self.backend.cuda_graphs = False
        elif name == "no-cuda-graphs" and not self.backend.graphs_usable():
            raise UserError("fault no-cuda-graphs needs CUDA-graph decode, which this model and device cannot use")
        elif name == "cpu-contention":
            # Started now, before any span, and held until released: interpreter start-up inside
            # the agent turn would show as the agent idling, not as the call being starved.
            self._standby = _spinners(2 * (os.cpu_count() or 2))  # two per core: a fair share under half a core

    def close(self) -> None:
        """End what prepare() started and the fault never used (busy processes on standby)."""
        standby, self._standby = self._standby, []
        _end_processes(standby)
        if self._active:
            self._stop_system_fault()

    def _pick_task(self) -> int:
        candidates = list(range(len(self.tasks)))
        if self.fault.name == "agent-ignores-input":
            # Dropping a statement only changes the plan when there are at least two statements.
            multi = [i for i in candidates if self.tasks[i].question.count(". ") >= 2]
            candidates = multi or candidates
        return self.rng.choice(candidates)

    # ---- lifecycle ---------------------------------------------------------------------------------
    def begin_task(self, index: int) -> None:
        self.task_index = index

    @property
    def armed(self) -> bool:
        return self.firing is None and self.task_index >= self.start_task

    def _fire(self, span_id: str | None, agent: str, detail: str) -> None:
        assert span_id is not None, "faults fire inside a span"
        self.firing = Firing(span_id, agent, self.task_index, detail)

    # ---- agent faults: rewrite what the model said, inside the chat span -----------------------------
    def before_llm(self, turn: Turn, messages: list[dict[str, str]], call: Any) -> None:
        f = self.fault
        if not self.armed or turn.agent.name != self.agent:
            return
        if f.name == "agent-ignores-input" and turn.llm_calls == 0:
            question = _question_of(turn)
            statements = question.split(". ")
            if len(statements) < 2:
                return
            kept = ". ".join(statements[:-2] + statements[-1:])
            for message in messages:
                if message.get("role") == "user":
                    message["content"] = message["content"].replace(question, kept)
            self._fire(turn.span_id, turn.agent.name, f"dropped {statements[-2]!r} from the question")
        elif f.culprit == "llm" and turn.llm_calls == 0:
            detail = self._start_system_fault()
            self._fire(rs.current_span_id(), turn.agent.name, detail)

    def begin_turn(self, turn: Turn) -> None:
        if self.fault.name == "cpu-contention" and self.armed and turn.agent.name == self.agent and self._standby:
            procs, self._standby = self._standby, []
            self._active["procs"] = procs  # owned here from now on, so a failed release still ends them
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
            for proc in procs:
                assert proc.stdout is not None
                proc.stdout.read(1)  # each answers once it is spinning: the call starts under contention

    def end_llm(self, turn: Turn, call: Any) -> None:
        if self._active:
            self._stop_system_fault()

    def after_llm(self, turn: Turn, completion: Completion, call: Any) -> Completion:
        f = self.fault
        if f.culprit != "agent" or turn.agent.name != self.agent:
            return completion
        looping = f.name == "agent-loop" and self.firing is not None and self.firing.span_id == turn.span_id
        if not (self.armed or looping):
            return completion
        text = completion.text
        new: str | None = None
        detail = ""
        if f.name == "agent-hallucination":
            new, detail = self._hallucinate(turn, text)
        elif f.name == "agent-wrong-tool-args" and text.startswith("calc "):
            words = _in_words(text[len("calc ") :])
            new, detail = f"calc {words}", f"called calc with {words!r}"
        elif f.name == "agent-premature-stop" and ">" in text and not text.startswith("calc "):
            new, detail = text.split(">", 1)[0], "ended its turn without a handoff"
        elif f.name == "agent-loop" and turn.tool_results and turn.data.get("call"):
            # Once started, the loop goes on for the rest of the turn: identical calls until the
            # runtime's tool-round limit ends the turn with an error.
            new, detail = turn.data["call"], f"repeated {turn.data['call']!r}"
        elif f.name == "agent-wrong-handoff" and text.endswith(">" + SOLVER):
            new, detail = text[: -len(SOLVER)] + VERIFIER, "handed off to the verifier instead of the solver"
        if new is None:
            return completion
        if not looping:
            self._fire(turn.span_id, turn.agent.name, detail)
        completion.text = new
        completion.output_tokens = len(new) + 1
        return completion

    def _hallucinate(self, turn: Turn, text: str) -> tuple[str | None, str]:
        seen = set(T.numbers_in(" ".join(m.content for m in turn.inputs)))
        seen |= {n for r in turn.tool_results for n in T.numbers_in(r.content)}
        if turn.agent.name == PLANNER and ">" in text:
            plan, _, rest = text.partition(">")
            numbers = T.numbers_in(plan)
            if not numbers:
                return None, ""
            old = self.rng.choice(numbers)
            new = _unseen(self.rng, seen, old)
            plan = re.sub(rf"(?<!\d){old}(?!\d)", str(new), plan, count=1)  # whole numbers only
            return f"{plan}>{rest}", f"stated {new} where the question says {old}"
        if turn.agent.name == SOLVER and turn.tool_results and not text.startswith("calc "):
            answer, sep, rest = text.partition(">")
            old = T.numbers_in(answer)
            new = _unseen(self.rng, seen, old[0] if old else 10)
            return f"{new}{sep}{rest}", f"answered {new}, a number in none of its inputs"
        return None, ""

    # ---- tool faults: inside the tool call (its execute_tool span is current) ------------------------
    def tool_fault(self, expression: str) -> str | None:
        f = self.fault
        if f.culprit != "tool" or not self.armed:
            return None
        span_id = rs.current_span_id()
        value = T.evaluate(expression) if T.is_expression(expression) else None
        if f.name == "tool-exception":
            self._fire(span_id, SOLVER, "calc raised ConnectionError")
            raise ConnectionError("calculator backend unavailable: connection reset by peer")
        if f.name == "tool-timeout":
            self._fire(span_id, SOLVER, f"calc hung for {TOOL_HANG_S:g} s")
            time.sleep(TOOL_HANG_S)
            return None if value is None else str(value)
        if f.name == "tool-wrong-result" and value is not None:
            wrong = value + self.rng.choice((-7, -3, -1, 1, 2, 5, 9))
            self._fire(span_id, SOLVER, f"calc returned {wrong} instead of {value}")
            return str(wrong)
        if f.name == "tool-empty-result":
            self._fire(span_id, SOLVER, "calc returned an empty result")
            return ""
        if f.name == "tool-slow":
            self._fire(span_id, SOLVER, f"calc waited {TOOL_SLOW_S:g} s")
            time.sleep(TOOL_SLOW_S)
            return None if value is None else str(value)
        return None

    # ---- backend and hardware faults: around one chat span -------------------------------------------
    def _start_system_fault(self) -> str:
        name = self.fault.name
        if name == "cpu-contention":
            return f"{len(self._active['procs'])} busy processes during the call"
        if name == "moe-routing-skew":
            return self._skew_router()
        import torch

        if name == "no-cuda-graphs":
            self._active["graphs"] = self.backend.cuda_graphs
            self.backend.cuda_graphs = False
            return "decoded without the CUDA graph"
        if name == "host-sync":
            # Decode is eager for the whole run (prepare), so hooks run on every step and this
            # call differs from the others only by the synchronisations.
            handles = [
                layer.register_forward_hook(lambda *_: torch.cuda.synchronize())
                for layer in self.backend.net.model.layers
            ]
            self._active["hooks"] = handles
            return "torch.cuda.synchronize() after every decoder layer"
        if name == "memory-pressure":
            torch.cuda.empty_cache()
            free, _ = torch.cuda.mem_get_info()
            try:
                hog = torch.empty(max(0, free - (96 << 20)), dtype=torch.uint8, device="cuda")
            except torch.cuda.OutOfMemoryError:  # the driver reserves some of what it reports free
                hog = torch.empty(max(0, free - (512 << 20)), dtype=torch.uint8, device="cuda")
            # No cached blocks are left: every allocation of the call goes back to the driver.
            self._active["hog"] = hog
            return f"{hog.numel() >> 20} MiB held by another allocation during the call"
        if name == "gpu-contention":
            stop = threading.Event()
            a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)

            def hammer() -> None:
                stream = torch.cuda.Stream()
                with torch.cuda.stream(stream):
                    while not stop.is_set():
                        for _ in range(4):
                            a @ a
                        stream.synchronize()

            worker = threading.Thread(target=hammer, daemon=True)
            worker.start()
            time.sleep(0.05)
            self._active["stop"] = stop
            self._active["worker"] = worker
            return "8192x8192 bf16 matmuls on another stream during the call"
        raise ValueError(f"not a system fault: {name}")

    def _skew_router(self) -> str:
        from rootspan.agents.moe.moe import Router

        routers = [m for m in self.backend.net.modules() if isinstance(m, Router)]
        saved = [r.e_score_correction_bias.clone() for r in routers]
        hot = self.rng.randrange(routers[0].e_score_correction_bias.numel()) if routers else 0
        for router in routers:
            router.e_score_correction_bias[hot] += 10.0
        self._active["bias"] = (routers, saved)
        return f"router bias +10 on expert {hot} in every MoE layer"

    def _stop_system_fault(self) -> None:
        active, self._active = self._active, {}
        _end_processes(active.get("procs", []))
        if "bias" in active:
            routers, saved = active["bias"]
            for router, bias in zip(routers, saved):
                router.e_score_correction_bias.copy_(bias)
        for handle in active.get("hooks", []):
            handle.remove()
        if "graphs" in active:
            self.backend.cuda_graphs = active["graphs"]
        if "stop" in active:
            active["stop"].set()
            active["worker"].join()
        if "hog" in active:
            del active["hog"]
            import torch

            torch.cuda.empty_cache()


# A spinner whose parent dies before releasing it sees end-of-file and exits instead of spinning forever.
_SPIN = "import sys\nif not sys.stdin.readline(): sys.exit()\nsys.stdout.write('x'); sys.stdout.flush()\nwhile True: pass"


def _spinners(count: int) -> list[subprocess.Popen[bytes]]:
    """Busy processes on standby: each spins once it reads a line on stdin, and says so with a byte.

    Interpreter start-up takes longer than a short LLM call, so they are started ahead of time and
    released at the start of the faulty agent turn, which then runs under contention at once."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            procs.append(subprocess.Popen([sys.executable, "-c", _SPIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE))
    except BaseException:
        _end_processes(procs)  # the ones already started (a process or file limit hit half-way)
        raise
    return procs


def _end_processes(procs: list[subprocess.Popen[bytes]]) -> None:
    """Kill and reap the spinners and close their pipes (wait() alone leaves both pipes open)."""
    for proc in procs:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def _question_of(turn: Turn) -> str:
    for message in turn.inputs:
        if message.role == "user":
            return message.content
    return ""


def _unseen(rng: random.Random, seen: set[int], old: int) -> int:
    for _ in range(100):
        candidate = old + rng.choice((-9, -6, -4, 3, 7, 12, 17, 23))
        if candidate > 0 and candidate not in seen and candidate != old:
            return candidate
    return max(seen | {old}) + 1


_WORDS = {"+": " plus ", "-": " minus ", "*": " times "}


def _in_words(expression: str) -> str:
    return "".join(_WORDS.get(ch, ch) for ch in expression)
