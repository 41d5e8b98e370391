"""rootspan's DeepSeek-V2/V3 Mixture-of-Experts backend: MLA, DeepSeekMoE, MTP, FP8, fast decode.

Public API (see DESIGN.md):
    model = load_checkpoint("dir", device="cpu", dtype=torch.float32)
    logits = model(input_ids)
    tokens = generate(model, input_ids, max_new_tokens=16)

Names load lazily (PEP 562) so that importing the CLI module rootspan.agents.moe.commands, which
lives in this package, does not import torch.
"""

from __future__ import annotations

from rootspan.lazy import lazy_exports

_EXPORTS = {
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "write_random_checkpoint": "checkpoint",
    "MoEConfig": "config",
    "quantize_checkpoint": "fp8",
    "quantize_model": "fp8",
    "generate": "generation",
    "sample": "generation",
    "DeepseekMoEModel": "model",
    "init_weights": "model",
    "update_routing_bias": "moe",
    "mtp_loss": "mtp",
    "training_loss": "mtp",
    "preset_config": "presets",
    "load_tokenizer": "tokenizer",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
