"""A deterministic small model with Magicoder's exact architecture, scaled down.

Magicoder-S-DS-6.7B is a LlamaForCausalLM with hidden 4096, 32 layers, 32 heads (no GQA),
intermediate 11008, vocab 32256, rope_theta 100000 with linear RoPE scaling x4, 16384 positions,
rms_norm_eps 1e-6 and an untied head.  The tiny model keeps every one of those choices except
the widths and depth, so the export and the engine walk exactly the code path of the real model.
"""

from __future__ import annotations

import json
import logging
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from lsp_server.magicoder import BOS, EOS, EOT, FIM_BEGIN, FIM_END, FIM_HOLE

from .tokenizer_export import copy_tokenizer

log = logging.getLogger(__name__)

# DeepSeek-Coder's added tokens, in its order (ids are read from the tokenizer, never assumed).
ADDED_TOKENS = [BOS, EOS, FIM_HOLE, FIM_BEGIN, FIM_END, "<pad>", "<|User|>", "<|Assistant|>", EOT]
SPECIAL_TOKENS = {BOS, EOS}  # only these two are "special" in DeepSeek's tokenizer


@dataclass(frozen=True)
class TinySpec:
    """Widths of the tiny model; everything else is Magicoder's."""

    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 8
    intermediate_size: int = 688  # 11008 / 16, same ratio as Magicoder
    seed: int = 1234
    trained_vocab: int = 4096  # only for the locally trained tokenizer
    vocab_size: int | None = None  # embedding rows; default: the tokenizer's size rounded up to 128


def magicoder_config_kwargs() -> dict:
    """The LlamaConfig fields that make a model Magicoder-shaped (widths apart)."""
    return dict(
        architectures=["LlamaForCausalLM"],
        hidden_act="silu",
        max_position_embeddings=16384,
        rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "linear", "factor": 4.0, "rope_theta": 100000.0},
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        initializer_range=0.02,
    )


def magicoder_config(
    tokenizer, *, vocab_size: int, hidden_size: int, intermediate_size: int, num_layers: int, num_heads: int, dtype: str
):
    """A LlamaConfig of Magicoder's architecture at the given widths, BOS/EOS read from ``tokenizer``."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        bos_token_id=tokenizer.token_to_id(BOS),
        eos_token_id=tokenizer.token_to_id(EOS),
        pad_token_id=None,
        dtype=dtype,
        **magicoder_config_kwargs(),
    )


def _stdlib_files(limit_bytes: int = 12_000_000) -> list[str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files, total = [], 0
    for path in sorted(root.glob("*.py")) + sorted(root.glob("*/*.py")):
        if "test" in path.parts or "site-packages" in path.parts:
            continue
        files.append(str(path))
        total += path.stat().st_size
        if total > limit_bytes:
            break
    return files


def train_tokenizer(out_dir: Path, vocab_size: int) -> None:
    """Train a byte-level BPE on the Python standard library with DeepSeek's added tokens.

    Used only when the real DeepSeek-Coder tokenizer folder is not given; it has the same
    special/added token strings, a BOS-adding post-processor and the same byte-level decoder.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"[\r\n]"), behavior="isolated"),
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    tok.train(_stdlib_files(), trainer)
    from tokenizers import AddedToken

    for text in ADDED_TOKENS:
        tok.add_tokens([AddedToken(text, special=text in SPECIAL_TOKENS, normalized=False)])
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": BOS,
                "eos_token": EOS,
                "pad_token": EOS,
                "add_bos_token": True,
                "add_eos_token": False,
                "model_max_length": 16384,
                "clean_up_tokenization_spaces": False,
            },
            indent=2,
        )
    )
    (out_dir / "special_tokens_map.json").write_text(
        json.dumps({"bos_token": BOS, "eos_token": EOS, "pad_token": EOS}, indent=2)
    )


def _round_up(n: int, multiple: int) -> int:
    return (n + multiple - 1) // multiple * multiple


def build_tiny_hf_model(out_dir: Path, spec: TinySpec, tokenizer_dir: Path | None) -> Path:
    """Write a Hugging Face model folder (config, safetensors, tokenizer) for the tiny model."""
    import torch
    from tokenizers import Tokenizer
    from transformers import LlamaForCausalLM

    out_dir.mkdir(parents=True, exist_ok=True)
    if tokenizer_dir is not None:
        copy_tokenizer(tokenizer_dir, out_dir)
    else:
        log.info("no --tokenizer given: training a byte-level BPE on the Python standard library")
        train_tokenizer(out_dir, spec.trained_vocab)
    tok = Tokenizer.from_file(str(out_dir / "tokenizer.json"))
    n_tokens = tok.get_vocab_size(with_added_tokens=True)
    # Magicoder's embedding has 32256 rows for 32022 tokens: keep that padding rule (multiple of 128).
    vocab = 32256 if n_tokens == 32022 else _round_up(n_tokens, 128)
    if spec.vocab_size is not None:
        if spec.vocab_size < n_tokens:
            raise ValueError(f"vocab_size {spec.vocab_size} is smaller than the tokenizer's {n_tokens} tokens")
        vocab = spec.vocab_size
    config = magicoder_config(
        tok,
        vocab_size=vocab,
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_layers=spec.num_layers,
        num_heads=spec.num_heads,
        dtype="float32",
    )
    torch.manual_seed(spec.seed)
    model = LlamaForCausalLM(config).eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    return out_dir
