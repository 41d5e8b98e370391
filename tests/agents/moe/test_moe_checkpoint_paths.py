"""A checkpoint's index cannot make the loader open files outside the checkpoint folder.

Real random checkpoints (sharded, so they have a model.safetensors.index.json), edited the way a
malicious download would be; loaded through ``rootspan moe generate``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")

from rootspan.agents.moe import load_checkpoint, write_random_checkpoint  # noqa: E402
from rootspan.cli import run  # noqa: E402
from rootspan.errors import UserError  # noqa: E402

INDEX = "model.safetensors.index.json"


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    return write_random_checkpoint(tmp_path_factory.mktemp("ckpt") / "model", seed=0, max_shard_bytes=40_000)


def _copy(sharded: Path, tmp_path: Path) -> tuple[Path, dict]:
    checkpoint = tmp_path / "model"
    shutil.copytree(sharded, checkpoint, symlinks=True)
    return checkpoint, json.loads((checkpoint / INDEX).read_text())


def _point(checkpoint: Path, index: dict, target: str) -> str:
    name = next(iter(index["weight_map"]))
    index["weight_map"][name] = target
    (checkpoint / INDEX).write_text(json.dumps(index))
    return name


def _generate(checkpoint: Path, capsys) -> tuple[int, str]:
    code = run(["moe", "generate", str(checkpoint), "--ids", "1,2,3", "-n", "1"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_the_untouched_sharded_checkpoint_generates(sharded: Path, capsys) -> None:
    assert _generate(sharded, capsys)[0] == 0


@pytest.mark.parametrize("where", ["absolute", "dotdot", "dotdot-inside-path", "backslash"])
def test_entries_pointing_outside_are_a_one_line_error_naming_the_entry(sharded: Path, tmp_path: Path, capsys, where) -> None:
    checkpoint, index = _copy(sharded, tmp_path)
    shard = next(iter(index["weight_map"].values()))
    outside = tmp_path / "outside.safetensors"
    shutil.copy(checkpoint / shard, outside)  # a valid file: only the path may be refused
    target = {
        "absolute": str(outside),
        "dotdot": "../outside.safetensors",
        "dotdot-inside-path": "sub/../../outside.safetensors",
        "backslash": "..\\outside.safetensors",
    }[where]
    name = _point(checkpoint, index, target)
    code, err = _generate(checkpoint, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rootspan: error:"), err
    assert name in lines[0] and "points outside the checkpoint folder" in lines[0]


def test_a_shard_symlinked_out_of_the_folder_is_refused(sharded: Path, tmp_path: Path, capsys) -> None:
    checkpoint, index = _copy(sharded, tmp_path)
    shard = next(iter(index["weight_map"].values()))
    outside = tmp_path / "elsewhere" / shard
    outside.parent.mkdir()
    (checkpoint / shard).rename(outside)
    (checkpoint / shard).symlink_to(outside)
    code, err = _generate(checkpoint, capsys)
    assert code == 2 and "symbolic link to outside the checkpoint folder" in err and shard in err


def test_symlinks_inside_the_folder_and_into_a_hub_cache_blobs_folder_load(sharded: Path, tmp_path: Path, capsys) -> None:
    # the Hugging Face hub cache: snapshots/<rev>/<file> -> ../../blobs/<hash>
    repo = tmp_path / "models--org--tiny"
    snapshot = repo / "snapshots" / "0123abc"
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for item in sharded.iterdir():
        blob = repo / "blobs" / f"blob-{item.name}"
        shutil.copy(item, blob)
        (snapshot / item.name).symlink_to(Path("../../blobs") / blob.name)
    assert _generate(snapshot, capsys)[0] == 0
    # the same links from a folder that is not a hub snapshot are refused
    plain = tmp_path / "plain"
    plain.mkdir()
    for item in snapshot.iterdir():
        (plain / item.name).symlink_to(item.resolve())
    with pytest.raises(UserError, match="outside the checkpoint folder"):
        load_checkpoint(plain)


def test_an_index_that_is_not_a_name_map_is_a_one_line_error(sharded: Path, tmp_path: Path, capsys) -> None:
    checkpoint, index = _copy(sharded, tmp_path)
    name = _point(checkpoint, index, 5)  # type: ignore[arg-type]
    code, err = _generate(checkpoint, capsys)
    assert code == 2 and name in err and "not a tensor name -> file name pair" in err
    (checkpoint / INDEX).write_text('{"weight_map": ["a list"]}')
    code, err = _generate(checkpoint, capsys)
    assert code == 2 and "no valid weight_map" in err


def test_an_unindexed_checkpoint_with_a_file_symlinked_out_is_refused(tmp_path: Path, capsys) -> None:
    checkpoint = write_random_checkpoint(tmp_path / "single", seed=0)
    outside = tmp_path / "elsewhere.safetensors"
    (checkpoint / "model.safetensors").rename(outside)
    (checkpoint / "model.safetensors").symlink_to(outside)
    code, err = _generate(checkpoint, capsys)
    assert code == 2 and "model.safetensors: a symbolic link to outside the checkpoint folder" in err


@pytest.mark.parametrize("shards", [None, 40_000])
def test_saving_replaces_planted_symlinks_instead_of_writing_through_them(sharded: Path, tmp_path: Path, capsys,
                                                                          shards) -> None:
    # (`rootspan moe random -o` refuses a non-empty folder outright; save_checkpoint, used by
    # training and quantisation, writes into existing ones)
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file\n")
    out = tmp_path / "ckpt"
    out.mkdir()
    names = sorted(p.name for p in sharded.iterdir()) if shards else ["config.json", "model.safetensors"]
    for name in names:  # every name the save is about to write
        (out / name).symlink_to(victim)
    write_random_checkpoint(out, seed=0, max_shard_bytes=shards)
    assert victim.read_text() == "the user's own file\n"
    assert sorted(path.name for path in out.iterdir()) == names  # no staging folder left
    assert not any(path.is_symlink() for path in out.iterdir())
    assert _generate(out, capsys)[0] == 0


def test_a_tokenizer_symlinked_out_of_the_folder_is_refused(sharded: Path, tmp_path: Path, capsys) -> None:
    checkpoint, _ = _copy(sharded, tmp_path)
    from rootspan.agents.moe import load_tokenizer

    outside = tmp_path / "tokenizer.json"
    outside.write_text("{}")
    (checkpoint / "tokenizer.json").symlink_to(outside)
    with pytest.raises(UserError, match="tokenizer.json: a symbolic link to outside the checkpoint folder"):
        load_tokenizer(checkpoint)
    assert run(["moe", "generate", str(checkpoint), "--prompt", "hi", "-n", "1"]) == 2
    assert "outside the checkpoint folder" in capsys.readouterr().err
