"""The parity gate where it cannot run (a cuda graph without a usable GPU: status "pending") and
`magicoder-export validate DIR`, which runs it on a finished folder."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import onnxruntime as ort
import pytest

from export import gate
from export import source as source_mod
from export.cli import main as export_main
from export.options import BuildOptions
from lsp_server.engine import device
from lsp_server.engine import manifest as manifest_mod
from tests.helpers.faults import scale_one_weight

MODEL_FILES = (
    "model.onnx",
    "model.onnx.data",
    "tokenizer.json",
    "tokenizer_config.json",
    "manifest.json",
    "parity.json",
)


def model_copy(model: Path, dest: Path, files=MODEL_FILES) -> Path:
    dest.mkdir()
    for name in files:
        shutil.copyfile(model / name, dest / name)
    return dest


def parity(folder: Path) -> dict:
    return json.loads((folder / "parity.json").read_text())


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider' is not in available provider names")
def test_no_cuda_session_can_be_made_on_this_machine(monkeypatch):
    """This onnxruntime is the CPU build: even when it claims a CUDA provider, no CUDA session comes of it."""
    assert not device.cuda_works(gate._probe_model())
    monkeypatch.setattr(ort, "get_available_providers", lambda: [device.CUDA, device.CPU])
    assert not device.cuda_works(gate._probe_model())


def test_only_a_cuda_graph_without_a_usable_gpu_is_left_pending(monkeypatch):
    assert not gate.cuda_usable()
    assert gate.gate_is_pending(BuildOptions(target="cuda"))
    assert not gate.gate_is_pending(BuildOptions(target="cuda", gate_on_cpu=True))
    assert not gate.gate_is_pending(BuildOptions(target="cpu"))
    monkeypatch.setattr(gate, "cuda_usable", lambda: True)
    assert not gate.gate_is_pending(BuildOptions(target="cuda"))


def test_a_cuda_export_here_is_published_pending_until_validate_passes_it(tiny_model, tmp_path, caplog):
    out, hf = tmp_path / "cuda-fp16", tiny_model / "hf"
    args = ["build", str(hf), "--output", str(out), "--target", "cuda", "--parity-tokens", "8"]
    assert export_main(args) == 0
    manifest = manifest_mod.read(out)
    assert (manifest.target, manifest.precision, manifest.source) == ("cuda", "fp16", str(hf))
    report = parity(out)
    command = f"magicoder-export validate {out} --reference {hf}"
    assert report["status"] == "pending" and not report["passed"] and report["prompts"] == []
    assert command in report["note"]
    assert "NOT CHECKED" in caplog.text and command in caplog.text
    caplog.clear()

    assert export_main(["validate", str(out), "--parity-tokens", "8", "--fidelity-tokens", "64"]) == 0
    report = parity(out)
    assert report["status"] == "passed" and report["passed"] and report["kind"] == "parity"
    assert report["device"] == "cpu" and 0 < report["max_rel_logit_error"] <= 1e-2 and len(report["prompts"]) == 5
    assert "(the manifest's source)" in caplog.text and "CUDA is not usable here" in caplog.text


def test_validate_fails_a_folder_whose_graph_no_longer_matches_and_keeps_it(tiny_model, tmp_path, caplog):
    folder = model_copy(tiny_model, tmp_path / "model")
    scale_one_weight(folder)
    args = ["validate", str(folder), "--reference", str(tiny_model / "hf"), "--parity-tokens", "8"]
    assert export_main(args) == 3
    report = parity(folder)
    assert report["status"] == "failed" and not report["passed"] and report["max_logit_diff"] > 1e-4
    assert manifest_mod.read(folder).precision == "fp32"  # the folder is kept, manifest and all
    assert "REGRESSION" in caplog.text and "max logit difference" in caplog.text


def test_validate_without_a_reference_checks_the_graph_against_itself(tiny_model, tmp_path, caplog):
    folder = model_copy(tiny_model, tmp_path / "model")
    (folder / "parity.json").write_text(json.dumps({"status": "pending", "passed": False}))
    assert export_main(["validate", str(folder)]) == 0  # the tiny model's source is no checkpoint
    report = parity(folder)
    assert report["kind"] == "consistency" and report["status"] == "passed" and report["tokens_identical"]
    assert "checking the graph against itself" in caplog.text


def test_the_manifest_source_is_the_default_reference_only_when_it_is_a_checkpoint(tiny_model, tmp_path):
    manifest = manifest_mod.read(tiny_model)

    def recorded(source: str) -> str | None:
        return gate.recorded_reference(tiny_model, dataclasses.replace(manifest, source=source))

    hf = str(tiny_model / "hf")
    assert recorded(hf) == hf and recorded("ise-uiuc/Magicoder-S-DS-6.7B") == "ise-uiuc/Magicoder-S-DS-6.7B"
    assert recorded(str(tiny_model)) is None  # a folder adopted by describe records itself
    assert recorded(str(tmp_path / "gone")) is None and recorded(str(tmp_path)) is None  # moved; no config.json
    assert recorded("tiny random init, seed 1234") is None


def test_a_hub_source_that_cannot_be_fetched_asks_for_a_reference(tiny_model, tmp_path, monkeypatch, caplog):
    folder = model_copy(tiny_model, tmp_path / "model")
    manifest = dataclasses.replace(manifest_mod.read(folder), source="owner/model")
    manifest_mod.write(manifest, folder)

    def offline(repo, cache_dir):
        raise OSError("no network")

    monkeypatch.setattr(source_mod, "hub_config", offline)
    assert export_main(["validate", str(folder)]) == 2
    assert "cannot use owner/model as the reference checkpoint: no network (pass --reference" in caplog.text
    assert parity(folder)["status"] == "passed"  # untouched


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("empty", "has no manifest.json"),
        ("unreadable", "cannot read"),
    ],
)
def test_validate_refuses_bad_input(tiny_model, tmp_path, caplog, setup, message):
    folder = tmp_path / "model"
    if setup == "empty":
        folder.mkdir()
    elif setup == "unreadable":
        model_copy(tiny_model, folder)
        (folder / "parity.json").write_text("{not json")
    assert export_main(["validate", str(folder)]) == 2
    assert message in caplog.text
    if setup == "unreadable":
        assert (folder / "parity.json").read_text() == "{not json"
