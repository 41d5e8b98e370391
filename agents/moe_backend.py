"""The local backend: our DeepSeek-V3-style MoE model (rootspan.agents.moe) on CPU or CUDA.

Loads a checkpoint directory (config.json, safetensors, tokenizer.json) through the MoE package's
normal loader; by default the tiny model trained for the demo, shipped in agents/assets/demo-moe.
Chat messages become one prompt (the contents of the non-system messages, in order: the tiny
model was trained without a chat template). With routing statistics on, each call puts the
expert load on its chat span through rootspan.profilers.moe_stats when that module is present.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from rootspan.agents.backends import ERROR_KIND_ATTR, BackendError, Completion, set_span_attribute

DEMO_CHECKPOINT = Path(__file__).resolve().parent / "assets" / "demo-moe"
DEVICE_ATTR = "rootspan.llm.device"


def _fail(call: Any, message: str, kind: str) -> BackendError:
    """The error to raise, with its category on the chat span, where attribution reads it."""
    set_span_attribute(call, ERROR_KIND_ATTR, kind)
    return BackendError(message, kind=kind)


def _stats_recorder() -> Any:
    try:
        from rootspan.profilers.moe_stats import record_moe_stats
    except ImportError:
        return None
    return record_moe_stats


class MoEBackend:
    """Greedy (or sampled) generation with the local MoE model; one call at a time per model."""

    native_tools = False

    def __init__(
        self,
        checkpoint: str | Path = DEMO_CHECKPOINT,
        device: str = "cpu",
        model_name: str | None = None,
        collect_stats: bool | None = None,
        dtype: str | None = None,
    ) -> None:
        import torch

        from rootspan.agents.moe import load_checkpoint, load_tokenizer

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError("CUDA is not available on this machine", kind="resource_exhausted")
        self.checkpoint = Path(checkpoint)
        self.device = device
        # ``model`` is the name on the chat span (Backend protocol); ``net`` is the torch module.
        # bf16 on GPU: grouped GEMMs (and with them CUDA-graph decode) need it; fp32 on CPU.
        dtype = dtype or ("bfloat16" if device.startswith("cuda") else "float32")
        self.net = load_checkpoint(self.checkpoint, device=device, dtype=getattr(torch, dtype)).eval()
        self.tokenizer = load_tokenizer(self.checkpoint)
        self.model = model_name or self.checkpoint.name
        eos = self.net.config.eos_ids
        self.eos_id = eos[0] if eos else None
        # Counters force host syncs and disable CUDA graphs, so they default to off on GPU.
        self.collect_stats = (not device.startswith("cuda")) if collect_stats is None else collect_stats
        self._record = _stats_recorder()
        self._lock = threading.Lock()
        # None: the generator decides (graphs on CUDA when usable); False forces eager decode.
        self.cuda_graphs: bool | None = None

    @property
    def provider(self) -> str:
        return "rootspan-moe"

    def graphs_usable(self) -> bool:
        """Whether decode can run as a CUDA graph here (CUDA, no counters, a sync-free dispatch)."""
        from rootspan.agents.moe.generation import graphs_usable

        self.net.collect_stats(self.collect_stats)
        return self.cuda_graphs is not False and graphs_usable(self.net)

    def prompt_of(self, messages: list[dict[str, Any]]) -> str:
        return "".join(str(m.get("content", "")) for m in messages if m.get("role") != "system")

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def decode(self, ids: list[int]) -> str:
        return "".join(self.tokenizer.id_to_token(i) or "" for i in ids)

    def complete(self, messages: list[dict[str, Any]], *, call: Any = None, **options: Any) -> Completion:
        from rootspan.agents.moe import generate

        prompt = self.prompt_of(messages)
        ids = self.encode(prompt)
        if not ids:
            raise _fail(call, "empty prompt after tokenization", "exception")
        max_tokens = int(options.get("max_tokens") or 32)
        temperature = float(options.get("temperature") or 0.0)
        set_span_attribute(call, DEVICE_ATTR, self.device)
        stats = self.collect_stats or bool(options.get("collect_stats"))
        with self._lock:
            model = self.net
            model.collect_stats(stats)
            started = time.perf_counter()
            try:
                out = generate(
                    model,
                    [ids],
                    max_new_tokens=max_tokens,
                    temperature=temperature,
                    seed=options.get("seed"),
                    eos_token_id=self.eos_id,
                    cuda_graph=options.get("cuda_graph", self.cuda_graphs),
                )
                if self.device.startswith("cuda"):
                    import torch

                    torch.cuda.synchronize()
            except RuntimeError as exc:
                kind = "resource_exhausted" if "out of memory" in str(exc).lower() else "exception"
                first_line = (str(exc).splitlines() or [type(exc).__name__])[0]  # a bare RuntimeError() has no text
                raise _fail(call, f"generation failed: {first_line}", kind) from exc
            elapsed = time.perf_counter() - started
            row = out[0].tolist()
            if stats and call is not None and self._record is not None:
                self._record(call.span, model.moe_stats())
        finish = "length"
        if self.eos_id is not None and self.eos_id in row:
            row = row[: row.index(self.eos_id) + 1]
            finish = "stop"
        text = self.decode([t for t in row if t != self.eos_id])
        return Completion(
            text=text,
            input_tokens=len(ids),
            output_tokens=len(row),
            finish_reason=finish,
            model=self.model,
            extra={"generate_s": elapsed},
        )
