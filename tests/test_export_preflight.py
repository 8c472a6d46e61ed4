"""Up-front checks of `magicoder-export build`: architecture, custom code, RAM, disk, Hub sources, defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export import preflight, source
from export.cli import main as export_main
from export.known import MAGICODER_CONFIG
from export.options import BuildOptions
from export.preflight import PreflightError, check_resources, count_params, estimate, onnx_bytes
from tests.helpers.markers import needs_real_tokenizer


def fake_checkpoint(folder: Path, **config) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({**MAGICODER_CONFIG, **config}))
    (folder / "model.safetensors").write_bytes(b"\0" * 16)
    return folder


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}, "unsupported architecture ['GPT2LMHeadModel']"),
        ({"architectures": ["MixtralForCausalLM"], "model_type": "mixtral"}, "Llama-family decoders only"),
        ({"auto_map": {"AutoModelForCausalLM": "modeling.Custom"}}, "pass --trust-remote-code"),
        ({"quantization_config": {"quant_method": "gptq"}}, "already quantized (gptq)"),
    ],
)
def test_unsupported_checkpoints_are_refused_before_any_work(tmp_path, caplog, config, message):
    hf = fake_checkpoint(tmp_path / "hf", **config)
    assert export_main(["build", str(hf), "--output", str(tmp_path / "out")]) == 2
    assert message in caplog.text
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.partial").exists()


def test_trust_remote_code_lets_custom_code_through_the_architecture_check():
    config = {**MAGICODER_CONFIG, "auto_map": {"AutoModelForCausalLM": "modeling.Custom"}}
    with pytest.raises(PreflightError):
        preflight.check_architecture(config)
    preflight.check_architecture(config, trust_remote_code=True)
    assert BuildOptions(trust_remote_code=True).resolved().builder_extra_options()["hf_remote"] == "true"


def test_parameter_count_and_sizes_of_the_real_magicoder():
    params = count_params(MAGICODER_CONFIG)
    assert params.total == 6_740_512_768  # Magicoder-S-DS-6.7B: 6.74 B
    assert onnx_bytes(params, "fp32", "cpu") == params.total * 4
    int4 = onnx_bytes(params, "int4", "cpu")
    assert 4.0e9 < int4 < 4.8e9  # fp32 embedding + 4-bit matmuls with fp32 scales per 32 weights
    needs = estimate(MAGICODER_CONFIG, "int4", "cpu", "builder", 32, download=27_000_000_000)
    assert needs.convert_ram < 3 * 2**30 < needs.validate_ram == needs.ram < 8 * 2**30  # streaming: the gate dominates
    assert needs.disk > 27_000_000_000 + 2 * int4  # the download, the folder and the spill file
    stock = estimate(MAGICODER_CONFIG, "int4", "cpu", "builder", 32, download=27_000_000_000, streaming=False)
    assert stock.convert_ram > params.total * 4 * 2  # the stock builder quantizes a whole fp32 graph in memory
    pending = estimate(MAGICODER_CONFIG, "fp16", "cuda", "builder", 32, download=0, gate=False)
    assert pending.validate_ram == 0 and pending.ram == pending.convert_ram < 3 * 2**30
    assert "parity check on the GPU machine" in pending.explain()


# Calibrated at Magicoder's 32k vocabulary: with the trained 4k fallback vocabulary the builder's int4 file
# is 23 % larger than the formula (its embedding and LM head weigh differently at that size).
@needs_real_tokenizer
def test_estimated_int4_size_matches_a_real_export(tiny_model: Path, tmp_path: Path):
    """The disk estimate's formula against the builder's file for the tiny model (int4, cpu)."""
    out = tmp_path / "int4"
    assert export_main(["build", str(tiny_model / "hf"), "--output", str(out), "--parity-tokens", "4"]) == 0
    config = json.loads((tiny_model / "hf" / "config.json").read_text())
    estimated = onnx_bytes(count_params(config), "int4", "cpu")
    actual = (out / "model.onnx.data").stat().st_size
    assert abs(estimated - actual) / actual < 0.1
    assert manifest_precision(out) == "int4"  # cpu's default precision


def manifest_precision(folder: Path) -> str:
    return json.loads((folder / "manifest.json").read_text())["precision"]


def test_low_memory_is_refused_with_the_amount_needed(tiny_model, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(preflight, "available_memory_bytes", lambda: 100 * 2**20)
    assert export_main(["build", str(tiny_model / "hf"), "--output", str(tmp_path / "out")]) == 2
    assert "not enough memory: the export needs about" in caplog.text and "GiB of RAM" in caplog.text
    assert "this machine has 0.1 GiB available" in caplog.text and not (tmp_path / "out").exists()


def test_low_disk_is_refused_with_the_amount_needed(tmp_path, monkeypatch):
    needs = estimate(MAGICODER_CONFIG, "fp16", "cuda", "builder", 32, download=0)
    monkeypatch.setattr(preflight, "free_disk_bytes", lambda path: 2**30)
    with pytest.raises(PreflightError, match=r"not enough disk: the export needs about 2[0-9]\.\d GiB free"):
        check_resources(needs, tmp_path / "out", None, memory=2**50)


def test_skip_resource_checks_goes_ahead(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, "available_memory_bytes", lambda: 100 * 2**20)
    args = ["--skip-resource-checks", "--precision", "fp32", "--parity-tokens", "4"]
    assert export_main(["build", str(tiny_model / "hf"), "--output", str(tmp_path / "out"), *args]) == 0


def test_hub_source_is_checked_before_the_weights_download(tmp_path, monkeypatch, caplog):
    downloads = []
    monkeypatch.setattr(source, "hub_config", lambda repo, cache: {**MAGICODER_CONFIG, "model_type": "gpt2"})
    monkeypatch.setattr(source, "hub_files", lambda repo: {"config.json": 700, "model.safetensors": 10**9})
    monkeypatch.setattr(source, "hub_download", lambda *a: downloads.append(a))
    assert export_main(["build", "someone/some-model", "--output", str(tmp_path / "out")]) == 2
    assert "unsupported architecture" in caplog.text and downloads == []


def test_hub_source_prefers_safetensors_and_counts_the_download(monkeypatch):
    files = {"config.json": 700, "model-1.safetensors": 3 * 10**9, "pytorch_model.bin": 6 * 10**9, "tokenizer.json": 1}
    monkeypatch.setattr(source, "hub_config", lambda repo, cache: MAGICODER_CONFIG)
    monkeypatch.setattr(source, "hub_files", lambda repo: files)
    src = source.inspect("ise-uiuc/Magicoder-S-DS-6.7B")
    assert "*.safetensors" in src.patterns and "*.bin" not in src.patterns
    assert src.download_bytes == 3 * 10**9 + 700 + 1 and src.local is None  # weights, config, tokenizer
    monkeypatch.setattr(source, "hub_files", lambda repo: {"config.json": 700, "pytorch_model.bin": 6 * 10**9})
    assert "*.bin" in source.inspect("ise-uiuc/Magicoder-S-DS-6.7B").patterns


def test_a_missing_local_folder_is_not_mistaken_for_a_hub_id(tmp_path, caplog):
    assert export_main(["build", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out")]) == 2
    assert "neither a model folder nor a Hugging Face id" in caplog.text


@pytest.mark.parametrize(
    ("options", "precision", "level"),
    [
        (BuildOptions(), "int4", 4),
        (BuildOptions(target="cuda"), "fp16", 0),
        (BuildOptions(exporter="optimum"), "fp32", 4),
        (BuildOptions(target="cuda", precision="int4", int4_accuracy_level=1), "int4", 1),
    ],
)
def test_per_target_defaults(options, precision, level):
    resolved = options.resolved()
    assert (resolved.precision, resolved.int4_accuracy_level) == (precision, level)


def test_each_phase_reports_its_own_peak():
    """The phase lines' "this phase" figure starts afresh after each phase (a sampling thread)."""
    import time

    from export.resources import PhasePeaks

    peaks = PhasePeaks(interval_s=0.01)
    base = peaks.take()
    block = bytearray(300 * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    time.sleep(0.1)
    during = peaks.take()
    del block
    peaks.take()  # the phase that held the block ends here
    time.sleep(0.1)
    after = peaks.take()
    assert during - base > 250 * 2**20 and during - after > 250 * 2**20
