"""Continuous batching for ``rootspan serve``: one worker thread owns the model, requests join and
leave the running batch between decode steps.

Why by hand: the serving engines that batch this way (vLLM, SGLang, TGI) each bring their own
model code and kernels; the point here is to serve *our* MoE model so its profiles join the
client's trace. The batch lives in one left-padded latent cache (agents/moe/cache.py): every row
writes the same column each step, a row's ``pad`` says where its tokens start, and the rope
position of a slot is ``slot - pad``. The requests joining at one step are prefilled together
into a cache of their own, left-padded so that every prompt ends at the batch's current column,
then appended as rows; a finished or cancelled row is dropped. Before a join the batch shifts
left by the smallest pad (reclaiming the columns of rows that left), or right when a new prompt
is longer than the current column.

Spans: the HTTP layer (serve_app.py) opens the request span; the engine records ``queue_wait``
(enqueued -> admitted), ``prefill`` (the forward over the prompts that joined together, on the
worker thread; ``rootspan.serve.prefill_batch`` says how many) and ``decode`` (first to last
decode step). Profile and expert load of a prefill or decode span cover all rows of the steps it
took part in: a step's counters are not split by row, and the batch sizes are on the span.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry.trace import Status, StatusCode

from rootspan import semconv as sc
from rootspan.agents.moe.generation import sample
from rootspan.agents.moe_backend import MoEBackend

# Span attribute names of the server side (DESIGN.md "Span conventions", rootspan.* names).
QUEUE_DEPTH_ATTR = "rootspan.serve.queue_depth"
BATCH_SIZE_ATTR = "rootspan.serve.batch_size_mean"
BATCH_MAX_ATTR = "rootspan.serve.batch_size_max"
TOKENS_PER_S_ATTR = "rootspan.serve.tokens_per_s"
CANCELLED_ATTR = "rootspan.serve.cancelled"
PREFILL_BATCH_ATTR = "rootspan.serve.prefill_batch"  # requests prefilled together with this one
INPUT_TOKENS = "gen_ai.usage.input_tokens"
STEP_ATTR = sc.ROOTSPAN_STEP
PHASE_ATTR = sc.ROOTSPAN_SERVE_PHASE
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"


class QueueFull(RuntimeError):
    """More requests are waiting than the server accepts (HTTP 503)."""


class ContextTooLong(ValueError):
    """Prompt plus max_tokens exceed the model's context (HTTP 422)."""


@dataclass
class Event:
    """What the worker tells a request's handler: a piece of text, the end, or a failure."""

    kind: str  # "text", "done", "error"
    text: str = ""
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    ttft_s: float | None = None


@dataclass
class GenRequest:
    """One chat completion's generation state, shared by the handler and the worker thread."""

    ids: list[int]
    max_tokens: int
    emit: Callable[[Event], None]  # must be thread-safe: called on the worker thread
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    stream: bool = True  # False: no per-token text events, the whole text comes with "done"
    ignore_eos: bool = False  # vLLM's extension: generate max_tokens tokens whatever comes (benchmarks)
    parent: otel_context.Context | None = None  # context holding the request span
    step: int | None = None  # the client's reserved step for this call: every server span takes it
    cancelled: threading.Event = field(default_factory=threading.Event)
    # runtime state (worker thread only)
    enqueued_ns: int = 0
    queue_span: Any = None
    decode_span: Any = None
    generator: torch.Generator | None = None
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    emitted: int = 0  # characters of ``text`` already sent
    started_s: float = 0.0
    first_token_s: float | None = None
    decode_started_s: float | None = None
    batch_sizes: list[int] = field(default_factory=list)
    expert_load: list[list[int]] | None = None

    def cancel(self) -> None:
        self.cancelled.set()


def _record_moe(span: Any, stats: dict[str, Any]) -> None:
    try:
        from rootspan.profilers.moe_stats import record_moe_stats
    except ImportError:  # profilers not installed: the spans go out without expert load
        return
    record_moe_stats(span, stats)


def _start(tracer: trace_api.Tracer, name: str, request: GenRequest, **kwargs: Any) -> Any:
    span = tracer.start_span(name, context=request.parent, **kwargs)
    if request.step is not None:
        span.set_attribute(STEP_ATTR, request.step)
    return span


def _imbalance(per_layer: list[list[int]]) -> list[float]:
    return [max(c) / (sum(c) / len(c)) if sum(c) else 0.0 for c in per_layer]


class Engine:
    """Admits queued requests into a running batch and decodes all its rows one token per step."""

    def __init__(
        self,
        backend: MoEBackend,
        tracer: trace_api.Tracer | None = None,
        max_batch: int = 16,
        max_queue: int = 64,
        max_len: int | None = None,
    ) -> None:
        self.backend = backend
        self.model = backend.net
        self.tracer = tracer or trace_api.NoOpTracer()
        self.max_batch = max(1, max_batch)
        self.max_queue = max(1, max_queue)
        self.max_len = int(max_len or self.model.config.max_position_embeddings)
        self.eos_id = backend.eos_id
        # Without a decoder, tokenizers joins tokens with spaces; the backend's own join is right then.
        self._pieces_only = getattr(backend.tokenizer, "decoder", None) is None
        self._keep: set[int] = set()  # special tokens the decode keeps (tool-call markers)
        self._special: set[int] = set()
        self.stats = backend.collect_stats
        self.model.collect_stats(self.stats)
        self._waiting: collections.deque[GenRequest] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._rows: list[GenRequest] = []
        self._cache: Any = None
        self._col = 0
        self._thread = threading.Thread(target=self._loop, name="rootspan-serve-engine", daemon=True)
        self._thread.start()

    # ---- the handler's side ------------------------------------------------------------------
    def check_fits(self, prompt_tokens: int, max_tokens: int) -> None:
        if prompt_tokens + max_tokens > self.max_len:
            raise ContextTooLong(
                f"this model's context is {self.max_len} tokens; the prompt has {prompt_tokens} and "
                f"max_tokens asks for {max_tokens} more"
            )

    def submit(self, request: GenRequest) -> None:
        """Queue a request; QueueFull when max_queue are already waiting."""
        self.check_fits(len(request.ids), request.max_tokens)
        with self._cond:
            if self._closed:
                raise QueueFull("the server is shutting down")
            if len(self._waiting) >= self.max_queue:
                raise QueueFull(f"{len(self._waiting)} requests are already waiting; try again later")
            request.enqueued_ns = time.time_ns()
            request.started_s = time.perf_counter()
            request.queue_span = _start(
                self.tracer, "queue_wait", request, start_time=request.enqueued_ns,
                attributes={QUEUE_DEPTH_ATTR: len(self._waiting), PHASE_ATTR: "queue"},
            )
            self._waiting.append(request)
            self._cond.notify()

    def keep_special(self, ids: set[int]) -> None:
        """Keep these special tokens in the output text (the chat format's tool-call markers);
        every other special token (end of sentence...) is still left out."""
        tokenizer = self.backend.tokenizer
        added = tokenizer.get_added_tokens_decoder() if hasattr(tokenizer, "get_added_tokens_decoder") else {}
        self._special = {int(i) for i, token in added.items() if token.special}
        self._keep = set(ids) & self._special

    @property
    def queue_depth(self) -> int:
        return len(self._waiting)

    @property
    def active(self) -> int:
        return len(self._rows)

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    # ---- the worker thread -------------------------------------------------------------------
    def _loop(self) -> None:
        torch.set_grad_enabled(False)
        while True:
            with self._cond:
                while not self._closed and not self._waiting and not self._rows:
                    self._cond.wait()
                if self._closed:
                    break
            try:
                with torch.inference_mode():
                    self._drop_cancelled()
                    self._admit()
                    if self._rows:
                        self._decode_step()
            except Exception as exc:  # noqa: BLE001 - a failed step fails its requests, not the server
                first = (str(exc).splitlines() or [type(exc).__name__])[0]
                # The cache may be half-updated: drop it before finishing the rows that used it.
                rows, self._rows, self._cache, self._col = self._rows, [], None, 0
                for row in rows:
                    self._finish(row, None, error=f"generation failed: {first}")
        for row in list(self._rows) + list(self._waiting):
            self._finish(row, None, error="the server shut down")

    def _drop_cancelled(self) -> None:
        with self._cond:
            for request in [r for r in self._waiting if r.cancelled.is_set()]:
                self._waiting.remove(request)
                self._finish(request, "cancelled")
        for row in [r for r in self._rows if r.cancelled.is_set()]:
            self._finish(row, "cancelled")

    def _admit(self) -> None:
        """Take every waiting request that fits, in order, and prefill them together."""
        group: list[GenRequest] = []
        with self._cond:
            while self._waiting and len(self._rows) + len(group) < self.max_batch:
                if not self._fits(group + [self._waiting[0]]):
                    break  # first come, first served: it waits until enough rows finish
                group.append(self._waiting.popleft())
        if group:
            self._join(group)

    def _remaining(self, row: GenRequest) -> int:
        return row.max_tokens - len(row.tokens)

    def _fits(self, group: list[GenRequest]) -> bool:
        if not self._rows and len(group) == 1:
            return True  # check_fits already guaranteed it fits alone
        shift = min(int(p) for p in self._cache.pad.tolist()) if self._rows else self._col
        col = max([self._col - shift] + [len(r.ids) for r in group])
        need = max([self._remaining(r) for r in self._rows] + [r.max_tokens - 1 for r in group])
        return col + need <= self.max_len

    def _shift(self, by: int) -> None:
        """Move every row's cache entries ``by`` columns (negative: left) and their pads with them."""
        if by == 0 or self._cache is None:
            return
        kv = self._cache.kv
        moved = torch.zeros_like(kv)
        if by > 0:
            moved[:, :, by:] = kv[:, :, :-by]
        else:
            moved[:, :, :by] = kv[:, :, -by:]
        self._cache.kv = moved
        self._cache.pad += by
        self._col += by

    def _join(self, group: list[GenRequest]) -> None:
        """Prefill the group as one left-padded batch whose prompts end at the batch's column."""
        now = time.time_ns()
        for request in group:
            request.queue_span.end(end_time=now)
        width = max(len(r.ids) for r in group)
        if self._rows:
            self._shift(-min(int(p) for p in self._cache.pad.tolist()))
            if self._col < width:
                self._shift(width - self._col)
        else:
            self._col = width
        for request in group:
            if request.temperature > 0:
                request.generator = torch.Generator(device=self.model.device)
                if request.seed is None:
                    request.generator.seed()
                else:
                    request.generator.manual_seed(request.seed)
        spans = [
            _start(self.tracer, "prefill", r, attributes={INPUT_TOKENS: len(r.ids), PHASE_ATTR: "prefill",
                                                           PREFILL_BATCH_ATTR: len(group)})
            for r in group
        ]
        model = self.model
        try:
            model._begin_stats()
            part = model.new_cache(len(group), self.max_len)
            start = self._col - width
            part.pad.copy_(torch.tensor([self._col - len(r.ids) for r in group], device=model.device))
            pad_id = model.config.pad_token_id if model.config.pad_token_id is not None else 0
            ids = torch.tensor([[pad_id] * (width - len(r.ids)) + r.ids for r in group], dtype=torch.long,
                               device=model.device)
            ragged = any(len(r.ids) != width for r in group)
            hidden = model.step(ids, part, start, kv_len=self._col, causal=start == 0 and not ragged)
            logits = model.lm_head(hidden[:, -1])
            greedy = logits.argmax(dim=-1).tolist()
            tokens = [
                int(sample(logits[i : i + 1], r.temperature, r.top_p, r.generator)[0]) if r.temperature > 0 else greedy[i]
                for i, r in enumerate(group)
            ]
            if self.stats:
                # The counters cover the whole group (pad tokens included): a step is not split by row.
                stats = model.moe_stats()
                stats["kv_cache_bytes"] = part.nbytes() // len(group)
                for span in spans:
                    _record_moe(span, stats)
        except Exception as exc:  # noqa: BLE001 - a failed prefill fails its requests, not the running rows
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            for span, request in zip(spans, group):
                span.set_status(Status(StatusCode.ERROR, first))
                span.end()
                self._finish(request, None, error=f"prefill failed: {first}")
            if not self._rows:
                self._cache, self._col = None, 0
            return
        for span in spans:
            span.end()
        if self._rows:
            self._cache.kv = torch.cat([self._cache.kv, part.kv], dim=1)
            self._cache.pad = torch.cat([self._cache.pad, part.pad])
        else:
            self._cache = part
        first_token = time.perf_counter()
        for request, token in zip(group, tokens):
            self._rows.append(request)
            request.first_token_s = first_token
        for request, token in zip(group, tokens):
            self._accept(request, token)

    def _decode_step(self) -> None:
        rows = self._rows
        for row in rows:
            if row.decode_span is None:
                row.decode_started_s = time.perf_counter()
                row.decode_span = _start(self.tracer, "decode", row, attributes={PHASE_ATTR: "decode"})
            row.batch_sizes.append(len(rows))
        model = self.model
        model._begin_stats()
        tokens = torch.tensor([[r.tokens[-1]] for r in rows], dtype=torch.long, device=model.device)
        hidden = model.step(tokens, self._cache, self._col, kv_len=self._col + 1)
        logits = model.lm_head(hidden[:, -1])
        self._col += 1
        greedy = logits.argmax(dim=-1).tolist()
        if self.stats:
            load = model.moe_stats()["tokens_per_expert"]
            for row in rows:
                row.expert_load = load if row.expert_load is None else [
                    [a + b for a, b in zip(x, y)] for x, y in zip(row.expert_load, load)
                ]
        for i, row in enumerate(list(rows)):
            if row.temperature > 0:
                token = int(sample(logits[i : i + 1], row.temperature, row.top_p, row.generator)[0])
            else:
                token = greedy[i]
            self._accept(row, token)

    def _accept(self, row: GenRequest, token: int) -> None:
        """Append a new token, send what text is safe to send, and finish the row if it is done."""
        if not row.ignore_eos and self.eos_id is not None and token == self.eos_id:
            row.tokens.append(token)
            self._finish(row, "stop")
            return
        row.tokens.append(token)
        row.text = self._detokenize(row.tokens)
        for stop in row.stop:
            at = row.text.find(stop)
            if at >= 0:
                row.text = row.text[:at]
                self._flush(row, len(row.text))
                self._finish(row, "stop")
                return
        # Hold back a tail that could still become a stop string, so it is never sent, and the
        # replacement characters of a UTF-8 sequence that the next byte-level token completes.
        hold = max((k for s in row.stop for k in range(1, len(s)) if row.text.endswith(s[:k])), default=0)
        hold = max(hold, len(row.text) - len(row.text.rstrip("\ufffd")))
        self._flush(row, len(row.text) - hold)
        if len(row.tokens) >= row.max_tokens:
            self._finish(row, "length")

    def _detokenize(self, ids: list[int]) -> str:
        """The text of a row's tokens so far, decoded whole: a byte-level BPE token (DeepSeek's)
        is not text on its own, so pieces are the difference between successive decodes."""
        if self._pieces_only:
            return self.backend.decode(ids)
        if self._keep:
            kept = [i for i in ids if i in self._keep or i not in self._special]
            return self.backend.tokenizer.decode(kept, skip_special_tokens=False)
        return self.backend.tokenizer.decode(ids, skip_special_tokens=True)

    def _flush(self, row: GenRequest, upto: int) -> None:
        # A non-streaming request gets its text once, with "done": one wake-up of the HTTP
        # thread per request instead of one per token (each costs the worker the interpreter lock).
        if row.stream and upto > row.emitted:
            row.emit(Event("text", text=row.text[row.emitted : upto]))
            row.emitted = upto

    def _finish(self, row: GenRequest, reason: str | None, error: str | None = None) -> None:
        if row in self._rows:
            index = self._rows.index(row)
            keep = [i for i in range(len(self._rows)) if i != index]
            self._rows.pop(index)
            if self._rows:
                keep_t = torch.tensor(keep, dtype=torch.long, device=self._cache.kv.device)
                self._cache.kv = self._cache.kv.index_select(1, keep_t)
                self._cache.pad = self._cache.pad.index_select(0, keep_t)
            else:
                self._cache, self._col = None, 0
        if row.queue_span is not None and row.queue_span.is_recording():
            row.queue_span.end()  # cancelled or failed while still waiting
        self._end_decode_span(row, reason, error)
        if error is not None:
            row.emit(Event("error", text=error))
            return
        if reason != "cancelled":
            self._flush(row, len(row.text))
        ttft = row.first_token_s - row.started_s if row.first_token_s is not None else None
        usage = {"prompt_tokens": len(row.ids), "completion_tokens": len(row.tokens),
                 "total_tokens": len(row.ids) + len(row.tokens)}
        text = "" if row.stream else row.text
        row.emit(Event("done", text=text, finish_reason=reason, usage=usage, ttft_s=ttft))

    def _end_decode_span(self, row: GenRequest, reason: str | None, error: str | None) -> None:
        span = row.decode_span
        if span is None:
            return
        elapsed = time.perf_counter() - (row.decode_started_s or time.perf_counter())
        decoded = max(len(row.tokens) - 1, 0)  # the first token came from prefill
        span.set_attribute(OUTPUT_TOKENS, decoded)
        if elapsed > 0:
            span.set_attribute(TOKENS_PER_S_ATTR, round(decoded / elapsed, 3))
        if row.batch_sizes:
            span.set_attribute(BATCH_SIZE_ATTR, round(sum(row.batch_sizes) / len(row.batch_sizes), 3))
            span.set_attribute(BATCH_MAX_ATTR, max(row.batch_sizes))
        if row.expert_load is not None:
            _record_moe(span, {"tokens_per_expert": row.expert_load, "imbalance": _imbalance(row.expert_load)})
        if reason == "cancelled":
            span.set_attribute(CANCELLED_ATTR, True)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()
        row.decode_span = None
