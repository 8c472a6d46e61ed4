"""`magicoder-export build`: precisions and their gates, options, phases, planted faults."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from export import pipeline
from export.cli import main as export_main
from lsp_server.engine import manifest as manifest_mod
from tests.helpers.faults import scale_one_weight


def build(hf: Path, out: Path, *args: str) -> int:
    return export_main(["build", str(hf), "--output", str(out), "--parity-tokens", "16", *args])


def matmulnbits_attrs(graph: Path) -> set[tuple[int, int, int]]:
    """(bits, block_size, accuracy_level) of every MatMulNBits node (an absent accuracy_level is 0)."""
    model = onnx.load(str(graph), load_external_data=False)
    nodes = [{a.name: a.i for a in n.attribute} for n in model.graph.node if n.op_type == "MatMulNBits"]
    return {(a["bits"], a["block_size"], a.get("accuracy_level", 0)) for a in nodes}


def test_fp16_cpu_export_passes_the_relative_logit_gate(tiny_model: Path, tmp_path: Path):
    """The builder's fp16 cpu graph (MultiHeadAttention, concat cache, position_ids) within 1e-2 of fp32."""
    out = tmp_path / "fp16"
    assert build(tiny_model / "hf", out, "--precision", "fp16", "--target", "cpu") == 0
    manifest = manifest_mod.read(out)
    assert manifest.precision == "fp16" and manifest.kv.dtype == "float16"
    assert manifest.kv.layout == manifest_mod.KV_CONCAT and manifest.io.position_ids == "position_ids"
    report = json.loads((out / "parity.json").read_text())
    assert report["passed"] and report["thresholds"]["max_rel_logit_error"] == 1e-2
    assert report["thresholds"]["max_logit_diff"] is None and not report["thresholds"]["tokens_identical"]
    assert 0 < report["max_rel_logit_error"] <= 1e-2
    assert report["fidelity"]["top1_agreement"] > 0.9


def test_int4_export_with_options_reports_fidelity_and_phases(tiny_model: Path, tmp_path: Path, caplog):
    out = tmp_path / "int4"
    args = ["--precision", "int4", "--int4-block-size", "64", "--int4-accuracy-level", "0", "--max-context", "2048"]
    assert build(tiny_model / "hf", out, *args) == 0
    manifest = manifest_mod.read(out)
    assert manifest.precision == "int4" and manifest.kv.layout == manifest_mod.KV_SHARED_BUFFER
    assert manifest.dims.context_length == 2048
    genai = json.loads((out / "genai_config.json").read_text())
    assert genai["model"]["context_length"] == 2048 and genai["search"]["max_length"] == 2048
    assert matmulnbits_attrs(out / "model.onnx") == {(4, 64, 0)}
    report = json.loads((out / "parity.json").read_text())
    fidelity = report["fidelity"]
    assert report["passed"] and report["thresholds"]["max_perplexity_ratio"] == 1.2
    assert report["thresholds"]["max_mean_kl"] == 0.15 and fidelity["mean_kl"] <= 0.15
    assert 0 <= fidelity["top1_agreement"] <= 1 and fidelity["finite"]
    assert fidelity["onnx_perplexity"] > 1 and fidelity["reference_perplexity"] > 1
    for phase in ("[load]", "[convert]", "[quantize]", "[validate]"):
        assert phase in caplog.text
    assert "peak RSS" in caplog.text and "MatMulNBits" in caplog.text


def test_int8_export_uses_8_bit_matmulnbits(tiny_model: Path, tmp_path: Path):
    out = tmp_path / "int8"
    assert build(tiny_model / "hf", out, "--precision", "int8") == 0
    assert matmulnbits_attrs(out / "model.onnx") == {(8, 32, 4)}  # cpu default: accuracy level 4
    assert manifest_mod.read(out).precision == "int8"


def perturb_one_weight(real_build_onnx):
    """A converter that scales one MLP weight of the exported graph by 1.01 (a planted fault)."""

    def faulty(hf_dir, out_dir, **kwargs):
        real_build_onnx(hf_dir, out_dir, **kwargs)
        scale_one_weight(out_dir)
        return out_dir

    return faulty


def test_perturbed_weight_fails_the_gate_and_writes_no_manifest(tiny_model, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(pipeline, "build_onnx", perturb_one_weight(pipeline.build_onnx))
    out = tmp_path / "perturbed"
    assert build(tiny_model / "hf", out, "--precision", "fp32") == 3
    assert not out.exists() and not (tmp_path / ".perturbed.partial" / "manifest.json").exists()
    assert "parity gate failed" in caplog.text and "max logit difference" in caplog.text
    report = json.loads((tmp_path / ".perturbed.partial" / "parity.json").read_text())
    assert not report["passed"] and report["max_logit_diff"] > 1e-4


def test_failed_gate_keeps_the_previous_good_export(tiny_model, tmp_path, monkeypatch):
    out = tmp_path / "model"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    monkeypatch.setattr(pipeline, "build_onnx", perturb_one_weight(pipeline.build_onnx))
    assert build(tiny_model / "hf", out, "--precision", "fp32") == 3
    assert (out / "manifest.json").read_text() == "{}"


def test_max_context_beyond_the_model_is_refused(tiny_model: Path, tmp_path: Path, caplog):
    assert build(tiny_model / "hf", tmp_path / "x", "--precision", "fp32", "--max-context", "20000") == 2
    assert "exceeds the model's 16384 positions" in caplog.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--exporter", "optimum", "--precision", "int4"], "writes fp32 graphs only"),
        (["--parity-tokens", "0"], "--parity-tokens must be positive"),
    ],
)
def test_impossible_option_combinations_are_refused(tiny_model, tmp_path, caplog, args, message):
    assert export_main(["build", str(tiny_model / "hf"), "--output", str(tmp_path / "x"), *args]) == 2
    assert message in caplog.text and not (tmp_path / "x").exists()


def test_parity_gate_report_publishes_a_failing_graph_with_its_report(tiny_model, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(pipeline, "build_onnx", perturb_one_weight(pipeline.build_onnx))
    out = tmp_path / "perturbed"
    assert build(tiny_model / "hf", out, "--precision", "fp32", "--parity-gate", "report") == 0
    assert manifest_mod.read(out).precision == "fp32"
    report = json.loads((out / "parity.json").read_text())
    assert not report["passed"] and report["failures"]
    assert "parity gate FAILED, published anyway" in caplog.text
