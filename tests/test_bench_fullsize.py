"""The full-size export benchmark's driver, end to end at a tiny width (1 and 2 layers, fewer gate tokens)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bench.export_fullsize import main, parse_args, run_names
from bench.lib.build_measure import NO_STREAMING, DiskSampler
from bench.lib.checkpoint import CheckpointSpec, nbytes, tensor_shapes
from export.gate import cuda_usable
from tests.helpers.markers import needs_real_tokenizer

TINY = ["--width", "tiny", "--parity-tokens", "8", "--fidelity-tokens", "64"]
ASK_TOKENS, INLINE_TOKENS = 24, 8


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[Path, Path, dict]:
    """One full run at 1 layer (both exports, serving), then a 1-and-2-layer scaling run of the fp16 export."""
    base = tmp_path_factory.mktemp("fullsize")
    work, out = base / "work", base / "results"
    common = [*TINY, "--work", str(work), "--results-dir", str(out)]
    assert main([*common, "--layers", "1", "--ask-tokens", str(ASK_TOKENS), "--inline-tokens", str(INLINE_TOKENS)]) == 0
    assert main([*common, "--layers", "1", "2", "--runs", "fp16-cuda", "--compare-no-streaming"]) == 0
    return work, out, json.loads((out / "export_fullsize.json").read_text())


def check_export(r: dict, gate: set[str]) -> None:
    assert r["returncode"] == 0, r.get("stderr_tail")
    assert r["published"] and r["gate"] in gate
    assert r["command"].startswith("magicoder-export build ") and "--parity-gate report" in r["command"]
    assert 0.5 < r["wall_s"] < 120 and r["user_s"] > 0
    convert = [p for p in r["phases"] if p["phase"] == "convert"]
    assert convert and all(p["s"] > 0 for p in r["phases"])
    assert 0.1 < r["convert_peak_gib"] < 4
    assert r["peak_rss_gib"] >= r["convert_peak_gib"] - 0.05  # phase lines round to 0.1 GiB
    assert 1e6 < r["output_bytes"] < 2e8
    assert r["disk_peak_extra_bytes"] >= 0  # the file system's free space: other writers make it noisy
    assert r["output_bytes"] <= r["disk_peak_files_bytes"] < 20 * r["output_bytes"]
    assert r["converter"] == ("in-memory" if NO_STREAMING in r["command"] else "streaming")
    assert set(r["sha256"]) == {"model.onnx", "model.onnx.data"}


@needs_real_tokenizer
def test_full_run_exports_and_serves(results) -> None:
    work, _out, data = results
    run = data["run"]
    assert run["layers"] == 1 and run["width"]["name"] == "tiny"
    spec = CheckpointSpec.of_width("tiny", layers=1)
    weights = sum(nbytes(shape) for _, shape in tensor_shapes(spec))
    ck = run["checkpoint"]
    assert ck["shards"] == 1 and weights < ck["bytes"] < weights + 100_000 and ck["seconds"] > 0
    assert ck["bytes"] <= ck["disk_peak_files_bytes"] < 2 * ck["bytes"]
    assert set(run["exports"]) == {"int4-cpu", "fp16-cuda"}
    check_export(run["exports"]["int4-cpu"], {"passed", "failed"})
    assert 0 <= run["exports"]["int4-cpu"]["fidelity"]["top1_agreement"] <= 1
    gate_phases = [p["what"] for p in run["exports"]["int4-cpu"]["phases"] if p["phase"] == "validate"]
    assert gate_phases == ["onnx", "reference"]
    check_export(run["exports"]["fp16-cuda"], {"passed", "failed"} if cuda_usable() else {"pending"})
    assert not (work / "ckpt-l1").exists() and not (work / "out-l1").exists()


@needs_real_tokenizer
def test_serving_numbers(results) -> None:
    serve = results[2]["run"]["serve"]
    assert 0 < serve["model_load_s"] < 60 and 0 < serve["engine_load_s"] < serve["model_load_s"]
    assert 30 < serve["rss_ready_mib"] <= serve["peak_rss_mib"] < 4000
    assert serve["rss_after_mib"] <= serve["peak_rss_mib"]
    for what, limit in (("inline", INLINE_TOKENS), ("ask", ASK_TOKENS)):
        answer = serve[what]
        assert 1 <= answer["new_tokens"] <= limit and answer["prompt_tokens"] > 20
        assert answer["tok_s"] > 0 and answer["ttft_ms"] > 0 and answer["wall_s"] > 0
    assert serve["ask"]["outcome"]["tokens"] == serve["ask"]["new_tokens"]


@needs_real_tokenizer
def test_scaling_section_beside_the_run(results) -> None:
    _, out, data = results
    points = data["scaling"]["points"]
    assert [p["layers"] for p in points] == [1, 2] and "run" in data
    assert points[1]["checkpoint"]["bytes"] > points[0]["checkpoint"]["bytes"]
    names = {"fp16-cuda", "fp16-cuda-no-streaming"}
    for point in points:
        assert set(point["exports"]) == names and "serve" not in point
        for r in point["exports"].values():
            check_export(r, {"passed", "failed"} if cuda_usable() else {"pending"})
        assert point["exports"]["fp16-cuda"]["sha256"] == point["exports"]["fp16-cuda-no-streaming"]["sha256"]
    text = (out / "EXPORT_FULLSIZE.md").read_text()
    assert "## 1 layer\n" in text and "Width tiny" in text
    assert "| whole-process peak RSS |" in text and "| inline completion | " in text
    scale = (out / "EXPORT_SCALE.md").read_text()
    assert "## Measured" in scale and "Width tiny" in scale
    assert scale.count("| 2 | ") == len(names) and scale.count(" | identical |") == 2
    assert "| fp16-cuda | 1, 2 | " in scale and "| fp16-cuda-no-streaming | 1, 2 | " in scale


def test_in_memory_twins_only_where_they_fit() -> None:
    full = parse_args(["--compare-no-streaming"])
    assert set(run_names(full, 2)) == {"int4-cpu", "fp16-cuda", "int4-cpu-no-streaming", "fp16-cuda-no-streaming"}
    assert set(run_names(full, 8)) == {"int4-cpu", "fp16-cuda"}  # the in-memory builder would need ~16 GB at 8
    assert set(run_names(parse_args(["--width", "tiny", "--compare-no-streaming"]), 8)) == set(run_names(full, 2))
    assert set(run_names(parse_args([]), 2)) == {"int4-cpu", "fp16-cuda"}


def test_disk_sampler_sees_a_file_that_came_and_went(tmp_path) -> None:
    (tmp_path / "before").write_bytes(b"x" * 1000)
    with DiskSampler(tmp_path, interval_s=0.02) as disk:
        (tmp_path / "spill").write_bytes(b"x" * 20_000_000)
        time.sleep(0.2)
        (tmp_path / "spill").unlink()
    assert disk.peak_files_bytes == 20_000_000 and disk.peak_extra_bytes >= 0
