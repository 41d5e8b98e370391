"""Named model dimensions: tiny test models, the CPU benchmark model, and DeepSeek-V2-Lite."""

from __future__ import annotations

from rootspan.agents.moe.config import MoEConfig
from rootspan.errors import UserError


def preset_config(name: str) -> MoEConfig:
    if name == "tiny-v3":
        return MoEConfig()
    if name == "tiny-v2":
        return MoEConfig(
            model_type="deepseek_v2", q_lora_rank=None, scoring_func="softmax", topk_method="greedy",
            n_group=1, topk_group=1, norm_topk_prob=False, routed_scaling_factor=1.0,
        )
    if name == "bench-cpu":
        # V2-Lite's shape (softmax top-k, no q LoRA, 2 shared experts) scaled down to run in seconds.
        return MoEConfig(
            model_type="deepseek_v2", vocab_size=4096, hidden_size=256, intermediate_size=768,
            moe_intermediate_size=128, num_hidden_layers=4, num_attention_heads=4, n_shared_experts=2,
            n_routed_experts=16, num_experts_per_tok=4, first_k_dense_replace=1, kv_lora_rank=64,
            q_lora_rank=None, qk_nope_head_dim=32, qk_rope_head_dim=16, v_head_dim=32,
            scoring_func="softmax", topk_method="greedy", n_group=1, topk_group=1, norm_topk_prob=False,
            routed_scaling_factor=1.0, max_position_embeddings=4096, eos_token_id=None,
        )
    if name == "v2-lite":
        return MoEConfig(
            model_type="deepseek_v2", vocab_size=102400, hidden_size=2048, intermediate_size=10944,
            moe_intermediate_size=1408, num_hidden_layers=27, num_attention_heads=16, n_shared_experts=2,
            n_routed_experts=64, num_experts_per_tok=6, first_k_dense_replace=1, kv_lora_rank=512,
            q_lora_rank=None, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
            scoring_func="softmax", topk_method="greedy", n_group=1, topk_group=1, norm_topk_prob=False,
            routed_scaling_factor=1.0, max_position_embeddings=163840, rope_theta=10000.0,
            rope_scaling={
                "rope_type": "yarn", "factor": 40.0, "original_max_position_embeddings": 4096,
                "beta_fast": 32, "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707,
            },
            bos_token_id=100000, eos_token_id=None,
        )
    raise UserError(f"unknown preset {name!r}; use tiny-v3, tiny-v2, bench-cpu or v2-lite")
