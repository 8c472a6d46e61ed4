"""The streaming converter writes exactly the stock builder's files (sha256), from every checkpoint layout."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from export.cli import main as export_main
from export.genai_builder import build_onnx
from export.options import BuildOptions
from export.pipeline import streaming_covers
from export.streaming import streaming_gap
from tests.helpers.checkpoint_layouts import layouts, tied


@pytest.fixture(scope="module")
def checkpoints(tiny_model: Path, tmp_path_factory) -> dict[str, Path]:
    return layouts(tiny_model / "hf", tmp_path_factory.mktemp("checkpoints"), "bf16-sharded", "bin")


def digests(folder: Path) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in ("model.onnx", "model.onnx.data")}


CASES = [
    ("fp32", "fp32", "cpu"),
    ("fp32", "fp16", "cpu"),
    ("fp32", "int4", "cpu"),
    ("fp32", "int8", "cpu"),
    ("bf16-sharded", "int4", "cpu"),
    ("bf16-sharded", "fp16", "cuda"),
    ("bf16-sharded", "int4", "cuda"),
    ("bf16-sharded", "fp32", "cpu"),
    ("bin", "int4", "cpu"),
]


@pytest.mark.parametrize("checkpoint,precision,target", CASES)
def test_streaming_output_is_byte_identical_to_the_stock_builder(checkpoints, tmp_path, checkpoint, precision, target):
    hf = checkpoints[checkpoint]
    extra = {"block_size": "32", "accuracy_level": "4"} if precision in ("int4", "int8") else {}
    built = {}
    for streaming in (False, True):
        out = tmp_path / f"streaming-{streaming}"
        build_onnx(hf, out, precision=precision, target=target, extra=extra, streaming=streaming)
        built[streaming] = digests(out)
        assert not (out / ".cache" / "streamed-initializers.data").exists()
    assert built[True] == built[False]


def test_the_quantized_nodes_are_captured_while_converting_not_at_save(checkpoints, tmp_path, caplog):
    """Every MatMul is quantized as its layer is converted (nothing is left for the in-memory save-time pass)."""
    build_onnx(checkpoints["fp32"], tmp_path / "int4", precision="int4", extra={"block_size": "32"})
    assert "[convert] streaming 1 safetensors file(s)" in caplog.text
    assert "quantized at save time" not in caplog.text
    assert "[convert] layer 4 of 4" in caplog.text


def test_checkpoints_the_streaming_path_does_not_cover_fall_back_with_a_log_line(tmp_path, caplog):
    llama = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    assert streaming_gap(llama) is None
    assert streaming_gap({**llama, "tie_word_embeddings": True}) == "tied input and output embeddings"
    assert streaming_gap(llama, trust_remote_code=True) == "checkpoints with their own modeling code"
    assert "MistralForCausalLM" in streaming_gap({**llama, "architectures": ["MistralForCausalLM"]})
    (tmp_path / "config.json").write_text(json.dumps({**llama, "tie_word_embeddings": True}))
    assert not streaming_covers(tmp_path, BuildOptions())
    assert "does not cover tied input and output embeddings: converting in memory" in caplog.text


def test_a_tied_checkpoint_is_exported_by_the_stock_builder(tiny_model: Path, tmp_path, caplog):
    """Tied embeddings: the build falls back to the in-memory builder, says so, and still passes its gate."""
    args = [
        "build",
        str(tied(tiny_model / "hf", tmp_path / "tied")),
        "--output",
        str(tmp_path / "out"),
        "--precision",
        "fp32",
        "--parity-tokens",
        "4",
        "--fidelity-tokens",
        "16",
    ]
    assert export_main(args) == 0
    assert "does not cover tied input and output embeddings: converting in memory" in caplog.text
    assert "module by module" not in caplog.text
    assert json.loads((tmp_path / "out" / "parity.json").read_text())["status"] == "passed"
