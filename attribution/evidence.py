"""Deterministic evidence rules: what each step did that could explain a failure, quoted from the trace.

Each rule reads the attribution graph once and returns ``Evidence`` items: the span it points
at, a category from the shared vocabulary (CONTRACTS.md), a weight, and a sentence quoting the
trace. Some evidence is *caused* elsewhere: a tool that fails because its caller passed bad
code or arguments blames the caller (``blames``), and a step whose output repeats a wrong value
blames the step that introduced it. The scoring in failure.py turns the evidence into a verdict.
No rule calls a model; all of them work without the expected answer, one uses it when present.
"""

from __future__ import annotations

import ast
import hashlib
import json
import operator
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from rootspan import semconv as sc
from rootspan.attribution.content import json_object, numbers, quote, tokens
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.values import claims, extract, is_small_count
from rootspan.model import Span, SpanKind

if TYPE_CHECKING:
    from rootspan.attribution.process import ProcessModel


@dataclass
class Evidence:
    """One finding about one span."""

    span_id: str
    rule: str
    category: str
    weight: float
    sentence: str
    blames: str | None = None  # the span this finding is really about, when not ``span_id``


@dataclass
class Weights:
    """Three strengths of evidence, and the provenance finding; docs/attribution.md explains each.

    Rules are grouped by what their finding says, not tuned one by one: ``direct`` evidence
    names the step where something went wrong (an error raised there, a tool rejecting the
    arguments a step wrote, a broken task constraint, the right answer rejected); ``symptom``
    evidence is a visible malfunction that may be the origin or a consequence (an empty result,
    a loop, a stall, a premature stop); ``weak`` evidence only raises suspicion (an unsupported
    number, an inability, an unchecked "verified"). ``value_origin`` is the step where the
    failing answer's decisive value entered: the strongest single finding a trace can give.
    """

    direct: float = 5.0
    symptom: float = 3.0
    weak: float = 1.0
    value_origin: float = 6.0


# --- shared helpers ----------------------------------------------------------------------------

_TIMEOUT = re.compile(r"time(?:d)?\s*out|timeout|deadline exceeded", re.I)
_RATE = re.compile(r"rate.?limit|too many requests|\b429\b", re.I)
_RESOURCE = re.compile(r"out of memory|\boom\b|memoryerror|resource.?exhausted|no space left", re.I)
_TOOL_FAILURE = re.compile(
    r"Traceback \(most recent call last\)|execution failed|\b\w*(?:Error|Exception): |"
    r"command not found|No such file or directory|\berror code\b|\bstatus(?: code)?:? [45]\d\d\b",
)
_CALLER_FAULT = re.compile(
    r"\b(?:SyntaxError|NameError|TypeError|AttributeError|IndentationError|ModuleNotFoundError|ImportError|"
    r"KeyError|IndexError|ValueError|ValidationError|validation error|invalid arguments?|"
    r"missing (?:required )?argument|unexpected keyword|cannot (?:evaluate|parse)|not a valid|"
    # a query the caller wrote that the database rejects
    r"no such (?:column|table)|ambiguous column|unknown column|syntax error at or near|: syntax error)\b",
    re.I,
)
_CODE_RUN = re.compile(r"Traceback \(most recent call last\)")
_CODE_FAILURE = re.compile(r"Traceback|SyntaxError|NameError|IndentationError|ModuleNotFoundError|ImportError|AttributeError")
def reports_failure(text: str) -> bool:
    """A tool's result that reports an error (a traceback, an exception line, an HTTP 4xx/5xx)."""
    return bool(_TOOL_FAILURE.search(text))


_EMPTY_RESULT = re.compile(r"^(?:\s*(?:\[\]|\{\}|null|none|\"\"|''|no results?(?: found)?\.?)\s*)$", re.I)
_INABILITY = re.compile(
    r"\b(?:I (?:cannot|can't|am unable to|am not able to)|unable to (?:access|find|retrieve|locate|browse|determine)|"
    r"(?:do|does) not have (?:access|the ability)|cannot (?:browse|access)|not possible to)\b",
    re.I,
)
_TERMINATE = re.compile(r"\bfinal answer\b|\btask (?:is )?complete\b", re.I)
_VERIFY_CLAIM = re.compile(r"\b(?:verified|confirmed|validated|double-checked|correct(?:ly)? (?:calculated|identified))\b", re.I)
_CODE_BLOCK = re.compile(r"```")
_NORMALISE_SPACE = re.compile(r"\s+")


CATEGORIES = frozenset(
    (
        "disobey_task_spec disobey_role_spec step_repetition loss_of_history unaware_of_termination "
        "conversation_reset fail_to_ask_clarification task_derailment information_withholding ignored_input "
        "reasoning_action_mismatch premature_termination no_verification incorrect_verification exception "
        "tool_error timeout rate_limited resource_exhausted hallucination tool_misuse tool_output_misread "
        "wrong_handoff tool_wrong_result tool_empty_result"
    ).split()
)
ERROR_CATEGORY_ATTR = sc.ROOTSPAN_ERROR_CATEGORY  # set by instrumentation that knows the failure's category
_LOOPING = re.compile(
    r"\bloop|repeat|more than \d+ (?:rounds|turns|iterations|steps)|max(?:imum)?[ _](?:turns|rounds|iterations)|"
    r"recursion limit|no final answer after",
    re.I,
)


def error_category(text: str, is_tool: bool) -> str:
    """The system category an error message points at."""
    if _TIMEOUT.search(text):
        return "timeout"
    if _RATE.search(text):
        return "rate_limited"
    if _RESOURCE.search(text):
        return "resource_exhausted"
    if _LOOPING.search(text):
        return "step_repetition"
    return "tool_error" if is_tool else "exception"


def is_tool(span: Span) -> bool:
    return span.kind is SpanKind.TOOL  # identity: enum equality is slow, and rules ask per span


def is_actor(span: Span) -> bool:
    """Spans whose output is a decision or claim of an agent (agents and LLM calls)."""
    kind = span.kind
    return kind is SpanKind.AGENT or kind is SpanKind.LLM


def _error_text(span: Span) -> str:
    """The span's error once: its status message, then each exception event it does not already say.

    SDKs set the status message to "Type: message" of the exception they also record as an event,
    so joining both would quote the same text twice.
    """
    parts = [span.status_message] if span.status_message else []
    for event in span.exception_events:
        kind = str(event.attributes.get("exception.type", "") or "")
        message = str(event.attributes.get("exception.message", "") or "")
        said = message or kind
        if not said or any(said in part for part in parts):
            continue
        parts.append(f"{kind}: {message}" if kind and message else said)
    return " ".join(parts)


def caller_of(graph: AttributionGraph, span: Span, options: bool = False) -> Span | None:
    """The agent step that asked for a tool call: a data-flow producer, else the previous actor step.

    In our tracer's traces a tool span is nested in the agent that called it; in flat logs
    (Who&When) the caller is the last actor before the tool.
    """
    parent = graph.parent(span)
    producers = [graph.span(p) for p in graph.data_parents.get(span.span_id, {}) if p in graph.by_id]
    actors = [p for p in producers if is_actor(p) and p.span_id != span.span_id]
    # with ``options``: arguments a tool rejected were written by the turn the call was made in,
    # whoever produced the values it passes on (the path a collector listed, loaded with the
    # decimal option the analyst chose); code that failed is its author's, wherever it ran
    inside_turn = options and parent is not None and parent.kind is SpanKind.AGENT and parent is not graph.root
    if actors and not inside_turn:
        return max(actors, key=lambda s: graph.position[s.span_id])
    # a sibling LLM call that ended before the tool started wrote its arguments
    if parent is not None:
        siblings = [
            s for s in graph.children(parent.span_id) if s.kind == SpanKind.LLM and s.end_ns <= span.start_ns
        ]
        if siblings:
            return siblings[-1]
        if is_actor(parent):
            return parent
    for earlier in graph.before(span):
        if is_actor(earlier) and graph.parent(earlier) is graph.parent(span):
            return earlier
    return None


# --- rules -------------------------------------------------------------------------------------


def _recorded_category(span: Span) -> str | None:
    value = span.attributes.get(ERROR_CATEGORY_ATTR)
    return value if isinstance(value, str) and value in CATEGORIES else None


def _first_argument(text: str) -> str | None:
    """The first argument of a call (the path, the query, the id it is about), when it is JSON."""
    decoded = json_object(text)
    if not decoded:
        return None
    first = next(iter(decoded.values()))
    return first if isinstance(first, str) else json.dumps(first, sort_keys=True)


def _same_target(graph: AttributionGraph, failed: Span, later: Span) -> bool:
    """Whether a later call is about what the failed one was about.

    Loading FR.csv after DE.csv failed does not recover DE: a path or an id (no spaces) must be
    the same; a query in words may be reworded (half its words kept). Calls without JSON
    arguments cannot be told apart and count as the same.
    """
    first, second = _first_argument(graph.inputs.get(failed.span_id, "")), _first_argument(graph.inputs.get(later.span_id, ""))
    if first is None or second is None or first == second:
        return True
    if " " not in first.strip():
        return False
    words, others = set(first.lower().split()), set(second.lower().split())
    return len(words & others) >= 0.5 * len(words | others)


def recovered_by(graph: AttributionGraph, span: Span) -> Span | None:
    """A later call of the same name by the same agent, about the same target, that succeeded: the
    error was recovered.

    Under the same parent (a retry loop) or in a later turn of the agent (a fixed query run again).
    """
    parent = graph.parent(span)
    siblings = graph.children(parent.span_id) if parent is not None else []
    for later in siblings:
        if later.name == span.name and later.start_ns >= span.end_ns and not later.is_error and later is not span and _same_target(graph, span, later):
            return later
    agent = graph.agent(span)
    if agent is None:
        return None
    for later in graph.order[graph.position[span.span_id] + 1 :]:
        if later.name == span.name and later.start_ns >= span.end_ns and not later.is_error and graph.agent(later) == agent and _same_target(graph, span, later):
            return later
    return None


def rule_errors(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """Error status and exceptions; the innermost failing span is the origin, parents inherit little.

    A tool that fails on its arguments (a validation or value error) blames the step that wrote
    the call: the tool did its job, the caller misused it.
    """
    root = graph.root
    for span in graph.order:
        if not span.events and span.status_code != 2:
            continue  # most spans: no error, no event
        text = _error_text(span)
        retry = recovered_by(graph, span) if span.is_error else None
        if retry is not None:
            # a failed call retried with success cost time, not the result
            yield Evidence(
                span.span_id,
                "error_recovered",
                error_category(text, is_tool(span)),
                weights.weak * 0.3,
                f"step {span.step} {quote(span.name, 40)} failed ({quote(text or 'status ERROR', 60)}); "
                f"step {retry.step} retried it with success",
            )
            continue
        if span.is_error:
            if root is not None and span.span_id == root.span_id and len(graph.order) > 1:
                continue  # the run's own failure status is the symptom, not a step
            failing_children = [child for child in graph.children(span.span_id) if child.is_error]
            category = error_category(text, is_tool(span))
            recorded = _recorded_category(span)
            message = quote(text or "status ERROR", 100)
            if failing_children:
                yield Evidence(
                    span.span_id,
                    "error_status",
                    recorded or category,
                    weights.weak * 0.3,
                    f"step {span.step} {quote(span.name, 40)} failed because a child failed: {message}",
                )
                continue
            misuse = is_tool(span) and (recorded == "tool_misuse" or (category == "tool_error" and _CALLER_FAULT.search(text)))
            caller = caller_of(graph, span, options=not _CODE_FAILURE.search(text)) if misuse else None
            if caller is not None:
                yield Evidence(
                    span.span_id,
                    "error_status",
                    "tool_misuse",
                    weights.direct,
                    f"step {caller.step} ({graph.agent(caller)}) called {quote(span.name, 40)} with arguments it "
                    f"rejected at step {span.step}: {message}",
                    blames=caller.span_id,
                )
                continue
            if recorded is not None and recorded != "tool_error":
                category = recorded
            yield Evidence(
                span.span_id,
                "error_status",
                category,
                weights.direct,
                f"step {span.step} {quote(span.name, 40)} ended with an error: {message}",
            )
        elif span.exception_events:
            yield Evidence(
                span.span_id,
                "exception",
                error_category(text, is_tool(span)),
                weights.weak,
                f"step {span.step} {quote(span.name, 40)} recorded an exception: {quote(text, 100)}",
            )


def _code_result(span: Span) -> tuple[int | None, str | None]:
    """Exit code and printed output of code a tool ran, when the front end recorded them."""
    code = span.attributes.get(sc.ROOTSPAN_CODE_EXIT)
    printed = span.attributes.get(sc.ROOTSPAN_CODE_OUTPUT)
    exit_code = int(code) if isinstance(code, (int, float)) and not isinstance(code, bool) else None
    return exit_code, printed if isinstance(printed, str) else None


_DEFAULT_RESULT = re.compile(r"^\s*(?:0|0\.0+|-1|n/?a|unknown|none|null|\{\s*\}|\[\s*\])\s*$", re.I)


def rule_tool_output(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """Tool results that report a failure or come back empty; bad code or arguments blame the caller."""
    for span in graph.order:
        if not is_tool(span) or span.is_error:
            continue
        text = graph.outputs[span.span_id]
        exit_code, printed = _code_result(span)
        recorded = sc.GEN_AI_TOOL_CALL_RESULT in span.attributes or sc.ROOTSPAN_OUTPUT in span.attributes
        if exit_code == 0 and printed is not None and not printed.strip():
            # code that ran fine and printed nothing: the code's author asked for nothing
            caller = caller_of(graph, span)
            if caller is not None:
                yield Evidence(
                    span.span_id,
                    "tool_empty",
                    "tool_misuse",
                    weights.symptom,
                    f"step {caller.step} ({graph.agent(caller)}) ran code that printed nothing at step {span.step}",
                    blames=caller.span_id,
                )
                continue
        if not text.strip() or _EMPTY_RESULT.match(text) or _DEFAULT_RESULT.match(text):
            if recorded or text:
                yield Evidence(
                    span.span_id,
                    "tool_empty",
                    "tool_empty_result",
                    weights.symptom,
                    f"step {span.step} tool {quote(span.name, 40)} returned nothing usable: '{quote(text, 40)}'",
                )
            continue
        failure = _TOOL_FAILURE.search(text)
        if not failure and not (exit_code is not None and exit_code != 0):
            continue
        caller_fault = _CALLER_FAULT.search(text)
        anchor = caller_fault or failure
        # quote the line that names the error, not a generic header
        excerpt = quote(_line_around(text, anchor.start()) if anchor else text, 100)
        # a code runner that reports a failed execution ran the code it was given: the code failed
        ran_code = (exit_code is not None and exit_code != 0) or _CODE_RUN.search(text)
        caller = caller_of(graph, span) if (caller_fault or ran_code) else None
        if caller is not None:
            yield Evidence(
                span.span_id,
                "caller_bad_code",
                "tool_misuse",
                weights.direct,
                f"step {caller.step} ({graph.agent(caller)}) called {quote(span.name, 40)} with code or arguments "
                f"that failed at step {span.step}: '{excerpt}'",
                blames=caller.span_id,
            )
        else:
            yield Evidence(
                span.span_id,
                "tool_failed",
                "tool_error",
                weights.weak * 0.5,
                f"step {span.step} tool {quote(span.name, 40)} reported a failure: '{excerpt}'",
            )


def _line_around(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    line = text[start : end if end >= 0 else len(text)]
    # a traceback's last line names the error; prefer it
    lines = [item for item in text.strip().splitlines() if item.strip()]
    if "Traceback" in line and lines:
        return lines[-1]
    return line


def _is_control_word(span: Span, text: str) -> bool:
    """A step that only signals the end (a front end marks it ``rootspan.stop``) states nothing."""
    return span.attributes.get(sc.ROOTSPAN_STOP) is True and len(text.split()) <= 2


def final_answer_span(graph: AttributionGraph) -> Span | None:
    """The last actor step with output: what the run answered."""
    for span in reversed(graph.order):
        if is_actor(span) and span is not graph.root:
            text = graph.outputs[span.span_id].strip()
            if text and not _is_control_word(span, text):
                return span
    return None


_ANSWER_LINE = re.compile(r"(?:final answer|the answer is|answer:)\s*[:\-]?\s*(.+)", re.I)


def _answer_part(text: str) -> str:
    """The answer itself when the text announces it ('FINAL ANSWER: x'), else the whole text."""
    matches = list(_ANSWER_LINE.finditer(text))
    return matches[-1].group(1)[:300] if matches else text


def _contains_expected(text: str, expected: str) -> bool:
    want = " ".join(expected.lower().split())
    have = " ".join(text.lower().replace(",", "").split())
    if want and want.replace(",", "") in have:
        return True
    want_numbers = set(numbers(expected))
    return bool(want_numbers) and want_numbers <= set(numbers(text))


_REJECTION = re.compile(r"^\W*(?:no|reject(?:ed)?|incorrect|wrong|not correct|invalid)\b", re.I)


def _is_exact_answer(text: str, expected: str) -> bool:
    """The statement is the expected answer itself, not a long text that happens to contain it."""
    answer = _answer_part(text).strip()
    if not answer or len(answer) > SHORT_STATEMENT:
        return False
    want_numbers = numbers(expected)
    if want_numbers:
        return numbers(answer) == want_numbers
    return " ".join(answer.lower().split()).strip(" .") == " ".join(expected.lower().split()).strip(" .")


def _expected_keys(expected: str) -> set[str]:
    """The expected answer's distinctive values (numbers that are not small counts, names, dates).

    In an expected answer written as prose ("approved notes with a Migration section") the
    capitalised words are words, not values: a step that mentions them has not stated the answer.
    """
    prose = len(expected.split()) > 4 and expected.strip()[:1] not in "[{"
    return {value.key for value in claims(extract(expected))
            if not is_small_count(value) and value.kind != "decision" and not (prose and value.kind == "name")}


def rule_answer_dropped(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """The right answer was reached and handed on, and the next agent rejected or dropped it.

    Needs the expected answer. A run whose final answer is wrong although an earlier step stated
    exactly the expected value failed at the first later step of another agent that consumed that
    statement and did not carry it on: a verifier rejecting a correct result, or an agent ignoring it.
    """
    expected = graph.trace.expected
    if not expected or graph.trace.outcome != "failure":
        return
    final = final_answer_span(graph)
    if final is not None and _contains_expected(_answer_part(graph.outputs[final.span_id]), expected):
        return
    wanted = _expected_keys(expected)
    correct = [
        span for span, text in _statements(graph)
        if (wanted and wanted <= {value.key for value in extract(text)}) or _is_exact_answer(text, expected)
    ]
    if not correct:
        return
    stated = correct[0]  # the first step to reach it; who lost it comes after
    for span in graph.order[graph.position[stated.span_id] + 1 :]:
        if not is_actor(span) or span.kind != SpanKind.AGENT or graph.agent(span) == graph.agent(stated):
            continue
        text = graph.outputs[span.span_id]
        if not text.strip():
            continue
        if _contains_expected(text, expected) or (wanted and wanted <= {value.key for value in extract(text)}):
            return  # carried on: the answer was lost later, which other rules explain
        rejected = bool(_REJECTION.search(text))
        yield Evidence(
            span.span_id,
            "answer_dropped",
            "incorrect_verification" if rejected else "ignored_input",
            weights.direct,
            f"step {stated.step} ({graph.agent(stated)}) states the expected answer '{quote(expected, 30)}', "
            f"but step {span.step} ({graph.agent(span)}) {'rejects it' if rejected else 'does not carry it on'}: "
            f"'{quote(text, 40)}'",
        )
        return


_ARITHMETIC = re.compile(r"^[\d\s.+\-*/()]+$")
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _evaluate(expression: str) -> float | None:
    """Value of a plain arithmetic expression, or None; only numbers and + - * / are allowed."""
    if not _ARITHMETIC.match(expression) or not re.search(r"\d\s*[+\-*/]\s*\(*\s*\d", expression):
        return None
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return None

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError("not arithmetic")

    try:
        return walk(tree)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


_EXPRESSION_SIGN = re.compile(r"[+*/()^]|\s-\s?|\d\s*-\s+\d")


def _argument_strings(arguments: str) -> list[str]:
    try:
        decoded = json.loads(arguments)
    except ValueError:
        return [arguments]
    found: list[str] = []
    if isinstance(decoded, dict):
        found = [value for value in decoded.values() if isinstance(value, str)]
    elif isinstance(decoded, str):
        found = [decoded]
    return found


def tool_arithmetic(graph: AttributionGraph, span: Span) -> bool | None:
    """Whether a tool's numeric result matches the arithmetic in its arguments (None: cannot tell)."""
    result_numbers = numbers(graph.outputs[span.span_id])
    if len(result_numbers) != 1:
        return None
    for candidate in _argument_strings(graph.inputs[span.span_id]):
        if not _EXPRESSION_SIGN.search(candidate):
            continue  # "88-40213" and "555-1234" are codes, not subtractions
        value = _evaluate(candidate)
        if value is not None:
            return abs(value - float(result_numbers[0])) <= 1e-9 * max(1.0, abs(value))
    return None


def rule_tool_arithmetic(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """A tool result that contradicts the arithmetic of its own arguments: the tool is wrong."""
    for span in graph.order:
        if not is_tool(span) or span.is_error or tool_arithmetic(graph, span) is not False:
            continue
        yield Evidence(
            span.span_id,
            "tool_arithmetic",
            "tool_wrong_result",
            weights.direct,
            f"step {span.step} tool {quote(span.name, 40)} returned '{quote(graph.outputs[span.span_id], 30)}' "
            f"for '{quote(graph.inputs[span.span_id], 50)}', which does not compute",
        )


def _normalised(text: str) -> str:
    """Case and spacing folded; numbers kept: the same words about other values are progress, not a loop."""
    return _NORMALISE_SPACE.sub(" ", text.lower()).strip()[:2000]


def rule_repetition(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """The same agent producing the same output, or the same tool called with the same arguments, again."""
    first_seen: dict[str, Span] = {}
    reported_loops: set[str] = set()
    for span in graph.order:
        if span is graph.root:
            continue
        if is_tool(span):
            arguments = graph.inputs[span.span_id]
            if not arguments:
                continue
            key = "tool:" + span.name + ":" + _normalised(arguments)
        elif is_actor(span):
            text = graph.outputs[span.span_id]
            if len(text.strip()) < 40:
                continue  # short acknowledgements ('Next speaker X') repeat by design
            key = f"out:{graph.agent(span)}:{span.kind}:" + hashlib.sha1(_normalised(text).encode()).hexdigest()
        else:
            continue
        earlier = first_seen.get(key)
        if earlier is None or earlier.is_error:
            first_seen[key] = span  # calling again after a failure is a retry, not a loop
            continue
        if key in reported_loops:
            continue  # the loop starts at its first repeat; later repeats are the same finding
        reported_loops.add(key)
        # a repeated tool call is the caller's repetition, not the tool's
        caller = caller_of(graph, span) if is_tool(span) else None
        shown = graph.inputs[span.span_id] if is_tool(span) else graph.outputs[span.span_id]
        yield Evidence(
            span.span_id,
            "repetition",
            "step_repetition",
            weights.weak * 1.5,
            f"step {span.step} ({graph.agent(span)}) repeats step {earlier.step}: '{quote(shown, 60)}'",
            blames=caller.span_id if caller is not None else None,
        )


SHORT_STATEMENT = 300  # characters: in a statement this short every number is a claim


def _values(text: str) -> set[str]:
    """Every number (single digits too) and distinctive token of a text."""
    return {"n:" + value for value in numbers(text)} | tokens(text)


def _used_values(graph: AttributionGraph, span: Span, limit: int = 2000) -> set[str]:
    """Values a step worked with: its own input and output and those of the calls inside it."""
    used = _values(graph.outputs[span.span_id]) | _values(graph.inputs[span.span_id])
    stack = list(graph.children(span.span_id))
    visited = 0
    while stack and visited < limit:
        child = stack.pop()
        visited += 1
        used |= _values(graph.outputs[child.span_id]) | _values(graph.inputs[child.span_id])
        stack.extend(graph.children(child.span_id))
    return used


MAX_DEPTH = 1_000


def _inside_agent(graph: AttributionGraph, span: Span) -> bool:
    if span.kind != SpanKind.LLM:
        return False
    current = graph.parent(span)
    depth = 0
    while current is not None and depth < MAX_DEPTH:  # bounded: hand-built traces may hold parent cycles
        if current.kind == SpanKind.AGENT:
            return True
        current = graph.parent(current)
        depth += 1
    return False


def rule_ignored_input(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """A step declared it consumed a span (rootspan.inputs) but dropped values that span carried.

    What a span carries is its output, or for a span with none (the workflow root holding the
    task) its input. Weighted by the share of values dropped.
    """
    dropped_first: set[str] = set()
    for span in graph.order:
        declared = [p for p, how in graph.data_parents.get(span.span_id, {}).items() if how == "inputs"]
        if not declared or not is_actor(span) or _inside_agent(graph, span):
            continue  # an LLM call inside an agent turn is judged with its turn
        used: set[str] | None = None
        for producer_id in declared:
            producer = graph.span(producer_id)
            carried_text = graph.outputs[producer_id]
            if producer is graph.root or producer.kind == SpanKind.WORKFLOW:
                # the workflow carries the task it was given; its output is the run's final answer
                carried_text = graph.inputs[producer_id]
            carried = _values(carried_text)
            if not carried:
                continue
            if used is None:
                used = _used_values(graph, span)
            missing = carried - used
            if not missing:
                continue
            share = len(missing) / len(carried)
            # a value an earlier step already dropped is that step's omission, echoed here
            echo = missing <= dropped_first
            dropped_first |= missing
            shown = ", ".join(sorted(value[2:] for value in missing)[:4])
            yield Evidence(
                span.span_id,
                "ignored_input",
                "ignored_input",
                weights.weak * min(1.0, 2 * share) * (0.25 if echo else 1.0),
                f"step {span.step} ({graph.agent(span)}) consumed step {producer.step} "
                f"('{quote(carried_text, 40)}') but never uses {shown}",
            )
            break


def rule_premature_stop(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """The run ended right after a failed or empty step, or with finish reason 'length'."""
    final = final_answer_span(graph)
    for span in graph.order:
        reasons = span.attributes.get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
        if isinstance(reasons, (list, tuple)) and "length" in reasons:
            yield Evidence(
                span.span_id,
                "truncated",
                "premature_termination",
                weights.symptom * 0.5,
                f"step {span.step} ({graph.agent(span)}) stopped at the token limit (finish reason 'length')",
            )
    if final is None or graph.trace.outcome != "failure":
        return
    text = graph.outputs[final.span_id]
    ends_run = final.attributes.get(sc.ROOTSPAN_STOP) is True or any(
        span.attributes.get(sc.ROOTSPAN_STOP) is True for span in graph.order[graph.position[final.span_id] :]
    )
    if not _TERMINATE.search(text) and not ends_run:
        return
    previous = [s for s in graph.before(final) if s is not graph.root and s.kind in (SpanKind.TOOL, SpanKind.AGENT, SpanKind.LLM)]
    if not previous:
        return
    last = previous[0]
    last_text = graph.outputs[last.span_id]
    exit_code, _ = _code_result(last)
    unresolved = last.is_error or (is_tool(last) and (not last_text.strip() or bool(exit_code) or _TOOL_FAILURE.search(last_text)))
    if unresolved:
        yield Evidence(
            final.span_id,
            "premature_stop",
            "premature_termination",
            weights.symptom,
            f"step {final.step} ({graph.agent(final)}) ends the run right after step {last.step} failed: '{quote(text, 50)}'",
        )


def rule_unverified(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """A step claims verification although no tool ran since the claim it verifies."""
    last_tool_position = -1
    for span in graph.order:
        if is_tool(span) and not span.is_error:
            last_tool_position = graph.position[span.span_id]
            continue
        if not is_actor(span) or span is graph.root:
            continue
        text = graph.outputs[span.span_id]
        match = _VERIFY_CLAIM.search(text)
        if not match or _CODE_BLOCK.search(text):
            continue
        if span.kind is SpanKind.AGENT and any(is_tool(child) and not child.is_error for child in graph.children(span.span_id)):
            continue  # its own turn ran the tools it speaks from
        previous_actor = next((s for s in graph.before(span) if is_actor(s) and s is not graph.root), None)
        if previous_actor is None or graph.position[previous_actor.span_id] < last_tool_position:
            continue
        yield Evidence(
            span.span_id,
            "unverified",
            "incorrect_verification",
            weights.weak * 0.15,
            f"step {span.step} ({graph.agent(span)}) says '{quote(_line_around(text, match.start()), 60)}' with no tool run to check it",
        )


def _statements(graph: AttributionGraph) -> Iterable[tuple[Span, str]]:
    """(span, output text) of every actor step but the root, in step order: what the rules read."""
    for span in graph.order:
        if is_actor(span) and span is not graph.root:
            yield span, graph.outputs[span.span_id]


def rule_inability(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """An agent says it cannot do its part (no access, cannot browse) instead of doing it."""
    for span, text in _statements(graph):
        match = _INABILITY.search(text)
        if match:
            yield Evidence(
                span.span_id,
                "inability",
                "disobey_role_spec",
                weights.symptom,
                f"step {span.step} ({graph.agent(span)}) gives up on its part: '{quote(_line_around(text, match.start()), 60)}'",
            )


def rule_stall_reported(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """A step reports that progress stopped or a loop began (``rootspan.progress`` / ``rootspan.loop``).

    Blames the step it judged: the last step of another agent before the report. Front ends set
    the attributes (an orchestrator's ledger, a supervisor's check); later reports weigh less.
    """
    reported = 0
    for span in graph.order:
        stalled = span.attributes.get(sc.ROOTSPAN_PROGRESS) is False
        looping = span.attributes.get(sc.ROOTSPAN_LOOP) is True
        if not stalled and not looping:
            continue
        judged = next(
            (s for s in graph.before(span) if is_actor(s) and graph.agent(s) != graph.agent(span) and s is not graph.root),
            None,
        )
        if judged is None:
            continue
        reported += 1
        yield Evidence(
            span.span_id,
            "stall_reported",
            "step_repetition" if looping else "task_derailment",
            weights.symptom / reported,  # the first stall matters most; later ones echo it
            f"step {span.step} ({graph.agent(span)}) reports {'a loop' if looping else 'no progress'} after step {judged.step} ({graph.agent(judged)})",
            blames=judged.span_id,
        )


_SATISFIED = re.compile(
    r"^\s*(?:the )?(?:request|task) (?:is |has been )?(?:satisfied|completed?|solved|done)\b|\ball (?:tasks |steps )?(?:are )?(?:done|complete)\b",
    re.I | re.M,
)


def rule_false_completion(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """In a failed run, the first step that declared the task done: the claim was wrong, and it ended the work."""
    if graph.trace.outcome != "failure":
        return
    for span, text in _statements(graph):
        match = _SATISFIED.search(text)
        if span.attributes.get(sc.ROOTSPAN_DONE_CLAIMED) is True or match:
            yield Evidence(
                span.span_id,
                "false_completion",
                "premature_termination",
                weights.symptom,
                f"step {span.step} ({graph.agent(span)}) declares the task done "
                f"('{quote(_line_around(text, match.start()) if match else text, 60)}') but the run failed",
            )
            return


def rule_wrong_handoff(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """A handoff (``rootspan.handoff.to``) to an agent that then fails or is not in the team."""
    agents = set(graph.trace.agents())
    for span in graph.order:
        target = span.attributes.get("rootspan.handoff.to")
        if not isinstance(target, str) or not target:
            continue
        expected = span.attributes.get("rootspan.handoff.expected")
        if isinstance(expected, str) and expected and expected != target:
            yield Evidence(
                span.span_id,
                "wrong_handoff",
                "wrong_handoff",
                weights.symptom,
                f"step {span.step} ({graph.agent(span)}) hands off to {quote(target, 30)} where {quote(expected, 30)} was asked for",
            )
        elif target not in agents:
            yield Evidence(
                span.span_id,
                "wrong_handoff",
                "wrong_handoff",
                weights.symptom,
                f"step {span.step} ({graph.agent(span)}) hands off to {quote(target, 30)}, which never runs",
            )


RULES: tuple[Callable[[AttributionGraph, Weights], Iterable[Evidence]], ...] = (
    rule_errors,
    rule_tool_output,
    rule_tool_arithmetic,
    rule_answer_dropped,
    rule_repetition,
    rule_ignored_input,
    rule_premature_stop,
    rule_unverified,
    rule_inability,
    rule_stall_reported,
    rule_wrong_handoff,
    rule_false_completion,
)


def collect(graph: AttributionGraph, weights: Weights | None = None, process: "ProcessModel | None" = None) -> list[Evidence]:
    """Run every rule over the graph; with a process model of the run's other traces, that rule too."""
    weights = weights or Weights()
    found: list[Evidence] = []
    for rule in RULES:
        found.extend(rule(graph, weights))
    if process is not None:
        found.extend(process.deviations(graph, weights))
    return found
