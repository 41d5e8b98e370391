"""Benchmark: our DeepSeek MoE backend against HF transformers on identical random weights.

Measures prefill tokens/s, decode tokens/s at several batch sizes, peak memory, and how close
each figure is to the machine's limit measured in the same run: decode against weight bytes per
step over the copy bandwidth, prefill against FLOPs over the matmul rate. Run it with
`rootspan bench moe [--device cuda] [--json]` or `python benchmarks/bench_moe.py --json`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from rootspan.agents.moe.checkpoint import materialize
from rootspan.agents.moe.config import MoEConfig
from rootspan.agents.moe.generation import generate
from rootspan.agents.moe.model import DeepseekMoEModel, init_weights
from rootspan.agents.moe.presets import preset_config

CPU_DEFAULTS = {"preset": "bench-cpu", "prefill_len": 128, "prompt_len": 64, "new_tokens": 16}
CUDA_DEFAULTS = {"preset": "v2-lite", "prefill_len": 2048, "prompt_len": 512, "new_tokens": 128}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _best_time(fn: Callable[[], Any], device: torch.device, repeats: int) -> float:
    """Minimum wall time over repeats: on a shared machine the minimum is the least-disturbed run."""
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return best


def measure_copy_bandwidth(device: torch.device) -> float:
    """Bytes moved (read + write) per second by a large tensor copy."""
    n = (1 << 28) if device.type == "cuda" else (1 << 25)  # 1 GiB / 128 MiB of fp32
    src = torch.empty(n, dtype=torch.float32, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    t = _best_time(lambda: dst.copy_(src), device, 5)
    return 2 * n * 4 / t


def measure_matmul_rate(device: torch.device, dtype: torch.dtype) -> float:
    n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    t = _best_time(lambda: a @ b, device, 5)
    return 2 * n**3 / t


def build_ours(config: MoEConfig, device: torch.device, dtype: torch.dtype, seed: int) -> DeepseekMoEModel:
    with torch.device("meta"):
        model = DeepseekMoEModel(config).to(dtype)  # cast on meta: never hold an fp32 copy on the device
    model = materialize(model, device)
    init_weights(model, std=config.initializer_range, seed=seed)
    for layer in model.model.layers:  # the routing bias stays fp32 (as in checkpoints)
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None:
            gate.e_score_correction_bias = gate.e_score_correction_bias.float()
    return model.eval()


def build_hf(ours: DeepseekMoEModel, experts: str) -> torch.nn.Module:
    """HF's model sharing our weight tensors (no copy): same names, same fused expert layout."""
    import transformers

    hf_cfg = ours.config.to_hf_config()
    cls_name = hf_cfg["architectures"][0]
    cfg_cls = transformers.DeepseekV3Config if "V3" in cls_name else transformers.DeepseekV2Config
    keys = {k: v for k, v in hf_cfg.items() if k not in ("architectures", "model_type", "dtype")}
    cfg = cfg_cls(**keys)
    cfg._experts_implementation = experts
    with torch.device("meta"):
        hf = getattr(transformers, cls_name)(cfg)
    state = {k: v for k, v in ours.state_dict().items() if not k.startswith("mtp.")}
    hf.load_state_dict(state, strict=False, assign=True)
    device = ours.device
    rotary_cls = type(hf.model.rotary_emb)
    with torch.device(device):
        hf.model.rotary_emb = rotary_cls(config=hf.config)
    hf.set_experts_implementation(experts)
    return hf.eval()


def weight_bytes_per_decode_step(model: DeepseekMoEModel, batch: int) -> float:
    """Bytes of weights a decode step must read: everything but the embedding table, with the
    routed experts counted as the expected number hit by `batch` tokens under uniform routing."""
    c = model.config
    total = 0.0
    for name, p in model.named_parameters():
        if name.startswith("mtp.") or name == "model.embed_tokens.weight":
            continue
        nbytes = p.numel() * p.element_size()
        if ".mlp.experts." in name:
            hit = c.n_routed_experts * (1 - (1 - c.num_experts_per_tok / c.n_routed_experts) ** batch)
            nbytes *= hit / c.n_routed_experts
        total += nbytes
    return total


def prefill_flops(config: MoEConfig, tokens: int) -> float:
    """Matmul FLOPs of a causal prefill: 2 x active weights per token, plus attention scores and values."""
    c = config
    h, nh = c.hidden_size, c.num_attention_heads
    q = h * nh * c.qk_head_dim if c.q_lora_rank is None else h * c.q_lora_rank + c.q_lora_rank * nh * c.qk_head_dim
    attn = q + h * (c.kv_lora_rank + c.qk_rope_head_dim) + c.kv_lora_rank * nh * (c.qk_nope_head_dim + c.v_head_dim)
    attn += nh * c.v_head_dim * h
    per_token = 0.0
    for i in range(c.num_hidden_layers):
        if c.is_moe_layer(i):
            ffn = 3 * h * c.moe_intermediate_size * (c.num_experts_per_tok + c.n_shared_experts) + h * c.n_routed_experts
        else:
            ffn = 3 * h * c.intermediate_size
        per_token += attn + ffn
    per_token += h * c.vocab_size
    causal_pairs = tokens * (tokens + 1) / 2
    attn_core = 2 * causal_pairs * nh * (c.qk_head_dim + c.v_head_dim) * c.num_hidden_layers
    return 2 * per_token * tokens + attn_core


def _peak_reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def _peak(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated())
    # Linux reports ru_maxrss in KiB: the process's high-water mark so far, not per measurement.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def _ours_prefill(model: DeepseekMoEModel, ids: torch.Tensor) -> Callable[[], Any]:
    def run() -> None:
        with torch.inference_mode():
            cache = model.new_cache(ids.shape[0], ids.shape[1])
            model.lm_head(model.step(ids, cache, 0, kv_len=ids.shape[1])[:, -1])

    return run


def _hf_prefill(hf: torch.nn.Module, ids: torch.Tensor) -> Callable[[], Any]:
    def run() -> None:
        with torch.inference_mode():
            hf(ids, use_cache=True, logits_to_keep=1)

    return run


def _decode_rate(gen: Callable[[int], Any], device: torch.device, batch: int, new_tokens: int, repeats: int) -> dict:
    """Decode tokens/s from generate(n) minus generate(1): the prefill and first token cancel out."""
    gen(2)  # warm-up (and CUDA-graph capture for our backend at this shape)
    t_one = _best_time(lambda: gen(1), device, repeats + 1)
    t_all = _best_time(lambda: gen(new_tokens), device, repeats)
    steps = new_tokens - 1
    sec = max(t_all - t_one, 1e-9)
    return {"seconds": sec, "tok_per_s": batch * steps / sec, "ms_per_step": 1e3 * sec / steps}


def run(
    device: str = "cpu",
    preset: str | None = None,
    prefill_len: int | None = None,
    prompt_len: int | None = None,
    new_tokens: int | None = None,
    batch_sizes: list[int] | None = None,
    with_hf: bool = True,
    fp8: bool = False,
    progress: bool = True,
    seed: int = 0,
    repeats: int = 2,
    threads: int | None = None,
    hf_experts: tuple[str, ...] = ("grouped_mm", "eager"),
) -> dict[str, Any]:
    dev = torch.device(device)
    if threads:
        torch.set_num_threads(threads)
    defaults = CUDA_DEFAULTS if dev.type == "cuda" else CPU_DEFAULTS
    preset = preset or defaults["preset"]
    prefill_len = prefill_len or defaults["prefill_len"]
    prompt_len = prompt_len or defaults["prompt_len"]
    new_tokens = new_tokens or defaults["new_tokens"]
    batch_sizes = batch_sizes or [1, 16]
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    say = (lambda msg: print(f"[bench moe] {msg}", file=sys.stderr, flush=True)) if progress else (lambda msg: None)

    config = preset_config(preset)
    config.max_position_embeddings = max(config.max_position_embeddings, prefill_len + prompt_len + new_tokens)
    say(f"measuring {device} limits")
    bandwidth = measure_copy_bandwidth(dev)
    matmul_rate = measure_matmul_rate(dev, dtype)
    say(f"building {preset} ({dtype}) with random weights")
    ours = build_ours(config, dev, dtype, seed)
    gen_ids = torch.Generator(device="cpu").manual_seed(seed)
    prefill_ids = torch.randint(0, config.vocab_size, (1, prefill_len), generator=gen_ids).to(dev)
    prompts = {b: torch.randint(0, config.vocab_size, (b, prompt_len), generator=gen_ids).to(dev) for b in batch_sizes}
    flops = prefill_flops(config, prefill_len)
    results: list[dict[str, Any]] = []

    def record(impl: str, phase: str, batch: int, tokens: int, timing: dict, peak: int) -> dict:
        row = {"impl": impl, "phase": phase, "batch": batch, "tokens": tokens, **timing, "peak_memory_bytes": peak}
        if phase == "prefill":
            row["fraction_of_matmul_limit"] = (flops / matmul_rate) / timing["seconds"]
        else:
            floor = weight_bytes_per_decode_step(ours, batch) / bandwidth
            row["fraction_of_bandwidth_limit"] = floor / (timing["ms_per_step"] / 1e3)
        results.append(row)
        say(f"{impl:16s} {phase:7s} b{batch:<3d} {timing['tok_per_s']:10.1f} tok/s")
        return row

    def measure(impl: str, prefill: Callable[[], Any], gen_for: Callable[[torch.Tensor], Callable[[int], Any]]) -> None:
        _peak_reset(dev)
        prefill()
        sec = _best_time(prefill, dev, repeats)
        record(impl, "prefill", 1, prefill_len, {"seconds": sec, "tok_per_s": prefill_len / sec}, _peak(dev))
        for b in batch_sizes:
            _peak_reset(dev)
            timing = _decode_rate(gen_for(prompts[b]), dev, b, new_tokens, repeats)
            record(impl, "decode", b, new_tokens, timing, _peak(dev))

    measure("ours", _ours_prefill(ours, prefill_ids), lambda p: (lambda n: generate(ours, p, n)))
    if with_hf:
        for experts in hf_experts:
            hf = build_hf(ours, experts)

            def hf_gen(p: torch.Tensor, hf: torch.nn.Module = hf) -> Callable[[int], Any]:
                mask = torch.ones_like(p)
                return lambda n: hf.generate(
                    p, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=0
                )

            measure(f"hf-{experts}", _hf_prefill(hf, prefill_ids), hf_gen)
            del hf
            gc.collect()
    if fp8:
        from rootspan.agents.moe.fp8 import quantize_model

        quantize_model(ours, dtype)
        measure("ours-fp8", _ours_prefill(ours, prefill_ids), lambda p: (lambda n: generate(ours, p, n)))

    def rate(impl: str, phase: str, batch: int = 1) -> float | None:
        for r in results:
            if (r["impl"], r["phase"], r["batch"]) == (impl, phase, batch):
                return r["tok_per_s"]
        return None

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a and b else None

    ours_b1 = next(r for r in results if (r["impl"], r["phase"], r["batch"]) == ("ours", "decode", batch_sizes[0]))
    return {
        "device": _device_name(dev),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "dtype": str(dtype).removeprefix("torch."),
        "config": {"preset": preset, **config.to_hf_config()},
        "prefill_len": prefill_len,
        "prompt_len": prompt_len,
        "new_tokens": new_tokens,
        "copy_bandwidth_bytes_per_s": bandwidth,
        "matmul_flops_per_s": matmul_rate,
        "results": results,
        "decode_speedup_vs_hf": ratio(rate("ours", "decode"), rate("hf-grouped_mm", "decode")),
        "decode_speedup_vs_hf_eager": ratio(rate("ours", "decode"), rate("hf-eager", "decode")),
        "prefill_speedup_vs_hf": ratio(rate("ours", "prefill"), rate("hf-grouped_mm", "prefill")),
        "decode_fraction_of_bandwidth_limit": ours_b1["fraction_of_bandwidth_limit"],
        "fp8_decode_speedup_vs_bf16": ratio(rate("ours-fp8", "decode"), rate("ours", "decode")),
    }


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{os.cpu_count()}-core CPU ({platform.processor() or platform.machine()}), torch {torch.__version__} CPU"


def format_table(result: dict[str, Any]) -> str:
    lines = [f"device: {result['device']}  dtype: {result['dtype']}  preset: {result['config']['preset']}"]
    lines.append(f"{'impl':16s} {'phase':8s} {'batch':>5s} {'tok/s':>10s} {'ms/step':>9s} {'of limit':>9s}")
    for r in result["results"]:
        frac = r.get("fraction_of_bandwidth_limit", r.get("fraction_of_matmul_limit"))
        ms = f"{r['ms_per_step']:.2f}" if "ms_per_step" in r else "-"
        lines.append(f"{r['impl']:16s} {r['phase']:8s} {r['batch']:5d} {r['tok_per_s']:10.1f} {ms:>9s} {frac:9.1%}")
    for key in ("decode_speedup_vs_hf", "decode_speedup_vs_hf_eager", "prefill_speedup_vs_hf", "fp8_decode_speedup_vs_bf16"):
        if result.get(key) is not None:
            lines.append(f"{key}: {result[key]:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--preset")
    ap.add_argument("--no-hf", action="store_true")
    ap.add_argument("--fp8", action="store_true")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args(argv)
    result = run(device=args.device, preset=args.preset, with_hf=not args.no_hf, fp8=args.fp8,
                 batch_sizes=[int(b) for b in args.batches.split(",")], progress=not args.json,
                 threads=args.threads)
    print(json.dumps(result, indent=2) if args.json else format_table(result))


if __name__ == "__main__":
    main()
