"""Checks before an export starts, for what would otherwise fail late: architecture, RAM, disk.

The RAM and disk figures are estimates from the model's config, with factors measured on full-width
Magicoder-shaped models (bench/results/EXPORT_FULLSIZE.md at 32 layers, bench/results/EXPORT_SCALE.md at 1-8):

* the streaming converter (the default) holds one module at a time: its peak is a constant plus a
  multiple of the largest single weight (the LM head: the builder casts, transposes and, for
  int4/int8, quantizes it); the stock in-memory builder (``--no-streaming``) peaks at about 1.25x
  the fp32 weight size for fp32, 1.0x for fp16 and 2.45x for int4/int8; optimum's at about 4.8x;
* the parity gate then holds the ONNX session (int4/int8: about 1.15x the graph's weights; fp32:
  2.3x, onnxruntime pre-packs them; fp16 on cpu: 3.9x, the kernels need fp32 copies) plus its KV
  cache, and afterwards the transformers reference: one fp32 decoder layer at a time for Llama
  models (the full fp32 model, 1.1x, for others), never both;
* disk: the download, the model folder, and the spill file the streaming converter writes (as large
  as the model's weights, deleted once they are copied into model.onnx.data);
* time: minutes per billion parameters measured on the same 2-core machine (int4/cpu: conversion 2.8 min
  and gate 3.5 min for 6.74 B parameters; fp16/cuda: conversion 1.1 min), the gate faster with more cores
  (it is memory-bound: at most twice); precisions not measured take the nearest measured kind. The
  download's time depends on the network and is not estimated (its size is).

``magicoder-export preflight`` prints these figures for this machine without downloading anything
(``report``); ``build`` computes the same before it starts and refuses what this machine cannot hold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .resources import GIB, available_memory_bytes, free_disk_bytes, gib

# Llama-family decoders the exporter, the RoPE fix and the parity gate are written and tested for.
ALLOWED_ARCHITECTURES = {"LlamaForCausalLM": "llama"}
# Stock builder and optimum: peak RSS while converting, over the fp32 weight size.
CONVERT_RAM_FACTOR = {"builder": {"fp32": 1.25, "fp16": 1.0, "int8": 2.45, "int4": 2.45}, "optimum": {"fp32": 4.8}}
# Streaming converter: peak RSS over BASE_RAM, in multiples of the largest weight in fp32.
STREAM_CONVERT_FACTOR = {"fp16": 0.8, "default": 2.3}
REFERENCE_RAM_FACTOR = 1.1  # transformers' whole fp32 model, over the fp32 weight size
STREAM_REFERENCE_FACTOR = 2.0  # the layer-by-layer reference: over the largest of a layer and the LM head in fp32
# The onnxruntime session while decoding, over the graph's weight size.
SESSION_RAM_FACTOR = {"fp16-cpu": 3.9, "fp32-cpu": 2.3, "int4": 1.15, "int8": 1.15, "default": 2.3}
GATE_TOKENS = 1024  # the longest sequence the gate decodes (KV cache) and positions whose logits it keeps
BASE_RAM = 1.0 * GIB  # interpreter, torch, onnxruntime
DISK_MARGIN = 1.0 * GIB
# Minutes per billion parameters on MEASURED_CORES cores (bench/results/EXPORT_FULLSIZE.md).
CONVERT_MINUTES_PER_B = {"int4": 0.42, "int8": 0.42, "fp16": 0.16, "fp32": 0.16}
GATE_MINUTES_PER_B = {"cpu": 0.52, "cuda": 0.1}
MEASURED_CORES = 2


class PreflightError(ValueError):
    """The export would fail or is refused; the message says why and what to do."""


def check_architecture(config: dict, trust_remote_code: bool = False) -> None:
    """Only Llama-family decoders; custom modeling code only when the user asked for it."""
    archs = config.get("architectures") or []
    model_type = config.get("model_type")
    allowed = ", ".join(sorted(ALLOWED_ARCHITECTURES))
    if (
        not archs
        or any(a not in ALLOWED_ARCHITECTURES for a in archs)
        or model_type not in ALLOWED_ARCHITECTURES.values()
    ):
        raise PreflightError(
            f"unsupported architecture {archs or '(none)'} (model_type {model_type!r}): this exporter handles "
            f"Llama-family decoders only ({allowed}, model_type 'llama'), the architecture of Magicoder-S-DS-6.7B"
        )
    if config.get("auto_map") and not trust_remote_code:
        raise PreflightError(
            "this checkpoint ships its own modeling code (auto_map in config.json); running it means executing "
            "code from the model repository: pass --trust-remote-code if you trust it"
        )
    if config.get("quantization_config"):
        method = config["quantization_config"].get("quant_method", "?")
        raise PreflightError(
            f"the checkpoint is already quantized ({method}): export from the fp16/bf16/fp32 checkpoint; "
            "the exporter quantizes itself (--precision int4)"
        )


def streaming_gap(config: dict, trust_remote_code: bool = False) -> str | None:
    """What in a checkpoint's config.json the streaming converter does not handle (None: it handles it)."""
    archs = config.get("architectures") or []
    if trust_remote_code or config.get("auto_map"):
        return "checkpoints with their own modeling code"
    if archs != ["LlamaForCausalLM"]:
        return f"the {'/'.join(archs) or 'unnamed'} architecture"
    if config.get("tie_word_embeddings"):
        return "tied input and output embeddings"
    if config.get("quantization_config"):
        return "pre-quantized checkpoints"
    return None


@dataclass(frozen=True)
class ParamCount:
    embedding: int  # input embedding (kept unquantized by the builder)
    matmul: int  # projections and the LM head (quantized in int4/int8)
    other: int  # norms

    @property
    def total(self) -> int:
        return self.embedding + self.matmul + self.other


def count_params(config: dict) -> ParamCount:
    h, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or h // heads
    inter = config["intermediate_size"]
    attention = h * heads * head_dim * 2 + h * kv_heads * head_dim * 2  # q, o; k, v
    head = 0 if config.get("tie_word_embeddings") else vocab * h
    return ParamCount(
        embedding=vocab * h, matmul=layers * (attention + 3 * h * inter) + head, other=(2 * layers + 1) * h
    )


def onnx_bytes(params: ParamCount, precision: str, target: str, block_size: int = 32) -> int:
    """Size of the exported graph's weights (model.onnx.data)."""
    io = 4 if target == "cpu" else 2  # the builder keeps fp32 activations on cpu, fp16 on cuda
    if precision in ("fp32", "fp16"):
        return params.total * (4 if precision == "fp32" else 2)
    bits = 4 if precision == "int4" else 8
    return int(params.embedding * io + params.matmul * (bits / 8 + io / block_size) + params.other * io)


@dataclass(frozen=True)
class Needs:
    params: int
    ram: int
    convert_ram: int
    validate_ram: int
    disk: int
    onnx: int

    def explain(self) -> str:
        gate = f"parity check {gib(self.validate_ram)}" if self.validate_ram else "parity check on the GPU machine"
        return (
            f"{self.params / 1e9:.2f} B parameters: about {gib(self.ram)} of RAM (conversion {gib(self.convert_ram)}, "
            f"{gate}) and {gib(self.disk)} of disk ({gib(self.onnx)} of ONNX weights)"
        )


def largest_weight_fp32(config: dict) -> int:
    """Bytes of the largest single weight in fp32: the embedding/LM head, the fused QKV or an MLP matrix."""
    h, vocab, inter = config["hidden_size"], config["vocab_size"], config["intermediate_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or h // heads
    return 4 * max(vocab * h, h * (heads + 2 * kv_heads) * head_dim, h * inter)


def layer_fp32(config: dict) -> int:
    params = count_params({**config, "num_hidden_layers": 1, "vocab_size": 0, "tie_word_embeddings": True})
    return 4 * params.total


def kv_cache_bytes(config: dict, tokens: int, dtype_bytes: int) -> int:
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    return 2 * config["num_hidden_layers"] * kv_heads * head_dim * tokens * dtype_bytes


def convert_ram(config: dict, precision: str, exporter: str, streaming: bool) -> int:
    if exporter == "builder" and streaming:
        factor = STREAM_CONVERT_FACTOR.get(precision, STREAM_CONVERT_FACTOR["default"])
        return int(factor * largest_weight_fp32(config) + BASE_RAM)
    return int(CONVERT_RAM_FACTOR[exporter][precision] * count_params(config).total * 4 + BASE_RAM)


def validate_ram(config: dict, precision: str, target: str, out: int) -> int:
    """The larger of the ONNX session (+ its KV cache) and the transformers reference (+ the logits kept)."""
    session = SESSION_RAM_FACTOR.get(
        f"{precision}-{target}", SESSION_RAM_FACTOR.get(precision, SESSION_RAM_FACTOR["default"])
    )
    kv = kv_cache_bytes(config, GATE_TOKENS, 2 if precision == "fp16" and target == "cuda" else 4)
    logits = 2 * GATE_TOKENS * config["vocab_size"] * 4  # ONNX and reference logits, compared at the end
    if config.get("architectures") == ["LlamaForCausalLM"]:
        reference = STREAM_REFERENCE_FACTOR * max(layer_fp32(config), config["vocab_size"] * config["hidden_size"] * 4)
    else:
        reference = REFERENCE_RAM_FACTOR * count_params(config).total * 4
    return int(max(session * out + kv, reference) + logits + BASE_RAM)


def estimate(
    config: dict,
    precision: str,
    target: str,
    exporter: str,
    block_size: int,
    download: int,
    *,
    streaming: bool = True,
    gate: bool = True,
) -> Needs:
    """RAM and disk for an export; ``gate=False`` when the parity check will run elsewhere (status pending)."""
    params = count_params(config)
    out = onnx_bytes(params, precision, target, block_size)
    convert = convert_ram(config, precision, exporter, streaming)
    validate = validate_ram(config, precision, target, out) if gate else 0
    spill = out if exporter == "builder" and streaming else 0
    return Needs(
        params.total, max(convert, validate), convert, validate, int(download + out + spill + DISK_MARGIN), out
    )


def disk_places(output: Path, download_dir: Path | None) -> list[Path]:
    """The folders whose file systems the export writes to: the output's parent and the download cache."""
    where = {Path(output).expanduser().resolve().parent}
    if download_dir is not None:
        where.add(Path(download_dir).expanduser().resolve())
    return sorted(where)


def resource_problems(
    needs: Needs, output: Path, download_dir: Path | None, memory: int | None = None, free: int | None = None
) -> list[str]:
    """Why this machine cannot hold the export (RAM, then disk); empty when it can."""
    memory = available_memory_bytes() if memory is None else memory
    hint = "(--skip-resource-checks tries anyway)"
    problems = []
    if memory is not None and memory < needs.ram:
        problems.append(
            f"not enough memory: the export needs about {gib(needs.ram)} of RAM ({needs.explain()}); "
            f"this machine has {gib(memory)} available. Use a larger machine, or --precision int4 for a smaller "
            f"graph {hint}"
        )
    where = disk_places(output, download_dir)
    free = min(free_disk_bytes(p) for p in where) if free is None else free
    if free < needs.disk:
        problems.append(
            f"not enough disk: the export needs about {gib(needs.disk)} free ({needs.explain()}); "
            f"{', '.join(map(str, where))} has {gib(free)} free {hint}"
        )
    return problems


def check_resources(needs: Needs, output: Path, download_dir: Path | None, memory: int | None = None) -> None:
    """Refuse up front when this machine has too little RAM or disk for ``needs``."""
    problems = resource_problems(needs, output, download_dir, memory)
    if problems:
        raise PreflightError(problems[0])


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def minutes(params: int, precision: str, target: str, gate: bool, n_cores: int | None = None) -> dict[str, float]:
    """Rough minutes for the conversion and the parity gate on this machine (the download not included)."""
    billions = params / 1e9
    convert = CONVERT_MINUTES_PER_B.get(precision, CONVERT_MINUTES_PER_B["fp32"]) * billions
    speedup = 1.0 if target == "cuda" else min(2.0, max(1.0, (n_cores or cores()) / MEASURED_CORES))
    check = GATE_MINUTES_PER_B[target] * billions / speedup if gate else 0.0
    return {"convert": round(convert, 1), "validate": round(check, 1), "total": round(convert + check, 1)}


def report(
    needs: Needs,
    *,
    source: str,
    precision: str,
    target: str,
    output: Path,
    download_dir: Path | None,
    download_bytes: int,
    gate: bool,
) -> dict:
    """What ``--progress json`` and ``preflight --json`` say: what the export needs, what this machine has."""
    where = disk_places(output, download_dir)
    free = min(free_disk_bytes(p) for p in where)
    memory = available_memory_bytes()
    problems = resource_problems(needs, output, download_dir, memory, free)
    return {
        "source": source,
        "precision": precision,
        "target": target,
        "output": str(output),
        "params": needs.params,
        "download_bytes": download_bytes,
        "onnx_bytes": needs.onnx,
        "disk_bytes": needs.disk,
        "ram_bytes": needs.ram,
        "convert_ram_bytes": needs.convert_ram,
        "validate_ram_bytes": needs.validate_ram,
        "gate": "here" if gate else "pending",
        "free_disk_bytes": free,
        "available_ram_bytes": memory,
        "cores": cores(),
        "minutes": minutes(needs.params, precision, target, gate),
        "summary": needs.explain(),
        "ok": not problems,
        "problems": problems,
    }
