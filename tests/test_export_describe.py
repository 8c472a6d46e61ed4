"""`magicoder-export describe DIR`: adopting ONNX folders produced elsewhere; the tokenizer's BOS."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from export.cli import main as export_main
from export.tokenizer_export import export_tokenizer
from lsp_server.engine import manifest as manifest_mod
from lsp_server.engine.tokenizer import TextTokenizer
from tests.helpers.markers import needs_real_tokenizer
from tests.helpers.paths import SHARED_TOKENIZER

FOREIGN_FILES = ("model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json", "tokenizer_config.json")


def foreign_copy(model: Path, dest: Path, files=FOREIGN_FILES) -> Path:
    """What another tool would leave: graph, data, config and tokenizer, but no manifest."""
    dest.mkdir()
    for name in files:
        shutil.copyfile(model / name, dest / name)
    return dest


def test_describe_without_reference_runs_the_consistency_check(tiny_model: Path, tmp_path: Path):
    folder = foreign_copy(tiny_model, tmp_path / "foreign")
    assert export_main(["describe", str(folder)]) == 0
    ours, original = manifest_mod.read(folder), manifest_mod.read(tiny_model)
    assert (ours.io, ours.kv, ours.dims, ours.special_tokens) == (
        original.io,
        original.kv,
        original.dims,
        original.special_tokens,
    )
    assert ours.precision == "fp32" and ours.prompt == original.prompt
    report = json.loads((folder / "parity.json").read_text())
    assert report["kind"] == "consistency" and report["passed"] and report["tokens_identical"]
    assert report["max_rel_logit_error"] <= report["thresholds"]["max_rel_logit_error"]


def test_describe_with_reference_runs_the_parity_gate(tiny_model: Path, tmp_path: Path):
    folder = foreign_copy(tiny_model, tmp_path / "foreign")
    args = ["describe", str(folder), "--reference", str(tiny_model / "hf"), "--parity-tokens", "16"]
    assert export_main(args) == 0
    report = json.loads((folder / "parity.json").read_text())
    assert report["kind"] == "parity" and report["passed"] and report["max_logit_diff"] <= 1e-4


def test_describe_reads_dims_from_a_hugging_face_config(tiny_model: Path, tmp_path: Path):
    files = [f for f in FOREIGN_FILES if f != "genai_config.json"]
    folder = foreign_copy(tiny_model, tmp_path / "foreign", files)
    shutil.copyfile(tiny_model / "hf" / "config.json", folder / "config.json")
    assert export_main(["describe", str(folder)]) == 0
    assert manifest_mod.read(folder).dims == manifest_mod.read(tiny_model).dims


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("tokenizer.json", "has no tokenizer.json"),
        ("genai_config.json", "neither genai_config.json nor config.json"),
        ("model.onnx", "expected one ONNX decoder graph"),
    ],
)
def test_describe_names_what_is_missing(tiny_model, tmp_path, caplog, drop, message):
    folder = foreign_copy(tiny_model, tmp_path / "foreign", [f for f in FOREIGN_FILES if f != drop])
    assert export_main(["describe", str(folder)]) == 2
    assert message in caplog.text and not (folder / "manifest.json").exists()


def test_describe_refuses_a_config_that_contradicts_the_graph(tiny_model, tmp_path, caplog):
    folder = foreign_copy(tiny_model, tmp_path / "foreign")
    genai = json.loads((folder / "genai_config.json").read_text())
    genai["model"]["decoder"]["num_hidden_layers"] = 6
    (folder / "genai_config.json").write_text(json.dumps(genai))
    assert export_main(["describe", str(folder)]) == 2
    assert "the graph has 4 layers of KV cache, the config 6" in caplog.text


@needs_real_tokenizer
def test_exported_tokenizer_takes_bos_from_what_transformers_does(tmp_path: Path):
    """transformers 5 adds BOS from tokenizer.json's post-processor even when add_bos_token is false."""
    hf = tmp_path / "hf"
    hf.mkdir()
    for name in ("tokenizer.json", "special_tokens_map.json"):
        shutil.copyfile(SHARED_TOKENIZER / name, hf / name)
    config = json.loads((SHARED_TOKENIZER / "tokenizer_config.json").read_text())
    (hf / "tokenizer_config.json").write_text(json.dumps({**config, "add_bos_token": False}))
    out = tmp_path / "out"
    out.mkdir()
    assert export_tokenizer(hf, out) == []
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(hf))
    assert json.loads((out / "tokenizer_config.json").read_text())["add_bos_token"] is True
    ours = TextTokenizer(out / "tokenizer.json", add_bos=True)
    assert ours.encode("def f(): pass") == reference("def f(): pass")["input_ids"]
    assert ours.encode("x")[0] == 32013
