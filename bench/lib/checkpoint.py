"""A random-weight Hugging Face checkpoint of Magicoder-S-DS-6.7B's exact shape, written tensor by tensor
(`python -m bench.fullsize_checkpoint` writes one alone).

Writes config.json (LlamaForCausalLM, Magicoder's config, bfloat16), bf16 safetensors shards named and
keyed as transformers saves a Llama, model.safetensors.index.json and the DeepSeek-Coder tokenizer files.
Each tensor is generated (normal x 0.02, norms ones; seeded per tensor name, so any tensor can be
regenerated alone) and appended to its shard, whose header was written first: memory holds one tensor
at a time, never the model.
"""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bench.lib.paths import SHARED_TOKENIZER

FULL_WIDTH = dict(hidden_size=4096, num_heads=32, intermediate_size=11008, vocab_size=32256)  # Magicoder-S-DS-6.7B

BF16_BYTES = 2
TINY_WIDTH = dict(hidden_size=256, num_heads=8, intermediate_size=688, vocab_size=FULL_WIDTH["vocab_size"])
WIDTHS = {"full": FULL_WIDTH, "tiny": TINY_WIDTH}
INDEX = "model.safetensors.index.json"


@dataclass(frozen=True)
class CheckpointSpec:
    """Magicoder-S-DS-6.7B's shape (the layer count and, for tests, the widths can change)."""

    layers: int = 32
    hidden_size: int = FULL_WIDTH["hidden_size"]
    num_heads: int = FULL_WIDTH["num_heads"]
    intermediate_size: int = FULL_WIDTH["intermediate_size"]
    vocab_size: int = FULL_WIDTH["vocab_size"]
    seed: int = 0
    std: float = 0.02
    shard_bytes: int = 5 * 10**9

    @classmethod
    def of_width(cls, width: str, **fields) -> CheckpointSpec:
        return replace(cls(**fields), **WIDTHS[width])


def tensor_shapes(spec: CheckpointSpec) -> list[tuple[str, tuple[int, ...]]]:
    """Every tensor, named as transformers names LlamaForCausalLM's, in the order it saves them."""
    h, i = spec.hidden_size, spec.intermediate_size
    shapes: list[tuple[str, tuple[int, ...]]] = [("model.embed_tokens.weight", (spec.vocab_size, h))]
    for n in range(spec.layers):
        p = f"model.layers.{n}"
        shapes += [(f"{p}.self_attn.{x}_proj.weight", (h, h)) for x in "qkvo"]
        shapes += [
            (f"{p}.mlp.gate_proj.weight", (i, h)),
            (f"{p}.mlp.up_proj.weight", (i, h)),
            (f"{p}.mlp.down_proj.weight", (h, i)),
        ]
        shapes += [(f"{p}.input_layernorm.weight", (h,)), (f"{p}.post_attention_layernorm.weight", (h,))]
    return [*shapes, ("model.norm.weight", (h,)), ("lm_head.weight", (spec.vocab_size, h))]


def nbytes(shape: tuple[int, ...]) -> int:
    size = BF16_BYTES
    for dim in shape:
        size *= dim
    return size


def tensor_values(name: str, shape: tuple[int, ...], spec: CheckpointSpec):
    """The bf16 tensor ``name`` holds: ones for norms, else normal x std, seeded by (seed, name)."""
    import torch

    if name.endswith("norm.weight"):
        return torch.ones(shape, dtype=torch.bfloat16)
    generator = torch.Generator().manual_seed((spec.seed << 32) | zlib.crc32(name.encode()))
    return torch.empty(shape, dtype=torch.bfloat16).normal_(0.0, spec.std, generator=generator)


def plan_shards(shapes: list[tuple[str, tuple[int, ...]]], shard_bytes: int) -> list[list[tuple[str, tuple[int, ...]]]]:
    """Tensors in order, a new shard when the next one would pass ``shard_bytes`` (as transformers splits)."""
    shards: list[list[tuple[str, tuple[int, ...]]]] = [[]]
    size = 0
    for name, shape in shapes:
        if shards[-1] and size + nbytes(shape) > shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append((name, shape))
        size += nbytes(shape)
    return shards


def shard_names(count: int) -> list[str]:
    """Sharded names even for one shard: the index is always there to be read."""
    return [f"model-{k:05d}-of-{count:05d}.safetensors" for k in range(1, count + 1)]


def safetensors_header(entries: list[tuple[str, tuple[int, ...]]]) -> bytes:
    """8-byte little-endian length + JSON header (offsets in entry order), padded with spaces to 8 bytes."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in entries:
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes(shape)]}
        offset += nbytes(shape)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def write_shard(path: Path, entries: list[tuple[str, tuple[int, ...]]], spec: CheckpointSpec) -> int:
    """Header first, then each tensor's bytes as soon as it is generated; returns the file's size."""
    import torch

    with open(path, "wb") as f:
        f.write(safetensors_header(entries))
        for name, shape in entries:
            f.write(tensor_values(name, shape, spec).view(torch.int16).numpy().data)
        f.flush()
        os.fsync(f.fileno())
    return path.stat().st_size


def write_index(folder: Path, shards: list[list[tuple[str, tuple[int, ...]]]], names: list[str]) -> None:
    weight_map = {name: file for entries, file in zip(shards, names, strict=False) for name, _ in entries}
    total = sum(nbytes(shape) for entries in shards for _, shape in entries)
    params = total // BF16_BYTES
    index = {"metadata": {"total_parameters": params, "total_size": total}, "weight_map": weight_map}
    (folder / INDEX).write_text(json.dumps(index, indent=2) + "\n")


def write_config(folder: Path, spec: CheckpointSpec, tokenizer_dir: Path) -> None:
    """config.json as transformers 5 saves Magicoder's LlamaConfig; the tokenizer files beside it."""
    from tokenizers import Tokenizer

    from export.tiny import magicoder_config
    from export.tokenizer_export import copy_tokenizer

    copy_tokenizer(tokenizer_dir, folder)
    config = magicoder_config(
        Tokenizer.from_file(str(folder / "tokenizer.json")),
        vocab_size=spec.vocab_size,
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_layers=spec.layers,
        num_heads=spec.num_heads,
        dtype="bfloat16",
    )
    config.save_pretrained(folder)


def write_checkpoint(folder: Path, spec: CheckpointSpec, tokenizer_dir: Path = SHARED_TOKENIZER) -> dict:
    """Write the whole checkpoint folder; returns what was written (bytes, shards, seconds)."""
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    write_config(folder, spec, tokenizer_dir)
    shards = plan_shards(tensor_shapes(spec), spec.shard_bytes)
    names = shard_names(len(shards))
    write_index(folder, shards, names)
    size = sum(write_shard(folder / file, entries, spec) for entries, file in zip(shards, names, strict=False))
    seconds = round(time.perf_counter() - start, 1)
    return {"bytes": size, "shards": len(shards), "seconds": seconds, "spec": asdict(spec)}
