"""The `rootspan moe ...` and `rootspan bench moe` commands, through the CLI's run()."""

from __future__ import annotations

import json

import pytest

cli = pytest.importorskip("rootspan.cli")


def test_moe_cli_random_generate_quantize(tmp_path, capsys):
    assert cli.run(["moe", "random", "-o", str(tmp_path / "m"), "--mtp", "1"]) == 0
    capsys.readouterr()
    assert cli.run(["moe", "generate", str(tmp_path / "m"), "--ids", "5,6,7", "-n", "4", "--mtp"]) == 0
    assert 1 <= len(capsys.readouterr().out.split()) <= 4
    assert cli.run(["moe", "quantize", str(tmp_path / "m"), "-o", str(tmp_path / "q")]) == 0
    header = (tmp_path / "q" / "model.safetensors").read_bytes()[:200_000].decode("latin-1")
    assert "weight_scale_inv" in header and "F8_E4M3" in header


def test_moe_cli_errors_are_one_line(tmp_path, capsys):
    assert cli.run(["moe", "generate", str(tmp_path / "missing"), "--ids", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rootspan: error: checkpoint directory") and err.count("\n") == 1
    assert cli.run(["bench", "moe", "--device", "tpu"]) == 2
    assert "unknown device" in capsys.readouterr().err
    for flags, message in [
        (["--batches", "0"], "--batches must be positive"),
        (["--batches", ","], "--batches must be positive"),
        (["--prompt-len", "-1"], "--prompt-len must be at least 1"),
        (["--prefill-len", "0"], "--prefill-len must be at least 1"),
        (["--rounds", "0"], "--rounds must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
    ]:
        assert cli.run(["bench", "moe", "--preset", "tiny-v2", *flags]) == 2, flags
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (flags, err)


def test_moe_bench_json_keys(capsys):
    code = cli.run(["bench", "moe", "--json", "--preset", "tiny-v2", "--prefill-len", "16", "--prompt-len", "8",
                    "--new-tokens", "3", "--batches", "1,2"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("device", "config", "results", "decode_speedup_vs_hf", "prefill_speedup_vs_hf",
                "decode_fraction_of_bandwidth_limit"):
        assert key in out
    impls = {(row["impl"], row["phase"], row["batch"]) for row in out["results"]}
    assert ("ours", "decode", 2) in impls and ("hf-eager", "prefill", 1) in impls
    assert out["decode_speedup_vs_hf"] > 0 and 0 < out["decode_fraction_of_bandwidth_limit"]


def test_moe_cli_bad_values_are_one_line_errors(tmp_path, capsys):
    ckpt = tmp_path / "m"
    assert cli.run(["moe", "random", "-o", str(ckpt)]) == 0
    a_file = tmp_path / "file"
    a_file.write_text("keep")
    weights = (ckpt / "model.safetensors").read_bytes()
    cases = [
        (["moe", "generate", str(ckpt), "--ids", "1", "-n", "-3"], "--max-new-tokens must be at least 1"),
        (["moe", "generate", str(ckpt), "--ids", "1", "-n", "100000"], "exceeds the model's"),
        (["moe", "generate", str(ckpt), "--ids", "1", "--temperature", "-1"], "--temperature"),
        (["moe", "generate", str(ckpt), "--ids", "1", "--top-p", "0"], "--top-p must be in (0, 1]"),
        (["moe", "generate", str(ckpt), "--ids", "1", "--top-p", "2"], "--top-p must be in (0, 1]"),
        (["moe", "generate", str(ckpt), "--ids", "1", "--mtp"], "needs a checkpoint with MTP layers"),
        (["moe", "generate", str(ckpt), "--ids", "1", "--mtp", "--temperature", "0.5"], "decodes greedily"),
        (["moe", "random", "-o", str(tmp_path / "x"), "--mtp", "-1"], "--mtp must be 0 or more"),
        (["moe", "random", "-o", str(tmp_path / "x"), "--seed", str(2**70)], "--seed must fit in 64 bits"),
        (["moe", "generate", str(ckpt), "--ids", "1", "--seed", str(-(2**70))], "--seed must fit in 64 bits"),
        (["moe", "random", "-o", str(a_file)], "is a file, not a directory"),
        (["moe", "random", "-o", str(ckpt)], "exists and is not empty"),
        (["moe", "quantize", str(ckpt), "-o", str(a_file)], "is a file, not a directory"),
    ]
    capsys.readouterr()
    for args, message in cases:
        assert cli.run(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("rootspan: error:") and message in err and err.count("\n") == 1, (args, err)
    assert a_file.read_text() == "keep"
    assert (ckpt / "model.safetensors").read_bytes() == weights
