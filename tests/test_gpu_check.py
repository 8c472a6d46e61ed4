"""The prepared GPU check: its arithmetic, and the whole script run small on this machine's CPU
(the GPU machine is lent to few sessions, so the script must not rot between them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.lib.gpu_report import GraphBytes, extrapolate_step_s, fit_line, render
from tests.helpers.paths import SHARED_TOKENIZER


def test_fit_line_recovers_a_line_and_needs_two_layer_counts():
    intercept, slope = fit_line([2.0, 4.0, 8.0], [0.1 + 0.2 * x for x in (2, 4, 8)])
    assert intercept == pytest.approx(0.1) and slope == pytest.approx(0.2)
    with pytest.raises(ValueError):
        fit_line([4.0, 4.0], [1.0, 2.0])


def test_extrapolation_fits_a_line_or_scales_by_bytes():
    g2, g4 = GraphBytes(2, 200, 50, 999), GraphBytes(4, 400, 50, 999)
    # step = 1 ms fixed + 0.5 ms per layer -> 17 ms at 32 layers
    assert extrapolate_step_s({2: 0.002, 4: 0.003}, {2: g2, 4: g4}) == pytest.approx(0.017)
    # one layer count: scaled by bytes read per token (50 + 100 * 32) / (50 + 400); the gathered table is not read
    assert g4.read_per_token(32) == 3250
    assert extrapolate_step_s({4: 0.003}, {4: g4}) == pytest.approx(0.003 * 3250 / 450)


def test_gpu_check_runs_end_to_end_on_cpu(tmp_path: Path):
    from bench.gpu_check import main

    tokenizer = ["--tokenizer", str(SHARED_TOKENIZER)] if (SHARED_TOKENIZER / "tokenizer.json").is_file() else []
    args = [
        "--out",
        str(tmp_path / "out"),
        "--work",
        str(tmp_path / "work"),
        "--device",
        "cpu",
        "--hidden",
        "64",
        "--heads",
        "4",
        "--intermediate",
        "128",
        "--layers",
        "1",
        "2",
        "--reps",
        "1",
        "--new-tokens",
        "6",
        "--parity-tokens",
        "2",
        *tokenizer,
    ]
    assert main(args) == 0
    report = json.loads((tmp_path / "out" / "gpu_results.json").read_text())
    assert set(report["results"]) == {
        f"{r} {p} L{n}" for r in ("ours", "genai") for p in ("fp16", "int4") for n in (1, 2)
    }
    for name, value in report["results"].items():
        assert value["decode_200"] > 0 and value["ttft_2000"] > 0, name
    split = report["results"]["ours fp16 L2"]["step_split_200"]
    assert 0 < split["run_ms"] < split["step_ms"] and split["outside_ms"] == pytest.approx(
        split["step_ms"] - split["run_ms"]
    )
    # ours and genai run the same graph greedily: the same tokens
    assert all(v == "identical / identical" for v in report["same_tokens"].values()), report["same_tokens"]
    b = report["bytes"]["fp16"]
    one, two = b["1"], b["2"]
    assert two["layer_bytes"] == 2 * one["layer_bytes"] > 0  # every layer has the same weights
    assert one["other_bytes"] == two["other_bytes"]  # final norm and LM head
    vocab = json.loads((tmp_path / "work" / "h64-l1" / "fp16" / "manifest.json").read_text())["dims"]["vocab_size"]
    assert one["gathered_bytes"] == vocab * 64 * 2  # the fp16 embedding table, gathered by input_ids
    assert one["other_bytes"] >= vocab * 64 * 2  # the LM head is read whole every step
    for precision in ("fp16", "int4"):
        assert report["summary"][precision]["ours"]["ms_per_token_32_layers"] != 0
    text = (tmp_path / "out" / "GPU_RESULTS.md").read_text()
    assert text == render(report) + "\n" and "| ours int4 | 2 |" in text


def test_a_line_that_does_not_rise_falls_back_to_scaling_by_bytes():
    g2, g4 = GraphBytes(2, 200, 50, 0), GraphBytes(4, 400, 50, 0)
    assert extrapolate_step_s({2: 0.003, 4: 0.003}, {2: g2, 4: g4}) == pytest.approx(0.003 * 3250 / 450)
