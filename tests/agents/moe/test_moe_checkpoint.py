"""Checkpoint loading/saving: sharding, fused vs per-expert names, errors, HF round trip, tokenizer."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from rootspan.agents.moe import MoEConfig, load_checkpoint, load_tokenizer, save_checkpoint, write_random_checkpoint
from rootspan.errors import UserError


def _ids() -> torch.Tensor:
    return torch.randint(0, 256, (2, 12), generator=torch.Generator().manual_seed(0))


def test_moe_sharded_checkpoint_loads_same_as_single_file(tmp_path):
    cfg = MoEConfig(num_nextn_predict_layers=1)
    write_random_checkpoint(tmp_path / "one", cfg, seed=3)
    write_random_checkpoint(tmp_path / "many", MoEConfig(num_nextn_predict_layers=1), seed=3, max_shard_bytes=40_000)
    index = json.loads((tmp_path / "many" / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 2
    assert "model.layers.1.mlp.experts.7.gate_proj.weight" in index["weight_map"]
    assert "model.layers.3.eh_proj.weight" in index["weight_map"]  # MTP at index num_hidden_layers
    a, b = load_checkpoint(tmp_path / "one"), load_checkpoint(tmp_path / "many")
    with torch.no_grad():
        torch.testing.assert_close(a(_ids()), b(_ids()), atol=1e-6, rtol=0)


def test_moe_fused_expert_tensors_load_like_per_expert(tmp_path):
    write_random_checkpoint(tmp_path / "a", seed=1)
    tensors = load_file(tmp_path / "a" / "model.safetensors")
    fused = {k: v for k, v in tensors.items() if ".mlp.experts." not in k}
    for layer in (1, 2):
        p = f"model.layers.{layer}.mlp.experts"
        fused[f"{p}.gate_up_proj"] = torch.stack(
            [torch.cat((tensors[f"{p}.{e}.gate_proj.weight"], tensors[f"{p}.{e}.up_proj.weight"])) for e in range(8)]
        )
        fused[f"{p}.down_proj"] = torch.stack([tensors[f"{p}.{e}.down_proj.weight"] for e in range(8)])
    (tmp_path / "b").mkdir()
    save_file(fused, tmp_path / "b" / "model.safetensors")
    (tmp_path / "b" / "config.json").write_text((tmp_path / "a" / "config.json").read_text())
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    with torch.no_grad():
        # Same weights; only BLAS paths may differ with the buffers' memory alignment.
        torch.testing.assert_close(a(_ids()), b(_ids()), atol=1e-6, rtol=0)


def _rewrite(path, edit):
    tensors = load_file(path / "model.safetensors")
    edit(tensors)
    save_file(tensors, path / "model.safetensors")


def test_moe_missing_tensor_is_one_line_user_error(tmp_path):
    write_random_checkpoint(tmp_path)
    _rewrite(tmp_path, lambda t: t.pop("model.layers.2.mlp.experts.5.up_proj.weight"))
    with pytest.raises(UserError, match=r"missing tensor model\.layers\.2\.mlp\.experts\.5\.up_proj\.weight") as e:
        load_checkpoint(tmp_path)
    assert "\n" not in str(e.value)


def test_moe_shape_mismatch_names_the_tensor(tmp_path):
    write_random_checkpoint(tmp_path)
    _rewrite(tmp_path, lambda t: t.__setitem__("model.layers.0.self_attn.kv_b_proj.weight", torch.zeros(3, 3)))
    with pytest.raises(UserError, match=r"kv_b_proj\.weight has shape \[3, 3\], expected \[128, 32\]"):
        load_checkpoint(tmp_path)


def test_moe_bad_directories_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_checkpoint(tmp_path / "absent")
    with pytest.raises(UserError, match="no config.json"):
        load_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(UserError, match="not deepseek_v2 or deepseek_v3"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("damage", ["header", "tail", "index"])
def test_moe_damaged_safetensors_are_one_line_user_errors(tmp_path, damage):
    write_random_checkpoint(tmp_path)
    weights = tmp_path / "model.safetensors"
    data = weights.read_bytes()
    if damage == "header":
        weights.write_bytes(data[:1000])
    elif damage == "tail":
        weights.write_bytes(data[:-5000])
    else:
        (tmp_path / "model.safetensors.index.json").write_text("{not json")
    with pytest.raises(UserError) as e:
        load_checkpoint(tmp_path)
    assert "\n" not in str(e.value) and ("safetensors" in str(e.value))


def test_moe_saved_checkpoint_loads_in_hf_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    cfg = MoEConfig(num_attention_heads=4, initializer_range=0.1, rope_scaling={
        "rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 128, "mscale": 1.0,
        "mscale_all_dim": 1.0})
    write_random_checkpoint(tmp_path, cfg, seed=5)
    ours = load_checkpoint(tmp_path)
    hf = transformers.DeepseekV3ForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    with torch.no_grad():
        assert (hf(_ids()).logits - ours(_ids())).abs().max().item() <= 1e-4


def test_moe_reads_original_deepseek_v2_lite_config():
    hf = {
        "model_type": "deepseek_v2", "vocab_size": 102400, "hidden_size": 2048, "intermediate_size": 10944,
        "moe_intermediate_size": 1408, "num_hidden_layers": 27, "num_attention_heads": 16,
        "n_shared_experts": 2, "n_routed_experts": 64, "num_experts_per_tok": 6, "first_k_dense_replace": 1,
        "kv_lora_rank": 512, "q_lora_rank": None, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
        "v_head_dim": 128, "scoring_func": "softmax", "topk_method": "greedy", "n_group": 1, "topk_group": 1,
        "norm_topk_prob": False, "routed_scaling_factor": 1.0, "rope_theta": 10000,
        "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                         "beta_fast": 32, "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707},
    }
    cfg = MoEConfig.from_hf_config(hf)
    assert cfg.q_lora_rank is None and cfg.scoring_func == "softmax"
    assert cfg.rope_scaling["rope_type"] == "yarn" and cfg.rope_scaling["factor"] == 40
    assert MoEConfig.from_hf_config(cfg.to_hf_config()) == cfg


def test_moe_save_load_round_trip_keeps_trained_weights(tmp_path):
    from rootspan.agents.moe import DeepseekMoEModel

    model = DeepseekMoEModel(MoEConfig(num_nextn_predict_layers=1))
    with torch.no_grad():
        model.model.layers[1].mlp.gate.e_score_correction_bias.copy_(torch.linspace(-0.1, 0.1, 8))
    save_checkpoint(model, tmp_path)
    back = load_checkpoint(tmp_path)
    for (name, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), name


def test_moe_tokenizer_from_local_json(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {"<unk>": 0, "hello": 1, "world": 2}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    assert load_tokenizer(tmp_path).encode("hello world again").ids == [1, 2, 0]
    with pytest.raises(UserError, match="no tokenizer.json"):
        load_tokenizer(tmp_path / "nowhere")


def test_moe_config_rejects_bad_settings():
    with pytest.raises(UserError, match="unknown dispatch method"):
        MoEConfig(dispatch="fast")
    with pytest.raises(UserError, match="unknown attention path"):
        MoEConfig(attention="flash")
    with pytest.raises(UserError, match="must split into n_group"):
        MoEConfig(n_routed_experts=10, n_group=4)
    with pytest.raises(UserError, match="unsupported rope type"):
        MoEConfig.from_hf_config({"model_type": "deepseek_v3", "rope_parameters": {"rope_type": "llama3"}})
