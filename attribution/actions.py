"""Actions a step says it performed with a tool it had, but never called: the claim ended the work.

"Your refund has been issued" from an agent whose prompt offered ``issue_refund`` and that never
called it is the commonest false completion of tool-using agents: everything after it (the
confirmation e-mail, the closed ticket) faithfully carries a claim no tool backs. The step to
blame is the turn that made the claim, however many steps later the run is judged.

A tool counts as the turn's when its name appears in what the turn was given (its prompt, its
model calls' inputs, their tool definitions) or the same agent called it in another turn; a tool
only some other agent used is not one this turn could have called. Only action verbs are read
(issue, send, book, cancel, ...): a claim like "checked" or "found" is what lookups are for, and
a tool named ``get_*`` proves nothing by not running.
"""

from __future__ import annotations

import re
from typing import Iterable

from rootspan import semconv as sc
from rootspan.attribution.content import quote
from rootspan.attribution.evidence import Evidence, Weights, is_actor, is_tool
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.origin import turn_of
from rootspan.model import Span, SpanKind

# English verbs that change the world when a tool does them (not lookups); with their past
# participles where the regular -ed rule does not give them
_ACTION_VERBS = {
    "issue": "issued", "send": "sent", "book": "booked", "create": "created", "cancel": "cancell?ed", "refund": "refunded",
    "schedule": "scheduled", "update": "updated", "delete": "deleted", "remove": "removed", "transfer": "transferr?ed",
    "pay": "paid", "submit": "submitted", "post": "posted", "email": "e-?mailed", "notify": "notified", "deploy": "deployed",
    "merge": "merged", "close": "closed", "approve": "approved", "reserve": "reserved", "place": "placed", "charge": "charged",
    "file": "filed", "open": "opened", "assign": "assigned", "publish": "published", "upload": "uploaded", "save": "saved",
    "register": "registered", "apply": "applied", "grant": "granted", "revoke": "revoked", "reset": "reset", "restart": "restarted",
    "order": "ordered", "invite": "invited", "release": "released", "ship": "shipped", "escalate": "escalated", "write": "written",
    "commit": "committed", "push": "pushed", "rebook": "rebooked", "confirm": "confirmed", "credit": "credited", "void": "voided",
}
_TOOL_SYMBOL = re.compile(r"\b([a-z]+(?:_[a-z0-9]+)+)\b")
_NEGATION = re.compile(r"\b(?:not|never|no|cannot|can't|couldn't|won't|yet to|will|would|should|to be|once|after|before|if)\W+(?:\w+\W+){0,3}$", re.I)


def _claim_pattern(participle: str) -> re.Pattern[str]:
    """Past-tense statements of the action: "has been issued", "I've issued", "successfully issued"."""
    return re.compile(
        rf"\b(?:(?:has|have|had|was|were|is|are)\s+(?:now\s+|already\s+|just\s+)?(?:been\s+)?(?:successfully\s+)?|"
        rf"(?:I|we|I've|we've|I have|we have)\s+(?:now\s+|already\s+|just\s+|successfully\s+)?|successfully\s+)(?:{participle})\b",
        re.I,
    )


_CLAIMS = {verb: _claim_pattern(participle) for verb, participle in _ACTION_VERBS.items()}


def _verb_of(tool: str) -> str | None:
    first = re.split(r"[_\W]+", tool.lower(), maxsplit=1)[0]
    return first if first in _ACTION_VERBS else None


def _turn_spans(graph: AttributionGraph, turn: Span) -> list[Span]:
    found, pending = [], [turn]
    while pending:
        span = pending.pop()
        found.append(span)
        pending.extend(graph.children(span.span_id))
    return found


def _offered_tools(graph: AttributionGraph, turn: Span, spans: list[Span], called_by_agent: dict[str | None, set[str]]) -> set[str]:
    """Action tools the turn could have called: named to it, defined for its model calls, or its agent's."""
    text = " ".join(graph.inputs.get(span.span_id, "") + " " + str(span.attributes.get(sc.GEN_AI_TOOL_DEFINITIONS, ""))
                    for span in spans if not is_tool(span))
    offered = {symbol for symbol in _TOOL_SYMBOL.findall(text)} | called_by_agent.get(graph.agent(turn), set())
    return {tool for tool in offered if _verb_of(tool)}


def _sentence(text: str, match: re.Match[str]) -> str:
    """The sentence holding the claim, the quote a user recognises."""
    start = max(text.rfind(". ", 0, match.start()) + 2, text.rfind("\n", 0, match.start()) + 1, 0)
    ends = [position for position in (text.find(". ", match.end()), text.find("\n", match.end())) if position >= 0]
    return text[start : min(ends) if ends else len(text)].strip()


def rule_unperformed_action(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """In a failed run, the first turn that states an action done with a tool it had and never called."""
    if graph.trace.outcome != "failure":
        return
    called_by_agent: dict[str | None, set[str]] = {}
    for span in graph.order:
        name = span.attributes.get(sc.GEN_AI_TOOL_NAME)
        if is_tool(span) and isinstance(name, str) and not span.is_error:
            called_by_agent.setdefault(graph.agent(span), set()).add(name)
    seen_turns: set[str] = set()
    for span in graph.order:
        if not is_actor(span) or span is graph.root:
            continue
        turn = turn_of(graph, span)
        if turn.kind is not SpanKind.AGENT or turn.span_id in seen_turns:
            continue
        seen_turns.add(turn.span_id)
        spans = _turn_spans(graph, turn)
        called = {s.attributes.get(sc.GEN_AI_TOOL_NAME) for s in spans if is_tool(s) and not s.is_error}
        missing = sorted(tool for tool in _offered_tools(graph, turn, spans, called_by_agent) if tool not in called)
        if not missing:
            continue
        statements = [graph.outputs.get(s.span_id, "") for s in spans if is_actor(s)]
        for tool in missing:
            claim = _CLAIMS[_verb_of(tool) or ""]
            for text in statements:
                match = next((m for m in claim.finditer(text) if not _NEGATION.search(text[max(0, m.start() - 40) : m.start()])), None)
                if match is None:
                    continue
                yield Evidence(
                    turn.span_id,
                    "unperformed_action",
                    "premature_termination",
                    weights.direct,
                    f"step {turn.step} ({graph.agent(turn)}) says '{quote(_sentence(text, match), 70)}' "
                    f"but never called {tool}, which it had",
                )
                return
