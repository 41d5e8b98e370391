"""Shared fixtures for the MoE backend tests: tiny HF DeepSeek-V2/V3 models saved to disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")


def tiny_hf_config(kind: str, **over):
    common = dict(
        vocab_size=128, hidden_size=64, intermediate_size=96, moe_intermediate_size=32,
        num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4, n_shared_experts=1,
        n_routed_experts=8, kv_lora_rank=32, qk_rope_head_dim=8, v_head_dim=16, qk_nope_head_dim=16,
        num_experts_per_tok=2, first_k_dense_replace=1, max_position_embeddings=256,
        initializer_range=0.1, eos_token_id=None, bos_token_id=None, pad_token_id=0,
    )
    if kind == "v2":
        common.update(q_lora_rank=None, topk_method="group_limited_greedy", n_group=4, topk_group=2,
                      routed_scaling_factor=1.0, norm_topk_prob=False)
        common.update(over)
        return transformers.DeepseekV2Config(**common)
    common.update(q_lora_rank=48, n_group=4, topk_group=2, norm_topk_prob=True, routed_scaling_factor=2.5,
                  rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                                   "original_max_position_embeddings": 64, "mscale": 1.0, "mscale_all_dim": 0.8,
                                   "beta_fast": 32, "beta_slow": 1})
    common.update(over)
    return transformers.DeepseekV3Config(**common)


def build_hf(kind: str, path: Path, seed: int = 0, **over):
    torch.manual_seed(seed)
    cfg = tiny_hf_config(kind, **over)
    cls = transformers.DeepseekV2ForCausalLM if kind == "v2" else transformers.DeepseekV3ForCausalLM
    model = cls(cfg).float().eval()
    if kind == "v3":
        with torch.no_grad():
            for layer in model.model.layers[cfg.first_k_dense_replace:]:
                layer.mlp.gate.e_score_correction_bias.copy_(torch.randn(cfg.n_routed_experts) * 0.05)
    model.save_pretrained(path)
    return model


# Variants beyond the two main oracles: V2 with q LoRA, YaRN and plain greedy top-k; V3 with
# half-split (non-interleaved) rope, one expert group and no renormalisation.
VARIANTS = {
    "v2": ("v2", {}),
    "v3": ("v3", {}),
    "v2-qlora-yarn": ("v2", dict(
        q_lora_rank=40, topk_method="greedy", n_group=None, topk_group=None, routed_scaling_factor=2.0,
        rope_parameters={"rope_type": "yarn", "rope_theta": 5000.0, "factor": 8.0,
                         "original_max_position_embeddings": 32, "mscale": 0.707, "mscale_all_dim": 0.707})),
    "v3-halfsplit": ("v3", dict(
        rope_interleave=False, n_group=1, topk_group=1, norm_topk_prob=False, routed_scaling_factor=1.5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
}


@pytest.fixture(scope="session")
def hf_pair(tmp_path_factory):
    """{variant: (hf_model, dir)}, built once per session."""
    out = {}
    for name, (kind, over) in VARIANTS.items():
        d = tmp_path_factory.mktemp(f"hf_{name}")
        out[name] = (build_hf(kind, d, **over), d)
    return out


@pytest.fixture(autouse=True)
def _one_thread():
    """These models are tiny: on the shared 2-core box, a second BLAS/OpenMP thread only adds
    contention (seconds of spin-wait per test), so the MoE tests run single-threaded."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
