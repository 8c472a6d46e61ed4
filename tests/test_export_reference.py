"""The layer-by-layer parity reference gives transformers' own fp32 logits (bit for bit where BLAS allows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from export.reference import full_model_logits, reference_logits, streamed_logits, streams
from tests.helpers.checkpoint_layouts import layouts

SEQUENCES = [
    [32013, 1, 5, 9, 200, 17] * 9,
    list(range(3, 250)),
    [100, 2000, 5],
    [7],
]


@pytest.fixture(scope="module")
def checkpoints(tiny_model: Path, tmp_path_factory) -> dict[str, Path]:
    return layouts(tiny_model / "hf", tmp_path_factory.mktemp("reference"), "bf16-sharded", "tied")


@pytest.mark.parametrize("checkpoint", ["fp32", "bf16-sharded", "tied"])
def test_streamed_logits_equal_the_full_models(checkpoints, checkpoint):
    vocab = 32256
    seqs = [[t % vocab for t in s] for s in SEQUENCES]
    streamed = streamed_logits(checkpoints[checkpoint], seqs)
    full = full_model_logits(checkpoints[checkpoint], seqs)
    assert [a.shape for a in streamed] == [(len(s), vocab) for s in seqs]
    for a, b in zip(streamed, full, strict=False):
        assert a.dtype == np.float32 and np.isfinite(a).all()
        # Same kernels on the same inputs: equal bits, except that BLAS may accumulate a one-row product
        # (a 1-token sequence) in another order depending on where the weights happen to lie in memory.
        assert np.abs(a - b).max() <= 1e-6
    assert sum(np.array_equal(a, b) for a, b in zip(streamed, full, strict=False)) >= len(seqs) - 1


def test_architectures_it_does_not_stream_use_the_full_model(tmp_path, caplog):
    from transformers import MistralConfig, MistralForCausalLM

    config = MistralConfig(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    MistralForCausalLM(config).save_pretrained(tmp_path)
    seqs = [[1, 2, 3, 4], [5, 6]]
    assert not streams({"architectures": ["MistralForCausalLM"]})
    assert not streams({"architectures": ["LlamaForCausalLM"], "auto_map": {"AutoModel": "x.Y"}})
    assert streams({"architectures": ["LlamaForCausalLM"]})
    got = reference_logits(tmp_path, seqs)
    assert "loads the whole model in fp32" in caplog.text
    for a, b in zip(got, full_model_logits(tmp_path, seqs), strict=False):
        assert np.array_equal(a, b)
