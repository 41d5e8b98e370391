"""The demo team: a planner, a solver with a calculator tool, and a verifier, on one backend.

The planner turns a word problem into an expression and hands it to the solver; the solver calls
the calculator and hands the result to the verifier; the verifier checks the plan against the
question and either accepts (the run's answer) or rejects. The protocols below speak the exact
prompt formats of rootspan.agents.tasks, which the demo model was trained on.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from rootspan.agents import tasks as T
from rootspan.agents.backends import Backend, Completion
from rootspan.agents.runtime import Action, Agent, Hooks, Message, Protocol, Team, ToolCall, Turn, TurnResult
from rootspan.agents.tools import Tool

PLANNER, SOLVER, VERIFIER = "planner", "solver", "verifier"
CALCULATOR_TIMEOUT_S = 2.0

Expression = Annotated[str, Field(pattern=r"^[0-9+\-*() ]+$", min_length=1, max_length=64)]


def _question(turn: Turn) -> str:
    for message in turn.inputs:
        if message.role == "user":
            return message.content
    return ""


def _latest(turn: Turn, sender: str) -> Message | None:
    for message in reversed(turn.inputs):
        if message.sender == sender:
            return message
    return None


class PlannerProtocol(Protocol):
    def render(self, turn: Turn) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": turn.agent.instructions},
            {"role": "user", "content": T.planner_prompt(_question(turn))},
        ]

    def parse(self, turn: Turn, completion: Completion) -> Action:
        plan, handoff = T.split_handoff(completion.text)
        return Action(plan, handoff=handoff)


class SolverProtocol(Protocol):
    """First call: the plan -> ``calc <expression>``; after the result: the answer and a handoff."""

    def render(self, turn: Turn) -> list[dict[str, str]]:
        planned = _latest(turn, PLANNER)
        plan = planned.content if planned else ""
        if not turn.tool_results:
            prompt = T.solver_call_prompt(plan)
        else:
            result = turn.tool_results[-1]
            shown = T.TOOL_ERROR_RESULT if result.is_error else result.content
            prompt = T.solver_answer_prompt(plan, turn.data.get("call", ""), shown)
        return [{"role": "system", "content": turn.agent.instructions}, {"role": "user", "content": prompt}]

    def parse(self, turn: Turn, completion: Completion) -> Action:
        text = completion.text.strip()
        if text.startswith("calc "):
            turn.data["call"] = text
            return Action(text, tool_calls=[ToolCall("calc", {"expression": text[len("calc ") :]})])
        answer, handoff = T.split_handoff(text)
        return Action(answer, handoff=handoff)


class VerifierProtocol(Protocol):
    def render(self, turn: Turn) -> list[dict[str, str]]:
        planned, solved = _latest(turn, PLANNER), _latest(turn, SOLVER)
        prompt = T.verifier_prompt(
            _question(turn), planned.content if planned else "", solved.content if solved else ""
        )
        return [{"role": "system", "content": turn.agent.instructions}, {"role": "user", "content": prompt}]

    def parse(self, turn: Turn, completion: Completion) -> Action:
        verdict, handoff = T.split_handoff(completion.text)
        return Action(verdict, handoff=handoff, final=handoff is None)


def make_calculator(hooks: Any = None) -> Tool:
    """The solver's tool. ``hooks.tool_fault`` (the fault injector) may intercept a call."""

    def calc(expression: Expression) -> str:
        """Evaluate an arithmetic expression with + - * and integers."""
        compact = expression.replace(" ", "")
        intercept = getattr(hooks, "tool_fault", None)
        if intercept is not None:
            replaced = intercept(compact)
            if replaced is not None:
                return replaced
        try:
            return str(T.evaluate(compact))
        except ValueError as exc:
            raise ValueError(f"cannot evaluate {expression!r}: {exc}") from None

    return Tool(calc, name="calc", timeout_s=CALCULATOR_TIMEOUT_S)


def answer_of(text: str) -> str | None:
    """The verifier's ``ok 14`` -> ``14``; anything else is no accepted answer."""
    text = text.strip()
    return text[3:].strip() or None if text.startswith("ok ") else None


def accepted(result: TurnResult) -> bool:
    return result.agent == VERIFIER and result.output.content.strip().startswith("ok ")


def build_team(backend: Backend, hooks: Hooks | None = None, max_turns: int = 6) -> Team:
    hooks = hooks or Hooks()
    planner = Agent(
        PLANNER,
        "You are the planner. Turn the word problem into one arithmetic expression and hand it to the solver.",
        backend,
        handoffs=(SOLVER, VERIFIER),
        protocol=PlannerProtocol(),
        max_tokens=32,
    )
    solver = Agent(
        SOLVER,
        "You are the solver. Evaluate the plan with the calc tool and hand the result to the verifier.",
        backend,
        tools=[make_calculator(hooks)],
        handoffs=(VERIFIER, PLANNER),
        protocol=SolverProtocol(),
        max_tool_rounds=3,
        max_tokens=28,
    )
    verifier = Agent(
        VERIFIER,
        "You are the verifier. Check that the plan matches the question; accept with the answer or reject.",
        backend,
        protocol=VerifierProtocol(),
        max_tokens=12,
    )
    return Team(
        [planner, solver, verifier],
        mode="handoff",
        entry=PLANNER,
        max_turns=max_turns,
        name="word-problem",
        hooks=hooks,
        answer_of=answer_of,
        accept=accepted,
    )
