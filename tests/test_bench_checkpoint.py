"""The full-size benchmark's checkpoint writer, at a tiny width: transformers loads it, every tensor reads back."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, cast

import pytest
import torch
from safetensors import safe_open

from bench.lib.checkpoint import (
    INDEX,
    CheckpointSpec,
    plan_shards,
    safetensors_header,
    tensor_shapes,
    tensor_values,
    write_checkpoint,
)
from tests.helpers.markers import needs_real_tokenizer
from tests.helpers.paths import SHARED_TOKENIZER

# Small shards: the embedding and the head each get their own, the layer another (3 files).
SPEC = CheckpointSpec.of_width("tiny", layers=1, seed=7, shard_bytes=10_000_000)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("fullsize") / "hf"
    return folder, write_checkpoint(folder, SPEC, SHARED_TOKENIZER)


def test_names_and_shapes_are_transformers_llama() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=SPEC.vocab_size,
        hidden_size=SPEC.hidden_size,
        num_hidden_layers=2,
        intermediate_size=SPEC.intermediate_size,
        num_attention_heads=SPEC.num_heads,
        num_key_value_heads=SPEC.num_heads,
        tie_word_embeddings=False,
    )
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert dict(tensor_shapes(CheckpointSpec.of_width("tiny", layers=2))) == expected


def test_header_is_padded_and_contiguous() -> None:
    entries = tensor_shapes(SPEC)[:3]
    raw = safetensors_header(entries)
    length = int.from_bytes(raw[:8], "little")
    assert length == len(raw) - 8 and length % 8 == 0
    header = json.loads(raw[8:])
    assert header.pop("__metadata__") == {"format": "pt"}
    spans = [header[name]["data_offsets"] for name, _ in entries]
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_shards_split_before_the_limit() -> None:
    shards = plan_shards(tensor_shapes(SPEC), SPEC.shard_bytes)
    assert [entries[0][0] for entries in shards] == [
        "model.embed_tokens.weight",
        "model.layers.0.self_attn.q_proj.weight",
        "lm_head.weight",
    ]


@needs_real_tokenizer
def test_every_tensor_reads_back(checkpoint) -> None:
    folder, info = checkpoint
    index = json.loads((folder / INDEX).read_text())
    assert info["shards"] == 3 == len(set(index["weight_map"].values()))
    assert list(index["weight_map"]) == [name for name, _ in tensor_shapes(SPEC)]
    assert index["metadata"]["total_size"] == sum(f.stat().st_size for f in folder.glob("*.safetensors")) - sum(
        8 + int.from_bytes(f.read_bytes()[:8], "little") for f in folder.glob("*.safetensors")
    )
    for name, shape in tensor_shapes(SPEC):
        with safe_open(folder / index["weight_map"][name], framework="pt") as f:
            assert f.metadata() == {"format": "pt"}
            got = f.get_tensor(name)
        assert got.dtype == torch.bfloat16 and tuple(got.shape) == shape
        assert torch.equal(got, tensor_values(name, shape, SPEC)), name
    weights = tensor_values("model.layers.0.mlp.up_proj.weight", (SPEC.intermediate_size, SPEC.hidden_size), SPEC)
    assert 0.018 < weights.float().std().item() < 0.022


@needs_real_tokenizer
def test_transformers_loads_it_as_magicoder(checkpoint) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel

    folder, _ = checkpoint
    config = AutoConfig.from_pretrained(folder)
    assert config.rope_parameters == {"rope_type": "linear", "factor": 4.0, "rope_theta": 100000.0}
    assert (config.max_position_embeddings, config.rms_norm_eps, config.tie_word_embeddings) == (16384, 1e-6, False)
    assert (config.bos_token_id, config.eos_token_id, config.dtype) == (32013, 32014, torch.bfloat16)
    assert config.num_key_value_heads == config.num_attention_heads == SPEC.num_heads
    # transformers annotates from_pretrained as returning the model; output_loading_info=True makes it a pair.
    model, info = cast(
        "tuple[PreTrainedModel, dict[str, Any]]",
        AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, output_loading_info=True),
    )
    assert type(model).__name__ == "LlamaForCausalLM"
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    state = model.state_dict()
    for name, shape in tensor_shapes(SPEC):
        assert torch.equal(state[name], tensor_values(name, shape, SPEC).float()), name
