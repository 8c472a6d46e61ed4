"""The tiny model's checkpoint in the other layouts the exporter reads: bf16 shards with an index, .bin shards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def copy_files(src: Path, dst: Path, names: tuple[str, ...] = TOKENIZER_FILES) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)


def bf16_sharded(src: Path, dst: Path) -> Path:
    """The tiny checkpoint in bf16, three safetensors shards and an index (as the Hub's Magicoder is laid out)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.bfloat16)
    model.save_pretrained(dst, max_shard_size="8MB")  # its config.json says bfloat16
    copy_files(src, dst)
    assert len(list(dst.glob("model-*.safetensors"))) > 1
    return dst


def bin_shards(src: Path, dst: Path) -> Path:
    """PyTorch .bin shards (fp16 tensors under an fp32 config: transformers upcasts them) with their index."""
    state = load_file(src / "model.safetensors")
    names = list(state)
    weight_map = {}
    for i, part in enumerate((names[: len(names) // 2], names[len(names) // 2 :]), start=1):
        shard = f"pytorch_model-{i:05d}-of-00002.bin"
        dst.mkdir(parents=True, exist_ok=True)
        torch.save({k: state[k].to(torch.float16) for k in part}, dst / shard)
        weight_map.update(dict.fromkeys(part, shard))
    (dst / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    copy_files(src, dst, ("config.json", *TOKENIZER_FILES))
    return dst


def tied(src: Path, dst: Path) -> Path:
    """The tiny checkpoint with its LM head tied to the embedding (the checkpoint holds the embedding only)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    model.config.tie_word_embeddings = True
    model.tie_weights()
    model.save_pretrained(dst)
    copy_files(src, dst)
    assert "lm_head.weight" not in load_file(dst / "model.safetensors")
    return dst


LAYOUTS = {"bf16-sharded": bf16_sharded, "bin": bin_shards, "tied": tied}


def layouts(src: Path, root: Path, *names: str) -> dict[str, Path]:
    """The fp32 checkpoint ``src`` and, under ``root``, the named layouts of it."""
    return {"fp32": src, **{name: LAYOUTS[name](src, root / name) for name in names}}
