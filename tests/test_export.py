"""The tiny model's export: parity with transformers, the parity gate, the manifest, the tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from export.cli import main as export_main
from export.parity import reference_greedy
from lsp_server.engine import manifest as manifest_mod
from tests.helpers.markers import needs_real_tokenizer
from tests.helpers.paths import SHARED_TOKENIZER, tokenizer_args

PROMPTS = [
    "def quicksort(xs):\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n",
    "# parse a CSV file and return the rows as dicts\nimport csv\n\n",
    "fn main() {\n    let v: Vec<i32> = (0..10).collect();\n",
    "emoji 🐍 and CJK 漢字 in a string: s = '",
]
NEW_TOKENS = 40


@pytest.mark.parametrize("prompt", PROMPTS)
def test_engine_greedy_tokens_equal_transformers_generate(engine, hf_model, prompt):
    result = engine.complete(prompt, NEW_TOKENS)
    reference, _ = reference_greedy(hf_model, engine.tokenizer.encode(prompt), NEW_TOKENS)
    n = len(result.token_ids)
    assert result.token_ids == reference[:n]
    if result.finish_reason == "eos":  # the engine stopped on a stop id that transformers emitted
        assert reference[n] in engine.manifest.special_tokens.stop_ids()
    else:
        assert n == NEW_TOKENS


def test_parity_report_records_a_passed_fp32_gate(tiny_model: Path):
    report = json.loads((tiny_model / "parity.json").read_text())
    assert report["passed"] and report["tokens_identical"] and report["kind"] == "parity"
    assert report["precision"] == "fp32"
    assert report["thresholds"]["max_logit_diff"] == 1e-4 and report["thresholds"]["tokens_identical"]
    assert 0 < report["max_logit_diff"] <= 1e-4
    assert len(report["prompts"]) == 5
    for prompt in report["prompts"]:
        assert len(prompt["reference_tokens"]) == 64
        assert prompt["reference_tokens"] == prompt["onnx_tokens"]
    fidelity = report["fidelity"]  # teacher-forced on held-out code: fp32 agrees everywhere
    assert fidelity["positions"] > 300 and fidelity["top1_agreement"] == 1.0
    assert abs(fidelity["perplexity_ratio"] - 1) < 1e-4
    assert report["tokenizer_mismatches"] == []
    assert report["versions"]["onnxruntime-genai"] == "0.18.0"


def test_graph_keeps_linear_rope_scaling(tiny_model: Path):
    """cos/sin caches must use inv_freq / 4 (the builder's own Llama path drops the factor)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(tiny_model / "model.onnx"), load_external_data=True)
    cos = next(numpy_helper.to_array(t) for t in model.graph.initializer if t.name == "cos_cache")
    manifest = manifest_mod.read(tiny_model)
    dim = manifest.dims.head_dim
    inv_freq = 1.0 / (4.0 * 100000.0 ** (torch.arange(0, dim, 2).float() / dim))
    expected = torch.cos(torch.outer(torch.arange(cos.shape[0]).float(), inv_freq)).numpy()
    assert abs(cos[:, : dim // 2] - expected).max() < 1e-4


def test_planted_rope_fault_fails_the_gate_and_writes_no_manifest(tmp_path: Path, caplog):
    out = tmp_path / "broken"
    code = export_main(["tiny", "--output", str(out), "--no-rope-fix", *tokenizer_args()])
    assert code == 3
    assert not (out / "manifest.json").exists()
    assert "parity gate failed" in caplog.text and "greedy tokens diverge" in caplog.text


def test_manifest_describes_the_graph(tiny_model: Path):
    import onnxruntime as ort

    manifest = manifest_mod.read(tiny_model)
    session = ort.InferenceSession(str(tiny_model / manifest.graph), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    assert manifest.io.input_ids in inputs and manifest.io.attention_mask in inputs
    assert manifest.io.logits in outputs
    for layer in range(manifest.dims.num_layers):
        past = inputs[manifest.kv.past_key % layer]
        assert past.shape[1] == manifest.dims.num_kv_heads  # [batch, kv_heads, sequence, head_dim]
        assert manifest.kv.present_value % layer in outputs
    assert manifest.kv.layout == manifest_mod.KV_SHARED_BUFFER
    assert manifest.dims.num_layers == 4 and manifest.dims.num_heads == 8 and manifest.dims.hidden_size == 256
    assert manifest.dims.context_length == 16384 and manifest.dims.head_dim == 256 // 8
    assert manifest.prompt.template == manifest_mod.MAGICODER_PROMPT_TEMPLATE
    assert manifest.schema_version == manifest_mod.SCHEMA_VERSION


def test_hf_config_has_magicoder_architecture(tiny_model: Path):
    config = json.loads((tiny_model / "hf" / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["rope_parameters"] == {"rope_type": "linear", "factor": 4.0, "rope_theta": 100000.0}
    assert config["rms_norm_eps"] == 1e-6 and config["max_position_embeddings"] == 16384
    assert config["tie_word_embeddings"] is False
    assert config["num_key_value_heads"] == config["num_attention_heads"]


@needs_real_tokenizer
def test_real_tokenizer_ids_come_from_the_tokenizer(tiny_model: Path):
    manifest = manifest_mod.read(tiny_model)
    t = manifest.special_tokens
    assert (t.bos, t.eos, t.fim_hole, t.fim_begin, t.fim_end, t.eot) == (32013, 32014, 32015, 32016, 32017, 32021)
    assert manifest.dims.vocab_size == 32256


@needs_real_tokenizer
def test_exported_tokenizer_adds_bos_like_transformers(engine, tiny_model: Path):
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(SHARED_TOKENIZER))
    for text in [*PROMPTS, "", "  indented\r\n\ttabs", "<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>"]:
        assert engine.tokenizer.encode(text) == reference(text)["input_ids"]


def test_trained_tokenizer_export(tmp_path: Path):
    """Without --tokenizer the exporter trains one with DeepSeek's added tokens; ids are read from it."""
    out = tmp_path / "trained"
    assert export_main(["tiny", "--output", str(out), "--layers", "2"]) == 0
    manifest = manifest_mod.read(out)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert manifest.special_tokens.bos == tok.token_to_id("<｜begin▁of▁sentence｜>")
    assert manifest.special_tokens.fim_hole == tok.token_to_id("<｜fim▁hole｜>")
    assert tok.encode("def f(): pass").ids[0] == manifest.special_tokens.bos
    assert json.loads((out / "parity.json").read_text())["passed"]


def test_graph_projects_only_the_last_position(tiny_model: Path, engine):
    """Prefill returns logits [batch, 1, vocab]: the LM head never sees the other positions."""
    import numpy as np
    import onnxruntime as ort

    manifest = engine.manifest
    session = ort.InferenceSession(str(tiny_model / manifest.graph), providers=["CPUExecutionProvider"])
    d = manifest.dims
    feeds = {"input_ids": np.ones((1, 7), np.int64), "attention_mask": np.ones((1, 7), np.int64)}
    for layer in range(d.num_layers):
        for name in (manifest.kv.past_key, manifest.kv.past_value):
            feeds[name % layer] = np.zeros((1, d.num_kv_heads, 0, d.head_dim), np.float32)
    logits = session.run([manifest.io.logits], feeds)[0]
    assert logits.shape == (1, 1, d.vocab_size)
