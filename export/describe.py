"""Fill the engine's manifest from a model folder: graph I/O, KV layout, dims, tokenizer.

Works for the builder's folders (genai_config.json beside the graph), optimum's (config.json beside
the graph) and ONNX LLM folders other tools produced in either KV layout, as long as the folder holds
an ONNX decoder graph, tokenizer.json (+ tokenizer_config.json for BOS/EOS names) and either
genai_config.json or a Hugging Face config.json for the dims.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
from lsp_server.magicoder import BOS, EOS, EOT, FIM_BEGIN, FIM_END, FIM_HOLE

_ONNX_TO_NP = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.FLOAT16: "float16"}
_VERSIONED = ("onnxruntime", "onnxruntime-genai", "onnx", "transformers", "torch", "tokenizers", "optimum-onnx")
GRAPH_NAMES = ("model.onnx", "decoder_model_merged.onnx")
# past_key_values.0.key, past_key_values_0_key, past.0.key ... -> (prefix, layer, kind)
_KV_NAME = re.compile(r"^(?P<head>.*?)(?P<layer>\d+)(?P<tail>\D*?(?P<kind>key|value)\D*)$")


class DescribeError(ValueError):
    """The folder lacks what a manifest needs; the message names it."""


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
        raise DescribeError(f"the tokenizer in {tokenizer_dir} has no BOS/EOS token")
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


def find_graph(folder: Path) -> Path:
    for name in GRAPH_NAMES:
        if (folder / name).is_file():
            return folder / name
    candidates = sorted(folder.glob("*.onnx"))
    if len(candidates) == 1:
        return candidates[0]
    found = ", ".join(p.name for p in candidates) or "none"
    raise DescribeError(f"{folder}: expected one ONNX decoder graph ({' or '.join(GRAPH_NAMES)}); found {found}")


def _kv_template(names: list[str], kind: str) -> tuple[str, list[int]]:
    """'past_key_values.%d.key' and the layers found, for the names of one kind (key or value)."""
    templates: dict[str, list[int]] = {}
    for name in names:
        m = _KV_NAME.match(name)
        if m and m["kind"] == kind:
            templates.setdefault(f"{m['head']}%d{m['tail']}", []).append(int(m["layer"]))
    if len(templates) != 1:
        raise DescribeError(f"cannot tell the {kind} cache names apart in {sorted(names)[:6]}")
    ((template, layers),) = templates.items()
    return template, sorted(layers)


@dataclass(frozen=True)
class GraphInfo:
    io: IoNames
    kv: KvCache
    num_layers: int
    fused_attention: bool
    kv_shape: tuple  # [batch, kv_heads, sequence, head_dim] with symbolic dims as strings
    vocab: int | str
    precision: str


def _shape(value_info) -> tuple:
    return tuple(d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim)


def graph_info(graph_path: Path, genai_config: dict | None = None) -> GraphInfo:
    """I/O names, KV layout and precision, read from the graph (and the builder's genai_config.json)."""
    try:
        model = onnx.load(str(graph_path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and others: whatever it is, it is no graph we can read
        raise DescribeError(f"{graph_path} is not an ONNX model ({exc})") from exc
    inputs = {i.name: i for i in model.graph.input}
    outputs = {o.name: o for o in model.graph.output}
    cache_in = [n for n in inputs if _KV_NAME.match(n) and n not in ("input_ids", "attention_mask")]
    cache_out = [n for n in outputs if _KV_NAME.match(n)]
    past_key, layers = _kv_template(cache_in, "key")
    past_value, _ = _kv_template(cache_in, "value")
    present_key, out_layers = _kv_template(cache_out, "key")
    present_value, _ = _kv_template(cache_out, "value")
    if layers != list(range(len(layers))) or out_layers != layers:
        raise DescribeError(f"{graph_path.name}: cache inputs cover layers {layers}, outputs {out_layers}")
    for name in ("input_ids", "attention_mask"):
        if name not in inputs:
            raise DescribeError(f"{graph_path.name} has no {name} input (inputs: {sorted(inputs)[:5]}...)")
    if "logits" not in outputs:
        raise DescribeError(f"{graph_path.name} has no logits output")
    ops = {n.op_type for n in model.graph.node}
    nbits = {a.i for n in model.graph.node if n.op_type == "MatMulNBits" for a in n.attribute if a.name == "bits"}
    fused = "GroupQueryAttention" in ops
    shared = fused if genai_config is None else bool(genai_config.get("search", {}).get("past_present_share_buffer"))
    elem = inputs[past_key % 0].type.tensor_type.elem_type
    if elem not in _ONNX_TO_NP:
        raise DescribeError(f"{graph_path.name}: unsupported KV cache element type {elem}")
    dtype = _ONNX_TO_NP[elem]
    precision = f"int{max(nbits)}" if nbits else ("fp16" if dtype == "float16" else "fp32")
    io = IoNames(position_ids="position_ids" if "position_ids" in inputs else None)
    kv = KvCache(
        layout=KV_SHARED_BUFFER if (shared and fused) else KV_CONCAT,
        past_key=past_key,
        past_value=past_value,
        present_key=present_key,
        present_value=present_value,
        dtype=dtype,
    )
    logits_shape = _shape(outputs["logits"])
    return GraphInfo(io, kv, len(layers), fused, _shape(inputs[past_key % 0]), logits_shape[-1], precision)


def dims_from(folder: Path, hf_config=None, context_length: int | None = None) -> Dims:
    """Dims from a transformers config object, else genai_config.json, else config.json."""
    genai_path, config_path = folder / "genai_config.json", folder / "config.json"
    if hf_config is None and genai_path.is_file():
        model = json.loads(genai_path.read_text(encoding="utf-8"))["model"]
        d = model["decoder"]
        return Dims(
            num_layers=d["num_hidden_layers"],
            num_heads=d["num_attention_heads"],
            num_kv_heads=d["num_key_value_heads"],
            head_dim=d["head_size"],
            hidden_size=d["hidden_size"],
            vocab_size=model["vocab_size"],
            context_length=context_length or int(model["context_length"]),
        )
    if hf_config is None:
        if not config_path.is_file():
            raise DescribeError(f"{folder} has neither genai_config.json nor config.json: the dims are unknown")
        from types import SimpleNamespace

        hf_config = SimpleNamespace(**json.loads(config_path.read_text(encoding="utf-8")))
    heads = hf_config.num_attention_heads
    return Dims(
        num_layers=hf_config.num_hidden_layers,
        num_heads=heads,
        num_kv_heads=getattr(hf_config, "num_key_value_heads", None) or heads,
        head_dim=getattr(hf_config, "head_dim", None) or hf_config.hidden_size // heads,
        hidden_size=hf_config.hidden_size,
        vocab_size=hf_config.vocab_size,
        context_length=context_length or hf_config.max_position_embeddings,
    )


def check_consistent(info: GraphInfo, dims: Dims) -> list[str]:
    """Where the graph contradicts the config's dims (empty: consistent)."""
    problems = []
    if info.num_layers != dims.num_layers:
        problems.append(f"the graph has {info.num_layers} layers of KV cache, the config {dims.num_layers}")
    for axis, want in ((1, dims.num_kv_heads), (3, dims.head_dim)):
        got = info.kv_shape[axis] if len(info.kv_shape) == 4 else None
        if isinstance(got, int) and got and got != want:
            problems.append(f"KV cache axis {axis} is {got} in the graph, {want} in the config")
    if isinstance(info.vocab, int) and info.vocab and info.vocab != dims.vocab_size:
        problems.append(f"logits have {info.vocab} entries, the config's vocab_size is {dims.vocab_size}")
    return problems


def describe(
    folder: Path,
    *,
    name: str,
    source: str,
    precision: str | None = None,
    target: str = "cpu",
    hf_config=None,
    context_length: int | None = None,
) -> Manifest:
    """The manifest for a model folder (graph + genai_config.json or config.json + tokenizer files)."""
    folder = Path(folder)
    graph = find_graph(folder)
    genai_path = folder / "genai_config.json"
    genai = json.loads(genai_path.read_text(encoding="utf-8")) if genai_path.is_file() else None
    info = graph_info(graph, genai)
    dims = dims_from(folder, hf_config, context_length)
    problems = check_consistent(info, dims)
    if problems:
        raise DescribeError(f"{graph.name} does not match the config: " + "; ".join(problems))
    if not (folder / "tokenizer.json").is_file():
        raise DescribeError(f"{folder} has no tokenizer.json (the engine tokenizes with it)")
    tokens, prompt = special_tokens(folder)
    return Manifest(
        name=name,
        dims=dims,
        special_tokens=tokens,
        graph=graph.name,
        precision=precision or info.precision,
        target=target,
        io=info.io,
        kv=info.kv,
        prompt=prompt,
        source=source,
        versions=package_versions(),
    )
