"""Fill the engine's manifest from what the export produced: HF config, genai config, graph, tokenizer."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import onnx

from lsp_server.engine.manifest import (
    KV_CONCAT,
    KV_SHARED_BUFFER,
    Dims,
    IoNames,
    KvCache,
    Manifest,
    PromptFormat,
    SpecialTokens,
)

from .tiny import BOS, EOS, EOT, FIM_BEGIN, FIM_END, FIM_HOLE

_ONNX_TO_NP = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.FLOAT16: "float16"}
_VERSIONED = ("onnxruntime", "onnxruntime-genai", "onnx", "transformers", "torch", "tokenizers")


def package_versions() -> dict[str, str]:
    out = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def special_tokens(tokenizer_dir: Path) -> tuple[SpecialTokens, PromptFormat]:
    """Ids read from the tokenizer itself (never assumed), and the strings the prompts use."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    config_path = tokenizer_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}

    def token(name: str, default: str) -> str:
        value = config.get(name, default)
        return value["content"] if isinstance(value, dict) else value

    bos, eos = tok.token_to_id(token("bos_token", BOS)), tok.token_to_id(token("eos_token", EOS))
    if bos is None or eos is None:
        raise ValueError(f"the tokenizer in {tokenizer_dir} has no BOS/EOS token")
    ids = SpecialTokens(
        bos=bos,
        eos=eos,
        eot=tok.token_to_id(EOT),
        fim_begin=tok.token_to_id(FIM_BEGIN),
        fim_hole=tok.token_to_id(FIM_HOLE),
        fim_end=tok.token_to_id(FIM_END),
        pad=tok.token_to_id(token("pad_token", EOS)),
    )
    add_bos = bool(config.get("add_bos_token", True))
    return ids, PromptFormat(add_bos=add_bos)


def graph_kv(graph_path: Path, genai_config: dict) -> tuple[IoNames, KvCache]:
    """I/O names and the KV layout, read from the graph and the builder's genai_config.json."""
    decoder = genai_config["model"]["decoder"]
    inputs, outputs = decoder["inputs"], decoder["outputs"]
    model = onnx.load(str(graph_path), load_external_data=False)
    graph_inputs = {i.name: i for i in model.graph.input}
    past_key = inputs["past_key_names"]
    elem = graph_inputs[past_key % 0].type.tensor_type.elem_type
    shared = bool(genai_config.get("search", {}).get("past_present_share_buffer", False))
    fused = any(n.op_type == "GroupQueryAttention" for n in model.graph.node)
    io = IoNames(
        input_ids=inputs["input_ids"],
        attention_mask=inputs["attention_mask"],
        position_ids=inputs.get("position_ids") if inputs.get("position_ids") in graph_inputs else None,
        logits=outputs["logits"],
    )
    kv = KvCache(
        layout=KV_SHARED_BUFFER if (shared and fused) else KV_CONCAT,
        past_key=past_key,
        past_value=inputs["past_value_names"],
        present_key=outputs["present_key_names"],
        present_value=outputs["present_value_names"],
        dtype=_ONNX_TO_NP[elem],
    )
    return io, kv


def describe(folder: Path, hf_config, name: str, source: str, precision: str, target: str) -> Manifest:
    """The manifest for an exported folder (graph + genai_config.json + tokenizer files)."""
    genai = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))
    io, kv = graph_kv(folder / "model.onnx", genai)
    tokens, prompt = special_tokens(folder)
    heads = hf_config.num_attention_heads
    dims = Dims(
        num_layers=hf_config.num_hidden_layers,
        num_heads=heads,
        num_kv_heads=getattr(hf_config, "num_key_value_heads", None) or heads,
        head_dim=getattr(hf_config, "head_dim", None) or hf_config.hidden_size // heads,
        hidden_size=hf_config.hidden_size,
        vocab_size=hf_config.vocab_size,
        context_length=int(genai["model"]["context_length"]),
    )
    return Manifest(
        name=name,
        dims=dims,
        special_tokens=tokens,
        precision=precision,
        target=target,
        io=io,
        kv=kv,
        prompt=prompt,
        source=source,
        versions=package_versions(),
    )
