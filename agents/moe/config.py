"""The model's hyper-parameters as one dataclass, read from and written to HF's config.json."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from rootspan.errors import UserError

# Expert dispatch methods (see dispatch.py); "auto" picks by device, dtype and torch version.
DISPATCH_METHODS = ("auto", "grouped_mm", "sorted", "loop")
# MLA attention paths (see attention.py); "auto" = naive for prefill, absorbed for decode.
ATTENTION_PATHS = ("auto", "naive", "absorbed")


@dataclass
class MoEConfig:
    """DeepSeek-V2/V3 dimensions and routing rules, with defaults for a tiny test model."""

    model_type: str = "deepseek_v3"
    vocab_size: int = 256
    hidden_size: int = 64
    intermediate_size: int = 128
    moe_intermediate_size: int = 32
    num_hidden_layers: int = 3
    num_attention_heads: int = 4
    n_shared_experts: int = 1
    n_routed_experts: int = 8
    num_experts_per_tok: int = 2
    first_k_dense_replace: int = 1
    moe_layer_freq: int = 1
    kv_lora_rank: int = 32
    q_lora_rank: int | None = 48
    qk_nope_head_dim: int = 16
    qk_rope_head_dim: int = 8
    v_head_dim: int = 16
    scoring_func: str = "sigmoid"
    topk_method: str = "noaux_tc"
    n_group: int = 2
    topk_group: int = 1
    norm_topk_prob: bool = True
    routed_scaling_factor: float = 2.5
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    rope_scaling: dict[str, Any] | None = None
    rope_interleave: bool = True
    max_position_embeddings: int = 2048
    tie_word_embeddings: bool = False
    num_nextn_predict_layers: int = 0
    hidden_act: str = "silu"
    initializer_range: float = 0.02
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 1
    pad_token_id: int | None = None
    torch_dtype: str = "float32"
    # Runtime choices, not architecture: kept out of config.json.
    dispatch: str = "auto"
    attention: str = "auto"

    def __post_init__(self) -> None:
        if self.dispatch not in DISPATCH_METHODS:
            raise UserError(f"unknown dispatch method {self.dispatch!r}; use one of {', '.join(DISPATCH_METHODS)}")
        if self.attention not in ATTENTION_PATHS:
            raise UserError(f"unknown attention path {self.attention!r}; use one of {', '.join(ATTENTION_PATHS)}")
        if self.scoring_func not in ("softmax", "sigmoid"):
            raise UserError(f"unsupported scoring_func {self.scoring_func!r} (softmax or sigmoid)")
        if self.topk_method not in ("greedy", "group_limited_greedy", "noaux_tc"):
            raise UserError(f"unsupported topk_method {self.topk_method!r}")
        if self.topk_method != "greedy" and (not self.n_group or self.n_routed_experts % self.n_group):
            raise UserError(f"n_routed_experts={self.n_routed_experts} must split into n_group={self.n_group} groups")
        if self.hidden_act != "silu":
            raise UserError(f"unsupported hidden_act {self.hidden_act!r} (only silu)")

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    def is_moe_layer(self, index: int) -> bool:
        """DeepSeek's rule: dense for the first k layers, then MoE every moe_layer_freq layers."""
        return (
            self.n_routed_experts > 0
            and index >= self.first_k_dense_replace
            and index % self.moe_layer_freq == 0
        )

    @property
    def eos_ids(self) -> list[int]:
        if self.eos_token_id is None:
            return []
        return list(self.eos_token_id) if isinstance(self.eos_token_id, list) else [self.eos_token_id]

    @classmethod
    def from_hf_config(cls, hf: dict[str, Any], **overrides: Any) -> MoEConfig:
        """Read a DeepSeek-V2/V2-Lite/V3 config.json (original remote-code or transformers 5 layout)."""
        model_type = hf.get("model_type", "deepseek_v3")
        if model_type not in ("deepseek_v2", "deepseek_v3"):
            raise UserError(f"config.json model_type {model_type!r} is not deepseek_v2 or deepseek_v3")
        is_v3 = model_type == "deepseek_v3"
        names = {f.name for f in dataclasses.fields(cls)} - {"rope_scaling", "rope_theta"}
        kwargs: dict[str, Any] = {k: hf[k] for k in names if k in hf and hf[k] is not None}
        kwargs["model_type"] = model_type
        kwargs.setdefault("scoring_func", "sigmoid" if is_v3 else "softmax")
        kwargs.setdefault("topk_method", "noaux_tc" if is_v3 else "greedy")
        kwargs.setdefault("norm_topk_prob", is_v3)
        kwargs.setdefault("routed_scaling_factor", 2.5 if is_v3 else 1.0)
        kwargs.setdefault("first_k_dense_replace", 3 if is_v3 else 0)
        kwargs.setdefault("num_nextn_predict_layers", hf.get("num_mtp_layers", 0) or 0)
        if "q_lora_rank" in hf:
            kwargs["q_lora_rank"] = hf["q_lora_rank"]
        if kwargs["topk_method"] == "greedy":
            kwargs.setdefault("n_group", 1)
            kwargs.setdefault("topk_group", 1)
        if "torch_dtype" not in kwargs and "dtype" in hf:
            kwargs["torch_dtype"] = hf["dtype"]
        # transformers 5 keeps rope settings in rope_parameters; older files use rope_theta + rope_scaling.
        rope = dict(hf.get("rope_parameters") or {})
        scaling = dict(hf.get("rope_scaling") or {})
        kwargs["rope_theta"] = float(rope.get("rope_theta", hf.get("rope_theta", 10000.0)))
        rope_type = rope.get("rope_type", scaling.get("rope_type", scaling.get("type", "default")))
        if rope_type == "yarn":
            src = rope if rope.get("rope_type") == "yarn" else scaling
            kwargs["rope_scaling"] = {k: v for k, v in src.items() if k not in ("rope_theta", "type")}
            kwargs["rope_scaling"]["rope_type"] = "yarn"
        elif rope_type != "default":
            raise UserError(f"unsupported rope type {rope_type!r} (default or yarn)")
        kwargs.update(overrides)
        return cls(**kwargs)

    def to_hf_config(self) -> dict[str, Any]:
        """A config.json that both our loader and transformers' DeepseekV2/V3 classes read."""
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("dispatch", "attention", "rope_scaling", "rope_theta", "torch_dtype")
        }
        is_v3 = self.model_type == "deepseek_v3"
        out["architectures"] = ["DeepseekV3ForCausalLM" if is_v3 else "DeepseekV2ForCausalLM"]
        out["num_key_value_heads"] = self.num_attention_heads
        out["dtype"] = self.torch_dtype
        rope: dict[str, Any] = {"rope_theta": self.rope_theta, "rope_type": "default"}
        if self.rope_scaling:
            rope.update(self.rope_scaling)
            rope["rope_type"] = "yarn"
        out["rope_parameters"] = rope
        if not is_v3:
            out.pop("rope_interleave")
            if self.topk_method == "greedy":
                out["n_group"] = None
                out["topk_group"] = None
        return out
