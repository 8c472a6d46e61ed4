"""`--exporter optimum`: optimum-onnx in its own environment (.venv-optimum), concat KV layout.

The module fixture runs scripts/setup-optimum.sh (about a minute the first time, idempotent after)
and exports the tiny model through it; a failing setup fails these tests, it does not skip them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from export import optimum_path
from export.cli import main as export_main
from export.optimum_export import legacy_rope_config
from export.parity import reference_greedy
from lsp_server.engine import manifest as manifest_mod
from tests.helpers.paths import ROOT

OPTIMUM_PYTHON = ROOT / ".venv-optimum" / "bin" / "python"


@pytest.fixture(scope="module")
def optimum_model(tiny_model: Path, tmp_path_factory) -> Path:
    setup = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup-optimum.sh")], capture_output=True, text=True, timeout=900
    )
    assert setup.returncode == 0, f"scripts/setup-optimum.sh failed:\n{setup.stdout[-2000:]}\n{setup.stderr[-2000:]}"
    out = tmp_path_factory.mktemp("optimum") / "model"
    args = ["build", str(tiny_model / "hf"), "--output", str(out), "--exporter", "optimum"]
    assert export_main([*args, "--optimum-python", str(OPTIMUM_PYTHON)]) == 0
    return out


def test_optimum_export_has_the_concat_layout_and_position_ids(optimum_model: Path):
    manifest = manifest_mod.read(optimum_model)
    assert manifest.kv.layout == manifest_mod.KV_CONCAT and manifest.io.position_ids == "position_ids"
    assert (manifest.kv.past_key, manifest.kv.present_value) == ("past_key_values.%d.key", "present.%d.value")
    assert manifest.precision == "fp32" and manifest.kv.dtype == "float32"


def test_optimum_export_passes_the_fp32_gate(optimum_model: Path):
    report = json.loads((optimum_model / "parity.json").read_text())
    assert report["passed"] and report["tokens_identical"] and report["max_logit_diff"] <= 1e-4
    assert all(len(p["onnx_tokens"]) == 64 for p in report["prompts"])


def test_engine_on_the_optimum_graph_matches_transformers_generate(optimum_model: Path, hf_model):
    from lsp_server.engine import Engine

    engine = Engine(optimum_model)
    for prompt in ("def quicksort(xs):\n", "class Stack:\n    def push(self, x):\n"):
        result = engine.complete(prompt, 32)
        reference, _ = reference_greedy(hf_model, engine.tokenizer.encode(prompt), 32)
        assert result.token_ids == reference[: len(result.token_ids)] and len(result.token_ids) > 0


def test_describe_adopts_an_optimum_folder(optimum_model: Path, tmp_path: Path):
    folder = tmp_path / "foreign"
    folder.mkdir()
    for name in ("model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(optimum_model / name, folder / name)
    assert export_main(["describe", str(folder)]) == 0
    manifest = manifest_mod.read(folder)
    assert manifest.kv.layout == manifest_mod.KV_CONCAT and manifest.dims.num_layers == 4
    assert json.loads((folder / "parity.json").read_text())["kind"] == "consistency"


def test_rope_parameters_are_translated_for_transformers_4():
    """transformers 4.57 reads rope_scaling/rope_theta: without this Magicoder's linear x4 would be lost."""
    config = {"rope_parameters": {"rope_type": "linear", "factor": 4.0, "rope_theta": 100000.0}}
    fixed = legacy_rope_config(config)
    assert fixed["rope_theta"] == 100000.0
    assert fixed["rope_scaling"]["type"] == "linear" and fixed["rope_scaling"]["factor"] == 4.0
    hub_form = {"rope_scaling": {"type": "linear", "factor": 4.0}, "rope_theta": 100000}
    assert legacy_rope_config(hub_form) == hub_form


def test_missing_optimum_environment_says_how_to_create_it(tmp_path, monkeypatch):
    monkeypatch.setattr(optimum_path, "REPO_ROOT", tmp_path)
    monkeypatch.delenv(optimum_path.ENV_VAR, raising=False)
    with pytest.raises(optimum_path.OptimumError, match=r"scripts/setup-optimum\.sh"):
        optimum_path.find_python(tmp_path / "no-python")
