"""The trace model every part reads: spans, traces, runs, labels and verdicts.

Loaders build these once; the attribution engine, the terminal UI and the CI report all read the
same objects instead of re-parsing files. Spans are pydantic models so they validate when built by
hand, while the OTLP loader, which has already checked every field, builds them with
``trusted_span`` to load a million spans in seconds.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from rootspan import semconv as sc


class SpanKind(str, Enum):
    """What a span does in an agent run, whatever convention emitted it."""

    AGENT = "agent"
    LLM = "llm"
    TOOL = "tool"
    WORKFLOW = "workflow"
    OTHER = "other"


class StatusCode(IntEnum):
    """OTLP status codes, as the integers the JSON encoding uses."""

    UNSET = 0
    OK = 1
    ERROR = 2


_OPERATION_KINDS = {
    sc.OP_INVOKE_AGENT: SpanKind.AGENT,
    sc.OP_CREATE_AGENT: SpanKind.AGENT,
    sc.OP_CHAT: SpanKind.LLM,
    sc.OP_TEXT_COMPLETION: SpanKind.LLM,
    sc.OP_GENERATE_CONTENT: SpanKind.LLM,
    sc.OP_EMBEDDINGS: SpanKind.LLM,
    sc.OP_EXECUTE_TOOL: SpanKind.TOOL,
    sc.OP_INVOKE_WORKFLOW: SpanKind.WORKFLOW,
}
_OPENINFERENCE_KINDS = {
    "AGENT": SpanKind.AGENT,
    "LLM": SpanKind.LLM,
    "EMBEDDING": SpanKind.LLM,
    "TOOL": SpanKind.TOOL,
    "RETRIEVER": SpanKind.TOOL,
    "RERANKER": SpanKind.TOOL,
    "CHAIN": SpanKind.WORKFLOW,
}
_TRACELOOP_KINDS = {
    "agent": SpanKind.AGENT,
    "tool": SpanKind.TOOL,
    "workflow": SpanKind.WORKFLOW,
    "task": SpanKind.OTHER,
}
_NAME_PREFIX_KINDS = {
    "invoke_agent ": SpanKind.AGENT,
    "chat ": SpanKind.LLM,
    "text_completion ": SpanKind.LLM,
    "generate_content ": SpanKind.LLM,
    "execute_tool ": SpanKind.TOOL,
    "invoke_workflow ": SpanKind.WORKFLOW,
}


def classify_span(name: str, attributes: dict[str, Any]) -> SpanKind:
    """Derive a span's kind from GenAI semconv, OpenInference, Traceloop, or its name, in that order.

    The order matters: an OpenLLMetry span can carry both ``traceloop.span.kind`` and
    ``gen_ai.*`` names, and the GenAI operation is the more specific of the two.
    """
    operation = attributes.get(sc.GEN_AI_OPERATION_NAME)
    if isinstance(operation, str) and operation in _OPERATION_KINDS:
        return _OPERATION_KINDS[operation]
    oi_kind = attributes.get(sc.OPENINFERENCE_SPAN_KIND)
    if isinstance(oi_kind, str) and oi_kind.upper() in _OPENINFERENCE_KINDS:
        return _OPENINFERENCE_KINDS[oi_kind.upper()]
    tl_kind = attributes.get(sc.TRACELOOP_SPAN_KIND)
    if isinstance(tl_kind, str) and tl_kind.lower() in _TRACELOOP_KINDS:
        return _TRACELOOP_KINDS[tl_kind.lower()]
    if "llm.request.type" in attributes or sc.GEN_AI_REQUEST_MODEL in attributes:
        return SpanKind.LLM
    for prefix, kind in _NAME_PREFIX_KINDS.items():
        if name.startswith(prefix):
            return kind
    return SpanKind.OTHER


class SpanEvent(BaseModel):
    """A timestamped event on a span; exceptions are events named ``exception``."""

    name: str
    time_ns: int = 0
    attributes: dict[str, Any] = Field(default_factory=dict)


class SpanLink(BaseModel):
    """A link to another span; rootspan reads links as data-flow edges."""

    trace_id: str
    span_id: str
    attributes: dict[str, Any] = Field(default_factory=dict)


class Span(BaseModel):
    """One OTLP span, plus the kind rootspan derives from its attributes."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    name: str = ""
    otel_kind: int = 1
    start_ns: int = 0
    end_ns: int = 0
    attributes: dict[str, Any] = Field(default_factory=dict)
    events: list[SpanEvent] = Field(default_factory=list)
    links: list[SpanLink] = Field(default_factory=list)
    status_code: StatusCode = StatusCode.UNSET
    status_message: str = ""
    resource: dict[str, Any] = Field(default_factory=dict)
    scope_name: str = ""
    kind: SpanKind | None = None

    @model_validator(mode="after")
    def _derive_kind(self) -> "Span":
        if self.kind is None:
            self.kind = classify_span(self.name, self.attributes)
        return self

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    @property
    def duration_s(self) -> float:
        return self.duration_ns / 1e9

    @property
    def is_error(self) -> bool:
        return self.status_code == StatusCode.ERROR

    @property
    def step(self) -> int | None:
        value = self.attributes.get(sc.ROOTSPAN_STEP)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def inputs(self) -> list[str]:
        """Span ids whose outputs this step consumed (``rootspan.inputs``), as strings."""
        value = self.attributes.get(sc.ROOTSPAN_INPUTS)
        if isinstance(value, str):
            return [value] if value else []
        if isinstance(value, (list, tuple)):
            return [str(item) for item in value if item]
        return []

    @property
    def agent_name(self) -> str | None:
        """The agent this span itself names, without looking at ancestors."""
        value = self.attributes.get(sc.GEN_AI_AGENT_NAME)
        if isinstance(value, str) and value:
            return value
        if self.kind != SpanKind.AGENT:
            return None
        for key in ("agent.name", sc.TRACELOOP_ENTITY_NAME):
            value = self.attributes.get(key)
            if isinstance(value, str) and value:
                return value
        if self.name.startswith("invoke_agent "):
            return self.name[len("invoke_agent ") :]
        return self.name or None

    @property
    def exception_events(self) -> list[SpanEvent]:
        return [event for event in self.events if event.name == "exception"]


_SPAN_FIELDS = set(Span.model_fields)  # shared by every loaded span: all its fields are always set
_object_setattr = object.__setattr__


def trusted_span(values: dict[str, Any]) -> Span:
    """A Span from a complete dict of already checked field values, without pydantic's per-call work.

    ``model_construct`` costs microseconds and a fresh fields-set per span; over a 1M-span run that
    is seconds and hundreds of MB. ``values`` must hold every field of Span (the loader's decoder
    does); the fields-set is shared because every field is set, so pydantic's own bookkeeping on
    assignment (adding the name to it) never changes it.
    """
    span = Span.__new__(Span)
    _object_setattr(span, "__dict__", values)
    _object_setattr(span, "__pydantic_fields_set__", _SPAN_FIELDS)
    _object_setattr(span, "__pydantic_extra__", None)
    _object_setattr(span, "__pydantic_private__", None)
    return span


def _number_unstepped(spans: list[Span], by_id: dict[str, Span]) -> None:
    """Give every span a step, as DESIGN.md promises, where its producer gave none.

    rootspan's tracer numbers every span in start order from 0; other producers (OpenInference,
    OpenLLMetry, a server in another process) often number nothing. A trace with no numbered span
    is numbered the way the tracer would have done it; a span without a number in a trace that has
    some takes the step of its nearest numbered ancestor (it is part of that step), so no producer's
    number is ever changed or duplicated under another meaning. The number is written into the
    in-memory attributes only; files are never touched.
    """
    unnumbered = [span for span in spans if span.step is None]
    if not unnumbered:
        return
    if len(unnumbered) == len(spans):
        for index, span in enumerate(spans):  # already in start order
            span.attributes[sc.ROOTSPAN_STEP] = index
        return
    for span in unnumbered:
        parent = by_id.get(span.parent_span_id) if span.parent_span_id else None
        for _ in range(256):
            if parent is None or parent.step is not None:
                break
            parent = by_id.get(parent.parent_span_id) if parent.parent_span_id else None
        if parent is not None and parent.step is not None:
            span.attributes[sc.ROOTSPAN_STEP] = parent.step


# Recorded outcomes read as a success; any other recorded value is a failure (DESIGN.md names
# ``success``/``failure``; the others are what hand-written or foreign producers put there).
SUCCESS_OUTCOMES = frozenset({"success", "succeeded", "ok", "pass", "passed"})


def normalise_outcome(value: Any) -> Literal["success", "failure"] | None:
    """A recorded ``rootspan.outcome`` as ``success``/``failure``; None when it is not a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        return None
    return "success" if value.strip().lower() in SUCCESS_OUTCOMES else "failure"


class Trace(BaseModel):
    """All spans of one trace id, with the tree and step order the analyses need."""

    trace_id: str
    spans: list[Span] = Field(default_factory=list)

    # Indexes live in pydantic's private storage, read through ``_index`` (a plain dict lookup):
    # going through pydantic's attribute hook costs ~1.5 µs a call, seconds over 100k spans.
    _index: dict[str, Any] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the indexes after ``spans`` changed; spans are kept sorted by start time."""
        self.spans.sort(key=lambda span: (span.start_ns, span.end_ns))
        by_id = {span.span_id: span for span in self.spans}
        children: dict[str, list[Span]] = {}
        roots: list[Span] = []
        for span in self.spans:
            parent = span.parent_span_id
            if parent and parent in by_id and parent != span.span_id:
                children.setdefault(parent, []).append(span)
            else:
                roots.append(span)
        roots.sort(key=lambda s: (s.parent_span_id is not None, s.start_ns))
        _number_unstepped(self.spans, by_id)
        self.__pydantic_private__["_index"] = {
            "by_id": by_id,
            "children": children,
            "roots": roots,
            "agents": {},
        }

    @property
    def by_id(self) -> dict[str, Span]:
        return self.__pydantic_private__["_index"]["by_id"]

    def get(self, span_id: str) -> Span | None:
        return self.__pydantic_private__["_index"]["by_id"].get(span_id)

    def children(self, span_id: str) -> list[Span]:
        return self.__pydantic_private__["_index"]["children"].get(span_id, [])

    @property
    def children_by_id(self) -> dict[str, list[Span]]:
        """Parent span id -> its children in start order, for spans that have any (do not modify)."""
        return self.__pydantic_private__["_index"]["children"]

    @property
    def roots(self) -> list[Span]:
        """Spans with no parent in this trace (true roots first, then orphans), by start time."""
        return list(self.__pydantic_private__["_index"]["roots"])

    @property
    def root(self) -> Span | None:
        roots = self.__pydantic_private__["_index"]["roots"]
        return roots[0] if roots else None

    def parent(self, span: Span) -> Span | None:
        if span.parent_span_id is None:
            return None
        return self.__pydantic_private__["_index"]["by_id"].get(span.parent_span_id)

    def ancestors(self, span: Span) -> Iterator[Span]:
        """Parent, grandparent, ...; stops on a cycle instead of looping forever."""
        seen = {span.span_id}
        current = self.parent(span)
        while current is not None and current.span_id not in seen:
            seen.add(current.span_id)
            yield current
            current = self.parent(current)

    def walk(self) -> Iterator[tuple[Span, int]]:
        """Depth-first (span, depth) over the tree, children in start order."""
        stack: list[tuple[Span, int]] = [(root, 0) for root in reversed(self.roots)]
        seen: set[str] = set()
        while stack:
            span, depth = stack.pop()
            if span.span_id in seen:
                continue
            seen.add(span.span_id)
            yield span, depth
            for child in reversed(self.children(span.span_id)):
                stack.append((child, depth + 1))

    def agent_of(self, span: Span) -> str | None:
        """The agent responsible for a span: its own agent name or its nearest agent ancestor's."""
        cache = self.__pydantic_private__["_index"]["agents"]
        if span.span_id in cache:
            return cache[span.span_id]
        name = span.agent_name
        if name is None:
            for ancestor in self.ancestors(span):
                name = ancestor.agent_name
                if name is not None:
                    break
        cache[span.span_id] = name
        return name

    def steps(self) -> list[Span]:
        """Spans in step order: ``rootspan.step`` where present, start time otherwise."""
        return sorted(
            self.spans,
            key=lambda s: (s.step if s.step is not None else float("inf"), s.start_ns),
        )

    def agents(self) -> list[str]:
        """Agent names in order of first appearance."""
        seen: dict[str, None] = {}
        for span in self.spans:
            name = span.agent_name
            if name is not None:
                seen.setdefault(name, None)
        return list(seen)

    @property
    def start_ns(self) -> int:
        """Computed on each call (not cached): callers may adjust span times after loading."""
        return min((s.start_ns for s in self.spans), default=0)

    @property
    def end_ns(self) -> int:
        return max((s.end_ns for s in self.spans), default=0)

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    def _root_attribute(self, key: str) -> Any:
        for span in self.roots:
            if key in span.attributes:
                return span.attributes[key]
        for span in self.spans:
            if key in span.attributes:
                return span.attributes[key]
        return None

    @property
    def recorded_outcome(self) -> Literal["success", "failure"] | None:
        """What the app recorded in ``rootspan.outcome`` (see ``normalise_outcome``), or None."""
        return normalise_outcome(self._root_attribute(sc.ROOTSPAN_OUTCOME))

    @property
    def outcome(self) -> Literal["success", "failure"] | None:
        """``success``/``failure``: the recorded outcome, else ``failure`` if the root span errored.

        None when the app recorded nothing and the root did not fail: the trace counts as a success
        (``failed`` is False) but nobody said so, which some attribution rules need to know.
        """
        recorded = self.recorded_outcome
        if recorded is not None:
            return recorded
        root = self.root
        if root is not None and root.is_error:
            return "failure"
        return None

    @property
    def failed(self) -> bool:
        """Whether this trace failed: THE definition ``attribute``, ``report`` and ``view`` share.

        1. The outcome the app recorded (``rootspan.outcome`` on the root, or on any span when the
           root carries none) decides, whatever the span statuses say: an errored call that was
           retried or worked around does not fail a run the app says succeeded.
        2. With no recorded outcome, the root span's status decides: ERROR is a failure. An error
           that nothing caught propagates to the root (OTel SDKs set ERROR on every span an
           exception leaves), while one the app caught and recovered from stops below it, so the
           root is the one span whose status speaks for the whole operation.
        3. Otherwise the trace succeeded; errors on inner spans were recovered from. They still
           show (error counts, attribution evidence) but do not turn the run into a failure.
        """
        return self.outcome == "failure"

    @property
    def failure_reason(self) -> str | None:
        """Why the trace failed, for display: the recorded reason, else the root's status message."""
        if not self.failed:
            return None
        if self.recorded_outcome == "failure":
            reason = self._root_attribute(sc.ROOTSPAN_OUTCOME_REASON)
            return str(reason) if reason not in (None, "") else None
        root = self.root
        return (root.status_message or None) if root is not None else None

    def is_outcome_status(self, span: Span) -> bool:
        """Whether ``span``'s ERROR status only restates the recorded failure outcome.

        The tracer marks the root ERROR when the app records a failure (so OTLP backends show it);
        that status is the run's result, not a step that errored, so error counts leave it out.
        An exception recorded on the root is a real error and keeps it counted.
        """
        # cheapest test first: callers ask for every errored span, and only the root can qualify
        return (
            span.is_error
            and span is self.root
            and not span.exception_events
            and self.recorded_outcome == "failure"
        )

    @property
    def expected(self) -> str | None:
        value = self._root_attribute(sc.ROOTSPAN_EXPECTED)
        return None if value is None else str(value)


class LabelCulprit(BaseModel):
    span_id: str | None = None
    agent: str | None = None
    step: int | None = None


class Label(BaseModel):
    """Ground truth for a run with an injected fault; the engine never reads it."""

    model_config = ConfigDict(extra="allow")

    fault: str
    kind: Literal["failure", "slowdown"]
    culprit: LabelCulprit
    category: str | None = None
    trace_id: str | None = None


class Culprit(BaseModel):
    span_id: str
    agent: str | None = None
    step: int | None = None
    name: str = ""


class Alternative(BaseModel):
    """A ranked candidate culprit with the evidence for it (all candidates when undetermined)."""

    span_id: str
    agent: str | None = None
    step: int | None = None
    confidence: float = 0.0
    name: str = ""
    category: str | None = None
    evidence: list[str] = Field(default_factory=list)


class LineageLink(BaseModel):
    """One hop of the failure's lineage: a step that held the decisive value or decision.

    A verdict's ``lineage`` runs from the failing output back to where the value entered:
    ``role`` is ``failing`` (the output that failed), ``carried`` (a step that passed the value on
    faithfully) or ``introduced`` (the step that first stated it with no source: the culprit).
    """

    span_id: str
    step: int | None = None
    agent: str | None = None
    name: str = ""
    role: Literal["failing", "carried", "introduced"] = "carried"
    value: str | None = None
    quote: str = ""


class Bottleneck(BaseModel):
    span_id: str
    bound_by: str
    share: float
    evidence: list[str] = Field(default_factory=list)
    name: str = ""
    agent: str | None = None
    duration_ns: int = 0


class Verdict(BaseModel):
    """What the attribution engine concluded about one trace (DESIGN.md's verdict schema)."""

    model_config = ConfigDict(extra="allow")

    trace_id: str
    outcome: str
    culprit: Culprit | None = None
    category: str | None = None
    confidence: float = 0.0
    evidence: list[str] = Field(default_factory=list)
    path: list[str] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(default_factory=list)
    bottlenecks: list[Bottleneck] = Field(default_factory=list)
    # False when the evidence is too weak to name a culprit: ``culprit`` is then None and
    # ``alternatives`` holds the ranked candidates (best first), each with its evidence.
    determined: bool = True
    lineage: list[LineageLink] = Field(default_factory=list)
    evidence_share: float = 0.0  # the culprit's raw share of the evidence, before calibration
    direct_evidence: bool = False  # a direct finding (an error, a broken constraint) backs the culprit


class MetricPoint(BaseModel):
    """One sample of a device or host metric (a row of metrics.jsonl, flattened)."""

    name: str
    time_ns: int
    value: float
    unit: str = ""
    attributes: dict[str, Any] = Field(default_factory=dict)


class Run(BaseModel):
    """A loaded run directory (or a single traces file): traces plus the files around them."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: Path
    traces: dict[str, Trace] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    labels: Label | None = None
    kernel_files: dict[str, Path] = Field(default_factory=dict)
    metrics_path: Path | None = None

    def all_spans(self) -> Iterable[Span]:
        for trace in self.traces.values():
            yield from trace.spans

    @property
    def span_count(self) -> int:
        return sum(len(trace.spans) for trace in self.traces.values())

    def trace_list(self) -> list[Trace]:
        """Traces in start order."""
        return sorted(self.traces.values(), key=lambda trace: trace.start_ns)
