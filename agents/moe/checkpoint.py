"""HF-format checkpoints: load/save config.json + safetensors (sharded or not), DeepSeek names.

On disk, experts are per-expert tensors (mlp.experts.{e}.gate_proj.weight, ...), as DeepSeek
ships them and transformers 5 saves them; fused 3-D tensors (mlp.experts.gate_up_proj) are read
too. MTP depths live at model.layers.{num_hidden_layers + k}. Safetensors only: nothing is
unpickled.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from rootspan.agents.moe.config import MoEConfig
from rootspan.agents.moe.model import DeepseekMoEModel, init_weights
from rootspan.agents.moe.paths import allowed_roots, inside
from rootspan.errors import UserError
from rootspan.safe_write import write_atomic
from rootspan.text import printable

INDEX_FILE = "model.safetensors.index.json"
_MTP_SHARED = ("embed_tokens.weight", "shared_head.head.weight")  # duplicates of the main model's
# Our fused expert tensors (and their FP8 scales), which the checkpoint stores per expert.
_FUSED_EXPERTS = re.compile(r"(.*\.mlp\.experts)\.(gate_up_proj|down_proj)(_scale_inv)?$")


def _open_safetensors(path: Path):  # noqa: ANN202 - safetensors' handle type is not public
    """safe_open, with a damaged or unreadable file as a one-line UserError instead of an internal error."""
    try:
        return safe_open(path, "pt")
    except Exception as exc:  # SafetensorError (a bad header) is not importable under one stable name
        raise UserError(f"{path}: not a readable safetensors file ({exc})") from None


def _index_entry(root: Path, index: Path, name: object, fname: object, roots: list[Path]) -> Path:
    """One weight_map entry -> the shard's path, refusing any that leaves the checkpoint folder.

    A downloaded checkpoint is untrusted: an index naming ``/etc/...``, ``../other/x`` or a
    symlink out of the folder would make the loader open files the user never pointed it at.
    """
    shown = f"{printable(name)!r} -> {printable(fname)!r}"[:200]
    if not isinstance(name, str) or not isinstance(fname, str) or not fname:
        raise UserError(f"{index}: weight_map entry {shown} is not a tensor name -> file name pair")
    relative = PurePosixPath(fname)
    if relative.is_absolute() or PureWindowsPath(fname).is_absolute() or ".." in relative.parts or "\\" in fname:
        raise UserError(f"{index}: weight_map entry {shown} points outside the checkpoint folder")
    path = root / relative
    if not inside(path, roots):
        raise UserError(f"{index}: weight_map entry {shown} is a symbolic link to outside the checkpoint folder")
    return path


class TensorSource:
    """Lazy reader over one directory's safetensors files, by tensor name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        index = root / INDEX_FILE
        roots = allowed_roots(root)
        if os.path.lexists(index) and not inside(index, roots):
            raise UserError(f"{index}: a symbolic link to outside the checkpoint folder; not read")
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text())["weight_map"]
                items = list(weight_map.items())
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise UserError(f"{index}: not a safetensors index (no valid weight_map: {exc})") from None
            self.where = {name: _index_entry(root, index, name, fname, roots) for name, fname in items}
        else:
            files = sorted(root.glob("*.safetensors"))
            if not files:
                raise UserError(f"no .safetensors files in {root}")
            for f in files:
                if not inside(f, roots):
                    raise UserError(f"{f}: a symbolic link to outside the checkpoint folder; not read")
            self.where = {}
            for f in files:
                with _open_safetensors(f) as h:
                    for name in h.keys():
                        self.where[name] = f
        self._handles: dict[Path, object] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.where

    def names(self) -> Iterator[str]:
        return iter(self.where)

    def get(self, name: str) -> torch.Tensor:
        path = self.where.get(name)
        if path is None:
            raise UserError(f"checkpoint {self.root} is missing tensor {name}")
        if path not in self._handles:
            if not path.is_file():
                raise UserError(f"checkpoint {self.root} lists {path.name} for {name} but the file is missing")
            self._handles[path] = _open_safetensors(path)
        try:
            return self._handles[path].get_tensor(name)  # type: ignore[attr-defined]
        except Exception as exc:  # a data section cut short reads as a SafetensorError too
            raise UserError(f"{path}: cannot read tensor {name} ({exc})") from None


def read_config(path: str | Path) -> MoEConfig:
    root = Path(path)
    cfg = root / "config.json"
    if not cfg.is_file():
        raise UserError(f"{root} has no config.json (expected an HF-format checkpoint directory)")
    if not inside(cfg, allowed_roots(root)):
        raise UserError(f"{cfg}: a symbolic link to outside the checkpoint folder; not read")
    try:
        return MoEConfig.from_hf_config(json.loads(cfg.read_text()))
    except json.JSONDecodeError as e:
        raise UserError(f"{cfg} is not valid JSON: {e}") from None
    except TypeError as e:
        raise UserError(f"{cfg}: {e}") from None


def _file_name(ours: str, config: MoEConfig) -> str:
    """Our parameter name -> the checkpoint name (MTP depth k lives at layer L + k)."""
    m = re.match(r"mtp\.(\d+)\.(.*)", ours)
    if m:
        return f"model.layers.{config.num_hidden_layers + int(m.group(1))}.{m.group(2)}"
    return ours


def _check(name: str, t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    if tuple(t.shape) != tuple(shape):
        raise UserError(f"tensor {name} has shape {list(t.shape)}, expected {list(shape)}")
    return t


def _expert_tensor(src: TensorSource, prefix: str, which: str, shape: torch.Size, suffix: str) -> torch.Tensor:
    """Fused (E, 2I, H) gate_up or (E, H, I) down from fused or per-expert checkpoint tensors."""
    fused = f"{prefix}.{which}" + ("" if suffix == "weight" else "_scale_inv")
    if fused in src:
        return src.get(fused)
    e = shape[0]
    if which == "gate_up_proj":
        parts = [
            torch.cat((src.get(f"{prefix}.{i}.gate_proj.{suffix}"), src.get(f"{prefix}.{i}.up_proj.{suffix}")), 0)
            for i in range(e)
        ]
    else:
        parts = [src.get(f"{prefix}.{i}.down_proj.{suffix}") for i in range(e)]
    return torch.stack(parts)


def load_state(model: DeepseekMoEModel, src: TensorSource, device: torch.device | str, dtype: torch.dtype) -> None:
    """Fill every parameter/buffer of `model` (possibly on meta) from the checkpoint."""
    config = model.config
    from rootspan.agents.moe.fp8 import load_tensor_hook

    targets = dict(model.named_parameters())
    targets.update({n: b for n, b in model.named_buffers() if n.endswith("e_score_correction_bias") or n.endswith("_scale_inv")})
    new: dict[str, torch.Tensor] = {}
    for ours, current in targets.items():
        name = _file_name(ours, config)
        m = _FUSED_EXPERTS.match(name)
        if m:
            suffix = "weight_scale_inv" if m.group(3) else "weight"
            t = _expert_tensor(src, m.group(1), m.group(2), current.shape, suffix)
        elif ours == "lm_head.weight" and config.tie_word_embeddings and name not in src:
            t = src.get("model.embed_tokens.weight")
        elif name.endswith("e_score_correction_bias") and config.scoring_func == "softmax" and name not in src:
            t = torch.zeros(current.shape)  # V2 checkpoints have no bias; softmax routing never reads it
        else:
            t = src.get(name)
        t = _check(name, t, current.shape)
        new[ours] = load_tensor_hook(ours, t, current, device, dtype)
    model.load_state_dict(new, strict=False, assign=True)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight


def load_checkpoint(
    path: str | Path,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    *,
    dispatch: str | None = None,
    attention: str | None = None,
) -> DeepseekMoEModel:
    """An HF-format directory -> a ready model in eval mode. FP8 checkpoints (weight_scale_inv)
    load as FP8 layers; everything else is cast to `dtype`."""
    root = Path(path)
    if not root.is_dir():
        if root.exists():
            raise UserError(f"{root} is a file; a checkpoint is a directory (config.json + safetensors)")
        raise UserError(f"checkpoint directory {root} does not exist")
    overrides = {k: v for k, v in (("dispatch", dispatch), ("attention", attention)) if v is not None}
    config = read_config(root)
    for k, v in overrides.items():
        setattr(config, k, v)
    config.__post_init__()
    src = TensorSource(root)
    if config.num_nextn_predict_layers and f"model.layers.{config.num_hidden_layers}.eh_proj.weight" not in src:
        # transformers declares num_nextn_predict_layers but drops the MTP weights on save.
        config.num_nextn_predict_layers = 0
    from rootspan.agents.moe.fp8 import convert_to_fp8_layout, is_fp8_checkpoint

    with torch.device("meta"):
        model = DeepseekMoEModel(config)
    if is_fp8_checkpoint(src):
        convert_to_fp8_layout(model, lambda ours: _file_name(ours, config) in src, dtype)
    load_state(model, src, device, dtype)
    model.rotary.inv_freq = _rebuilt_inv_freq(config, device)
    return model.eval()


def materialize(model: DeepseekMoEModel, device: torch.device | str) -> DeepseekMoEModel:
    """A model built on meta -> uninitialised storage on `device` (no host copy of big weights),
    with the rope table rebuilt and tied embeddings re-tied."""
    model = model.to_empty(device=device)
    model.rotary.inv_freq = _rebuilt_inv_freq(model.config, device)
    if model.config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model


def _rebuilt_inv_freq(config: MoEConfig, device: torch.device | str) -> torch.Tensor:
    from rootspan.agents.moe.rope import RotaryEmbedding

    r = RotaryEmbedding(
        config.qk_rope_head_dim, config.rope_theta, config.rope_scaling,
        config.max_position_embeddings, config.rope_interleave,
    )
    return r.inv_freq.to(device)


def checkpoint_tensors(model: DeepseekMoEModel) -> dict[str, torch.Tensor]:
    """Our state -> checkpoint names, with per-expert tensors and MTP's shared copies."""
    config = model.config
    out: dict[str, torch.Tensor] = {}
    state = model.state_dict()
    for ours, t in state.items():
        if ours == "lm_head.weight" and config.tie_word_embeddings:
            continue
        name = _file_name(ours, config)
        m = _FUSED_EXPERTS.match(name)
        if m:
            prefix, which, scale = m.group(1), m.group(2), m.group(3)
            suffix = "weight_scale_inv" if scale else "weight"
            for e in range(t.shape[0]):
                if which == "gate_up_proj":
                    gate, up = t[e].chunk(2, dim=0)
                    out[f"{prefix}.{e}.gate_proj.{suffix}"] = gate
                    out[f"{prefix}.{e}.up_proj.{suffix}"] = up
                else:
                    out[f"{prefix}.{e}.down_proj.{suffix}"] = t[e]
        elif name.endswith("e_score_correction_bias"):
            if config.scoring_func == "sigmoid":
                out[name] = t.float()  # HF and DeepSeek keep the routing bias in fp32
        else:
            out[name] = t
    for k in range(config.num_nextn_predict_layers):
        base = f"model.layers.{config.num_hidden_layers + k}."
        out[base + _MTP_SHARED[0]] = state["model.embed_tokens.weight"]
        out[base + _MTP_SHARED[1]] = state.get("lm_head.weight", state["model.embed_tokens.weight"])
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in out.items()}


def _save_tensors(tensors: dict[str, torch.Tensor], root: Path, fname: str) -> None:
    """safetensors' save_file into a fresh private folder inside ``root``, then renamed into place:
    save_file opens its path following symlinks, so it never gets the final name directly."""
    staging = tempfile.mkdtemp(prefix=".rootspan-save-", dir=root)  # 0700, exclusive, random name
    try:
        staged = os.path.join(staging, fname)
        save_file(tensors, staged, metadata={"format": "pt"})
        os.chmod(staged, 0o666 & ~_umask())
        os.replace(staged, root / fname)
    finally:
        for leftover in Path(staging).iterdir():
            leftover.unlink()
        os.rmdir(staging)


def _umask() -> int:
    """The process umask. Python has no getter; Linux shows it in /proc, elsewhere it is read by
    setting and restoring it (briefly process-wide, so only where /proc cannot tell)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_checkpoint(model: DeepseekMoEModel, path: str | Path, max_shard_bytes: int | None = None) -> Path:
    """Write config.json + model.safetensors (or shards + model.safetensors.index.json).

    Every file is written under a fresh name and renamed into place, so a symlink already at
    one of these names is replaced, never written through.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    tensors = checkpoint_tensors(model)
    hf = model.config.to_hf_config()
    if any(n.endswith("weight_scale_inv") for n in tensors):
        hf["quantization_config"] = {
            "quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128],
        }
    write_atomic(root / "config.json", json.dumps(hf, indent=2) + "\n")
    if max_shard_bytes is None:
        _save_tensors(tensors, root, "model.safetensors")
        return root
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
    weight_map = {}
    for i, shard in enumerate(shards, 1):
        fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        _save_tensors(shard, root, fname)
        weight_map.update({n: fname for n in shard})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    write_atomic(root / INDEX_FILE, json.dumps(index, indent=2) + "\n")
    return root


def write_random_checkpoint(
    path: str | Path,
    config: MoEConfig | None = None,
    *,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    max_shard_bytes: int | None = None,
    std: float | None = None,
) -> Path:
    """A checkpoint with random weights (HF's init, std = config.initializer_range unless given)
    in the same format, for tests and benchmarks."""
    config = dataclasses.replace(config or MoEConfig(), torch_dtype=str(dtype).removeprefix("torch."))
    with torch.device("meta"):
        model = DeepseekMoEModel(config)
    model = materialize(model, "cpu")
    init_weights(model, std=config.initializer_range if std is None else std, seed=seed)
    return save_checkpoint(model.to(dtype), path, max_shard_bytes=max_shard_bytes)
