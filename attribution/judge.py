"""An optional LLM judge: rescoring the engine's candidates, and the Who&When prompting strategies.

Off by default; the engine is measured without it. A judge is any object with
``complete(messages)`` (OpenAI-style ``[{"role", "content"}]`` messages) answering a string, or
a completion with ``.text``: so any ``rootspan.agents`` backend (our MoE model included) is a
judge as it is; ``OpenAIJudge`` talks to any OpenAI-compatible ``/chat/completions`` endpoint
with the standard library only (no SDK, no extra dependency).

Strategies from Who&When (Zhang, Yin et al., ICML 2025), for comparison with the engine:
all-at-once (the whole log, one question), step-by-step (ask step after step whether it is
the decisive error), binary search (ask which half holds the error, recurse). ``rescore``
instead shows the judge the engine's own top candidates with their evidence and lets it pick.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import replace
from typing import Any, Protocol

from rootspan.attribution.failure import FailureFinding, _culprit
from rootspan.attribution.graph import AttributionGraph
from rootspan.errors import UserError
from rootspan.model import Alternative, Span
from rootspan.text import printable

STEP_CHARS = 1200  # per step in a transcript: long page dumps would overflow small context windows
STRATEGIES = ("rescore", "all-at-once", "step-by-step", "binary-search")


class Judge(Protocol):
    def complete(self, messages: list[dict[str, str]]) -> str: ...


class OpenAIJudge:
    """A judge behind an OpenAI-compatible HTTP endpoint (``POST {base_url}/chat/completions``)."""

    def __init__(
        self, base_url: str, model: str = "default", api_key: str | None = None, timeout_s: float = 120.0
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise UserError(f"judge URL must start with http:// or https://, got {base_url!r}")
        self.url = base_url.rstrip("/") + ("" if base_url.rstrip("/").endswith("/chat/completions") else "/chat/completions")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("ROOTSPAN_JUDGE_API_KEY")
        self.timeout_s = timeout_s

    def complete(self, messages: list[dict[str, str]]) -> str:
        body = json.dumps({"model": self.model, "messages": messages, "temperature": 0}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise UserError(f"judge endpoint {self.url} answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise UserError(f"judge endpoint {self.url} unreachable ({getattr(exc, 'reason', exc)})") from exc
        except ValueError as exc:
            raise UserError(f"judge endpoint {self.url} did not answer JSON") from exc
        try:
            return str(payload["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise UserError(f"judge endpoint {self.url} answered without choices[0].message.content") from exc


# --- transcripts and answers --------------------------------------------------------------------


def _steps(graph: AttributionGraph) -> list[Span]:
    """The steps a judge sees: every non-root span with a step number, in step order."""
    root = graph.root
    return [span for span in graph.order if span is not root and span.step is not None]


def _render(graph: AttributionGraph, span: Span) -> str:
    text = graph.outputs[span.span_id] or graph.inputs[span.span_id] or "(no content recorded)"
    if len(text) > STEP_CHARS:
        text = text[: STEP_CHARS - 20] + " ...[truncated]"
    return f"Step {span.step} - {graph.agent(span) or span.name}: {text}"


def _task(graph: AttributionGraph, with_expected: bool = True) -> str:
    root = graph.root
    task = graph.inputs[root.span_id] if root is not None else ""
    lines = [f"Task: {task or '(not recorded)'}"]
    expected = graph.trace.expected
    if with_expected and expected:
        lines.append(f"The correct answer is: {expected}")
    lines.append("The multi-agent run below failed.")
    return "\n".join(lines)


_STEP_ANSWER = re.compile(r"step\s*(?:number|index)?\s*[:=#]?\s*(-?\d+)", re.I)
_AGENT_ANSWER = re.compile(r"agent\s*(?:name)?\s*[:=]\s*\**\s*([\w\-. ]+?)\s*\**\s*(?:\n|$|,|;)", re.I)
_HALF_ANSWER = re.compile(r"\b(upper|lower|first|second)\b", re.I)
_YES = re.compile(r"^\W*(yes|y)\b", re.I)


def parse_step(reply: str) -> int | None:
    match = _STEP_ANSWER.search(reply)
    return int(match.group(1)) if match else None


def parse_agent(reply: str) -> str | None:
    match = _AGENT_ANSWER.search(reply)
    return match.group(1).strip() if match else None


ANSWER_FORMAT = "Answer in exactly this format:\nAgent: <agent name>\nStep: <step number>\nReason: <one sentence>"


def _ask(judge: Judge, system: str, user: str) -> str:
    """One question; an agents backend (``complete`` returning a Completion) works as well as a Judge."""
    reply: Any = judge.complete([{"role": "system", "content": system}, {"role": "user", "content": user}])
    return reply if isinstance(reply, str) else str(getattr(reply, "text", reply))


SYSTEM = (
    "You find which agent made the decisive mistake in a failed multi-agent run, and at which step: "
    "the earliest step that, if corrected, would have made the run succeed."
)


def all_at_once(judge: Judge, graph: AttributionGraph) -> tuple[str | None, int | None]:
    """The whole transcript in one prompt; the judge names the agent and the step."""
    transcript = "\n\n".join(_render(graph, span) for span in _steps(graph))
    reply = _ask(judge, SYSTEM, f"{_task(graph)}\n\n{transcript}\n\n{ANSWER_FORMAT}")
    return parse_agent(reply), parse_step(reply)


def step_by_step(judge: Judge, graph: AttributionGraph) -> tuple[str | None, int | None]:
    """Walk the steps in order; the first one the judge calls the decisive error is the answer."""
    steps = _steps(graph)
    history: list[str] = []
    for span in steps:
        history.append(_render(graph, span))
        question = (
            f"{_task(graph)}\n\nThe run so far:\n" + "\n\n".join(history[-20:]) +
            f"\n\nIs step {span.step} the decisive mistake? Answer 'Yes' or 'No' first, then one sentence."
        )
        if _YES.match(_ask(judge, SYSTEM, question)):
            return graph.agent(span), span.step
    last = steps[-1] if steps else None
    return (graph.agent(last), last.step) if last is not None else (None, None)


def binary_search(judge: Judge, graph: AttributionGraph) -> tuple[str | None, int | None]:
    """Halve the range: the judge says whether the decisive mistake lies in the upper or lower half."""
    steps = _steps(graph)
    low, high = 0, len(steps) - 1
    while low < high:
        middle = (low + high) // 2
        upper = "\n\n".join(_render(graph, span) for span in steps[low : middle + 1])
        lower = "\n\n".join(_render(graph, span) for span in steps[middle + 1 : high + 1])
        question = (
            f"{_task(graph)}\n\nUPPER HALF (steps {steps[low].step}-{steps[middle].step}):\n{upper}\n\n"
            f"LOWER HALF (steps {steps[middle + 1].step}-{steps[high].step}):\n{lower}\n\n"
            "Which half holds the decisive mistake? Answer 'upper' or 'lower' first."
        )
        match = _HALF_ANSWER.search(_ask(judge, SYSTEM, question))
        if match and match.group(1).lower() in ("lower", "second"):
            low = middle + 1
        else:
            high = middle
    if not steps:
        return None, None
    return graph.agent(steps[low]), steps[low].step


def rescore(judge: Judge, graph: AttributionGraph, finding: FailureFinding) -> FailureFinding:
    """Let the judge choose among the engine's culprit and alternatives; unknown answers keep the engine's."""
    if finding.culprit is None:
        return finding
    candidates = [finding.culprit.span_id] + [alternative.span_id for alternative in finding.alternatives]
    spans = [graph.span(span_id) for span_id in candidates if span_id in graph.by_id]
    listing = "\n\n".join(_render(graph, span) for span in spans)
    evidence = "\n".join(f"- {line}" for line in finding.evidence)
    question = (
        f"{_task(graph)}\n\nDeterministic evidence found:\n{evidence}\n\nCandidate steps:\n{listing}\n\n"
        f"Which candidate step is the decisive mistake? {ANSWER_FORMAT}"
    )
    step = parse_step(_ask(judge, SYSTEM, question))
    chosen = next((span for span in spans if span.step == step), None)
    if chosen is None or chosen.span_id == finding.culprit.span_id:
        return finding
    previous = finding.culprit
    alternatives = [Alternative(span_id=previous.span_id, agent=previous.agent, step=previous.step, confidence=finding.confidence)]
    alternatives += [alternative for alternative in finding.alternatives if alternative.span_id != chosen.span_id]
    return replace(
        finding,
        culprit=_culprit(graph, chosen),
        evidence=[printable(f"the judge chose step {chosen.step} over the engine's step {previous.step}")] + finding.evidence,
        alternatives=alternatives[: len(finding.alternatives) or 1],
    )


def strategy_predict(judge: Judge, strategy: str) -> Any:
    """A Who&When predictor (trace -> Verdict) for the eval, using one of the strategies."""
    from rootspan.attribution import attribute_trace
    from rootspan.attribution.graph import build_graph
    from rootspan.model import Culprit, Verdict

    if strategy not in STRATEGIES:
        raise UserError(f"unknown judge strategy {strategy!r} (one of: {', '.join(STRATEGIES)})")
    if strategy == "rescore":
        return lambda trace: attribute_trace(trace, judge=judge)
    ask = {"all-at-once": all_at_once, "step-by-step": step_by_step, "binary-search": binary_search}[strategy]

    def predict(trace: Any) -> Verdict:
        graph = build_graph(trace)
        agent, step = ask(judge, graph)
        span = next((s for s in _steps(graph) if s.step == step), None)
        culprit = None
        if span is not None:
            culprit = Culprit(span_id=span.span_id, agent=agent or graph.agent(span), step=step, name=span.name)
        return Verdict(trace_id=trace.trace_id, outcome="failure", culprit=culprit)

    return predict
