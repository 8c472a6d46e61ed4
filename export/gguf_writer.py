"""Hugging Face Llama folder -> llama.cpp GGUF (f32), for llama.cpp-based OpenAI-compatible servers.

Writes what llama.cpp's convert_hf_to_gguf.py writes for a LlamaForCausalLM (its conversion/llama.py
``LlamaModel`` and conversion/base.py ``TextModel``), with the ``gguf`` package's GGUFWriter and without
transformers: the hyper-parameters (linear RoPE scaling included), the tensors under llama.cpp's names
with the q/k row permutation, and the byte-level BPE vocabulary of tokenizer.json.

Tensors are streamed one at a time (tensor infos first, then each tensor converted and written), so a
7B checkpoint needs about one tensor of RAM, not the model.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np

from lsp_server.magicoder import EOT, FIM_BEGIN, FIM_END, FIM_HOLE

log = logging.getLogger(__name__)

ARCHITECTURE = "LlamaForCausalLM"
LOADABLE_DTYPES = ("F32", "BF16", "F16")  # safetensors dtype names this writer converts to f32

# llama.cpp identifies a BPE pre-tokenizer by hashing the ids of this text (convert_hf_to_gguf.py's
# get_vocab_base_pre, the tokenizer's post-processor included) and names the hashes it knows.
CHKTXT = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"  # noqa: E501, RUF001
KNOWN_PRE_TOKENIZERS = {
    # deepseek-ai/deepseek-coder-6.7b-base, Magicoder's tokenizer; llama.cpp's vocab loader maps
    # "deepseek-coder" to LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_CODER (src/llama-vocab.cpp).
    "347715f544604f9118bb75ed199f68779f423cabb20db6de6f31b908d04d7821": "deepseek-coder",
}

# Hugging Face tensor name -> llama.cpp's (gguf.TENSOR_NAMES for MODEL_ARCH.LLAMA).
GLOBAL_TENSORS = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
BLOCK_TENSORS = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)  # old checkpoints store RoPE's inverse frequencies; llama.cpp computes them


@dataclass(frozen=True)
class LlamaHParams:
    n_layers: int
    hidden: int
    ffn: int
    n_head: int
    n_head_kv: int
    head_dim: int
    head_dim_explicit: bool  # config.json names head_dim (convert then writes key/value lengths)
    context: int
    rms_eps: float
    rope_theta: float
    rope_linear_factor: float | None
    vocab_size: int
    tied: bool


def permute(weights: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """convert_hf_to_gguf.py's ``LlamaModel.permute`` for q_proj/k_proj rows.

    Hugging Face's Llama rotates the two halves of each head (rotate_half); llama.cpp's LLAMA rope is the
    original interleaved one (pairs 2i, 2i+1), so within each head the rows are reordered from
    [x0..x(d/2-1), y0..y(d/2-1)] to [x0, y0, x1, y1, ...].  k_proj is permuted with the KV head count.
    """
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def unpermute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """The inverse of ``permute`` (llama.cpp's row order back to Hugging Face's)."""
    return (
        weights.reshape(n_head, weights.shape[0] // n_head // 2, 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def read_hparams(config: dict[str, Any]) -> LlamaHParams:
    """The hyper-parameters convert_hf_to_gguf.py reads for a LlamaForCausalLM; refuses anything else."""
    archs = config.get("architectures") or []
    if archs != [ARCHITECTURE]:
        raise ValueError(f"only {ARCHITECTURE} checkpoints can be written as GGUF by this writer, not {archs or '?'}")
    if config.get("quantization_config"):
        method = config["quantization_config"].get("quant_method", "?")
        raise ValueError(f"the checkpoint is quantized ({method}); an f32, bf16 or f16 checkpoint is needed")
    if config.get("attention_bias") or config.get("mlp_bias"):
        raise ValueError("Llama checkpoints with attention or MLP biases are not supported by this writer")
    n_head = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    head_dim = config.get("head_dim")
    # transformers 5 saves rope_parameters (rope_type, factor, rope_theta); older configs rope_scaling
    # ({"type" or "rope_type", "factor"}) beside a top-level rope_theta.  Same merge as TextModel.__init__.
    rope = dict(config.get("rope_parameters") or config.get("rope_scaling") or {})
    rope_theta = rope.get("rope_theta", config.get("rope_theta", 10000.0))
    rope_type = rope.get("rope_type", rope.get("type"))
    factor = None
    if rope_type in (None, "default"):
        pass
    elif rope_type == "linear":
        if rope.get("factor") is None:
            raise ValueError("linear RoPE scaling without a factor in config.json")
        factor = float(rope["factor"])
    else:
        raise ValueError(f"RoPE scaling {rope_type!r} is not supported by this writer (none or linear)")
    return LlamaHParams(
        n_layers=int(config["num_hidden_layers"]),
        hidden=hidden,
        ffn=int(config["intermediate_size"]),
        n_head=n_head,
        n_head_kv=int(config.get("num_key_value_heads") or n_head),
        head_dim=int(head_dim) if head_dim else hidden // n_head,
        head_dim_explicit=head_dim is not None,
        context=int(config["max_position_embeddings"]),
        rms_eps=float(config["rms_norm_eps"]),
        rope_theta=float(rope_theta),
        rope_linear_factor=factor,
        vocab_size=int(config["vocab_size"]),
        tied=bool(config.get("tie_word_embeddings", False)),
    )


# --- tensors ---------------------------------------------------------------------------------------------


def _safetensors_files(hf_dir: Path) -> list[Path]:
    index = hf_dir / "model.safetensors.index.json"
    if index.is_file():
        return [hf_dir / name for name in sorted(set(_read_json(index)["weight_map"].values()))]
    files = sorted(hf_dir.glob("*.safetensors"))
    if not files:
        raise ValueError(f"{hf_dir} has no safetensors weights (pytorch .bin checkpoints are not read)")
    return files


def _tensor_plan(hf_dir: Path, hp: LlamaHParams) -> list[tuple[str, str, Path, tuple[int, ...]]]:
    """(gguf name, HF name, file, HF shape) in llama.cpp's order; checks names and dtypes before anything is written."""
    from safetensors import safe_open

    found: dict[str, tuple[Path, tuple[int, ...]]] = {}
    for path in _safetensors_files(hf_dir):
        with safe_open(str(path), framework="pt") as f:
            for name in f.keys():
                if name.endswith(IGNORED_SUFFIXES):
                    continue
                part = f.get_slice(name)
                dtype = part.get_dtype()
                if dtype not in LOADABLE_DTYPES:
                    raise ValueError(
                        f"{path.name}: tensor {name} is {dtype}; only f32, bf16 or f16 checkpoints can be converted"
                    )
                found[name] = (path, tuple(part.get_shape()))
    wanted: list[tuple[str, str]] = [("token_embd.weight", "model.embed_tokens.weight")]
    for i in range(hp.n_layers):
        wanted += [(f"blk.{i}.{ours}", f"model.layers.{i}.{hf}") for hf, ours in BLOCK_TENSORS.items()]
    wanted.append(("output_norm.weight", "model.norm.weight"))
    if "lm_head.weight" in found or not hp.tied:
        wanted.append(("output.weight", "lm_head.weight"))  # a tied model has none: llama.cpp reuses token_embd
    missing = [hf for _, hf in wanted if hf not in found]
    if missing:
        raise ValueError(f"{hf_dir}: tensors missing for a Llama model: {', '.join(missing[:5])}")
    unknown = sorted(set(found) - {hf for _, hf in wanted})
    if unknown:
        raise ValueError(f"{hf_dir}: tensors this writer does not know for a Llama model: {', '.join(unknown[:5])}")
    return [(g, hf, found[hf][0], found[hf][1]) for g, hf in wanted]


def _load_f32(path: Path, name: str) -> np.ndarray:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        tensor = f.get_tensor(name)
    return tensor.float().numpy()  # torch: numpy has no bfloat16


def _gguf_tensor(hf_name: str, data: np.ndarray, hp: LlamaHParams) -> np.ndarray:
    if hf_name.endswith("self_attn.q_proj.weight"):
        data = permute(data, hp.n_head, hp.n_head)
    elif hf_name.endswith("self_attn.k_proj.weight"):
        data = permute(data, hp.n_head, hp.n_head_kv)
    return np.ascontiguousarray(data, dtype=np.float32)


# --- vocabulary -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocab:
    pre: str
    tokens: list[str]
    types: list[int]
    merges: list[str]
    bos_id: int | None
    eos_id: int | None
    pad_id: int | None
    add_bos: bool
    add_eos: bool
    eot_id: int | None
    fim_ids: dict[str, int]  # "pre" / "suf" / "mid" -> id


def _token_content(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value


def detect_pre_tokenizer(tokenizer_json: Path) -> str | None:
    """llama.cpp's name for the tokenizer's pre-tokenizer, found as convert_hf_to_gguf.py finds it, or None."""
    from tokenizers import Tokenizer

    ids = Tokenizer.from_file(str(tokenizer_json)).encode(CHKTXT).ids
    return KNOWN_PRE_TOKENIZERS.get(sha256(str(ids).encode()).hexdigest())


def read_vocab(hf_dir: Path, vocab_size: int, pre: str | None = None) -> Vocab:
    """tokenizer.json's byte-level BPE as llama.cpp's "gpt2" tokenizer model.

    Token types, compared with llama.cpp's own models/ggml-vocab-deepseek-coder.gguf:
    - the tokenizer's "special" added tokens (BOS, EOS) are CONTROL, as everywhere;
    - every other added token (FIM markers, EOT, pad, chat markers, DeepSeek's single-character added
      tokens) is USER_DEFINED, as in that file.  convert_hf_to_gguf.py's does_token_look_special would make
      the FIM/EOT/chat/pad tokens CONTROL instead; CONTROL tokens come back as empty text from llama.cpp's
      detokenizer unless asked for, and our clients stop on these tokens' text, so they must stay visible.
      USER_DEFINED tokens are also matched whole in prompts, as `tokenizers` matches added tokens;
    - padding rows up to the embedding size are "[PAD{i}]" of type UNUSED, as current convert writes them
      (that older file has them USER_DEFINED);
    - unlike that file, EOT and the FIM ids are named in the metadata: llama.cpp then does not look the FIM
      tokens up by text, which would force them to CONTROL (llama-vocab.cpp's auto-detection), and it ends
      generation on EOT (an end-of-generation token like EOS) instead of generating past it.
    """
    tokenizer_json = hf_dir / "tokenizer.json"
    if not tokenizer_json.is_file():
        raise ValueError(f"{hf_dir} has no tokenizer.json (a Hugging Face fast tokenizer is needed)")
    tok = _read_json(tokenizer_json)
    model = tok.get("model") or {}
    if model.get("type") != "BPE" or (tok.get("decoder") or {}).get("type") != "ByteLevel":
        raise ValueError("only byte-level BPE tokenizers (tokenizer.json model BPE, ByteLevel decoder) are supported")
    if pre is None:
        pre = detect_pre_tokenizer(tokenizer_json)
        if pre is None:
            raise ValueError(
                "llama.cpp has no pre-tokenizer known to match this tokenizer's (its fingerprint is not "
                "DeepSeek-Coder's); name one knowingly with --tokenizer-pre"
            )
    by_id: dict[int, str] = {int(i): text for text, i in model["vocab"].items()}
    types = {i: 1 for i in by_id}  # gguf.TokenType.NORMAL
    added = {int(t["id"]): t for t in tok.get("added_tokens", [])}
    for i, t in added.items():
        by_id[i] = t["content"]
        types[i] = 3 if t.get("special") else 4  # CONTROL / USER_DEFINED
    if max(by_id) >= vocab_size:
        raise ValueError(f"the tokenizer has id {max(by_id)}, beyond the model's vocab_size {vocab_size}")
    tokens, token_types = [], []
    for i in range(vocab_size):
        if i in by_id:
            tokens.append(by_id[i])
            token_types.append(types[i])
        else:
            tokens.append(f"[PAD{i}]")
            token_types.append(5)  # UNUSED
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]

    cfg_path = hf_dir / "tokenizer_config.json"
    tcfg = _read_json(cfg_path) if cfg_path.is_file() else {}
    ids = {text: i for i, text in by_id.items()}

    def special_id(key: str) -> int | None:
        text = _token_content(tcfg.get(key))
        return ids.get(text) if text else None

    post = json.dumps(tok.get("post_processor") or {})
    bos_id = special_id("bos_token")
    add_bos = bool(tcfg.get("add_bos_token", bos_id is not None and by_id[bos_id] in post))
    fim = {"pre": FIM_BEGIN, "suf": FIM_HOLE, "mid": FIM_END}
    return Vocab(
        pre=pre,
        tokens=tokens,
        types=token_types,
        merges=merges,
        bos_id=bos_id,
        eos_id=special_id("eos_token"),
        pad_id=special_id("pad_token"),
        add_bos=add_bos,
        add_eos=bool(tcfg.get("add_eos_token", False)),
        eot_id=ids.get(EOT),
        fim_ids={k: ids[text] for k, text in fim.items() if text in ids},
    )


# --- writing ----------------------------------------------------------------------------------------------


def _add_metadata(writer: Any, hp: LlamaHParams, vocab: Vocab, name: str) -> None:
    import gguf

    writer.add_name(name)
    writer.add_block_count(hp.n_layers)
    writer.add_context_length(hp.context)
    writer.add_embedding_length(hp.hidden)
    writer.add_feed_forward_length(hp.ffn)
    writer.add_head_count(hp.n_head)
    writer.add_head_count_kv(hp.n_head_kv)
    if hp.rope_linear_factor is not None:
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(hp.rope_linear_factor)
    writer.add_rope_freq_base(hp.rope_theta)
    writer.add_layer_norm_rms_eps(hp.rms_eps)
    if hp.head_dim_explicit:
        writer.add_key_length(hp.head_dim)
        writer.add_value_length(hp.head_dim)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_vocab_size(hp.vocab_size)
    writer.add_rope_dimension_count(hp.head_dim)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    writer.add_token_merges(vocab.merges)
    if vocab.bos_id is not None:
        writer.add_bos_token_id(vocab.bos_id)
    if vocab.eos_id is not None:
        writer.add_eos_token_id(vocab.eos_id)
    if vocab.pad_id is not None:
        writer.add_pad_token_id(vocab.pad_id)
    writer.add_add_bos_token(vocab.add_bos)
    writer.add_add_eos_token(vocab.add_eos)
    if vocab.eot_id is not None:
        writer.add_eot_token_id(vocab.eot_id)
    tk = gguf.Keys.Tokenizer
    keys = {"pre": tk.FIM_PRE_ID, "suf": tk.FIM_SUF_ID, "mid": tk.FIM_MID_ID}
    for kind, token_id in vocab.fim_ids.items():
        writer.add_uint32(keys[kind], token_id)


def _tensors(plan: list[tuple[str, str, Path, tuple[int, ...]]], hp: LlamaHParams) -> Iterator[np.ndarray]:
    for _, hf_name, path, _ in plan:
        yield _gguf_tensor(hf_name, _load_f32(path, hf_name), hp)


def write_gguf(hf_dir: Path, output: Path, *, name: str | None = None, tokenizer_pre: str | None = None) -> Path:
    """Write ``output`` (an f32 llama GGUF) from a Hugging Face LlamaForCausalLM folder; returns its path.

    Refuses (ValueError) other architectures, quantized or non-float weights, unknown RoPE scaling and
    tokenizers that are not byte-level BPE.  The file appears only once complete.
    """
    import gguf

    hf_dir = Path(hf_dir)
    config_path = hf_dir / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{hf_dir} has no config.json (a Hugging Face model folder is needed)")
    hp = read_hparams(_read_json(config_path))
    plan = _tensor_plan(hf_dir, hp)
    vocab = read_vocab(hf_dir, hp.vocab_size, tokenizer_pre)

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    writer = gguf.GGUFWriter(partial, "llama")
    try:
        _add_metadata(writer, hp, vocab, name or hf_dir.resolve().name)
        for gguf_name, _, _, shape in plan:
            writer.add_tensor_info(gguf_name, shape, np.dtype(np.float32), int(np.prod(shape)) * 4)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for tensor in _tensors(plan, hp):
            writer.write_tensor_data(tensor)
        writer.close()
        os.replace(partial, output)
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    log.info("wrote %s (%d tensors, vocab %d, pre-tokenizer %s)", output, len(plan), hp.vocab_size, vocab.pre)
    return output
