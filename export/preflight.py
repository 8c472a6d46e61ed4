"""Checks before an export starts, for what would otherwise fail late: architecture, RAM, disk.

The RAM and disk figures are estimates from the model's config (parameter count) and factors
measured by bench/export_scale.py on full-width Magicoder-shaped models and extrapolated to 32
layers (bench/EXPORT_SCALE.md): the builder's conversion peaks at about 1.25x the fp32 weight size
for fp32, 1.0x for fp16 and 2.45x for int4 (it quantizes a whole fp32 graph in memory; int8 is
assumed alike); optimum's at about 4.8x (FACTS); the parity check then holds the ONNX session
(onnxruntime pre-packs the weights: about 2.3x the graph's weights while decoding, 3.9x for fp16 on
cpu, whose kernels need fp32 copies) and afterwards transformers' fp32 model (1.1x), never both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .resources import GIB, available_memory_bytes, free_disk_bytes, gib

# Llama-family decoders the exporter, the RoPE fix and the parity gate are written and tested for.
ALLOWED_ARCHITECTURES = {"LlamaForCausalLM": "llama"}
# Peak RSS while converting, over the fp32 weight size.
CONVERT_RAM_FACTOR = {"builder": {"fp32": 1.25, "fp16": 1.0, "int8": 2.45, "int4": 2.45}, "optimum": {"fp32": 4.8}}
REFERENCE_RAM_FACTOR = 1.1  # transformers' fp32 model, over the fp32 weight size
# The onnxruntime session while decoding, over the graph's weight size: pre-packed copies beside the
# mapped file; on cpu, fp16 weights are also held as fp32 for the kernels.
SESSION_RAM_FACTOR = {"fp16-cpu": 3.9, "default": 2.3}
BASE_RAM = 1.0 * GIB  # interpreter, torch, onnxruntime
DISK_MARGIN = 1.0 * GIB


class PreflightError(ValueError):
    """The export would fail or is refused; the message says why and what to do."""


def check_architecture(config: dict, trust_remote_code: bool = False) -> None:
    """Only Llama-family decoders; custom modeling code only when the user asked for it."""
    archs = config.get("architectures") or []
    model_type = config.get("model_type")
    allowed = ", ".join(sorted(ALLOWED_ARCHITECTURES))
    if not archs or any(a not in ALLOWED_ARCHITECTURES for a in archs) or model_type not in ALLOWED_ARCHITECTURES.values():
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
    return ParamCount(embedding=vocab * h, matmul=layers * (attention + 3 * h * inter) + head, other=(2 * layers + 1) * h)


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
        return (
            f"{self.params / 1e9:.2f} B parameters: about {gib(self.ram)} of RAM (conversion {gib(self.convert_ram)}, "
            f"parity check {gib(self.validate_ram)}) and {gib(self.disk)} of disk ({gib(self.onnx)} of ONNX weights)"
        )


def estimate(config: dict, precision: str, target: str, exporter: str, block_size: int, download: int) -> Needs:
    params = count_params(config)
    fp32 = params.total * 4
    out = onnx_bytes(params, precision, target, block_size)
    convert = int(CONVERT_RAM_FACTOR[exporter][precision] * fp32 + BASE_RAM)
    session = SESSION_RAM_FACTOR.get(f"{precision}-{target}", SESSION_RAM_FACTOR["default"])
    validate = int(max(REFERENCE_RAM_FACTOR * fp32, session * out) + BASE_RAM)
    return Needs(params.total, max(convert, validate), convert, validate, int(download + out + DISK_MARGIN), out)


def check_resources(needs: Needs, output: Path, download_dir: Path | None, memory: int | None = None) -> None:
    """Refuse up front when this machine has too little RAM or disk for ``needs``."""
    memory = available_memory_bytes() if memory is None else memory
    hint = "(--skip-resource-checks tries anyway)"
    if memory is not None and memory < needs.ram:
        raise PreflightError(
            f"not enough memory: the export needs about {gib(needs.ram)} of RAM ({needs.explain()}); "
            f"this machine has {gib(memory)} available. Use a larger machine, or --precision int4 --target cpu "
            f"for a smaller graph (the parity check still loads the fp32 model) {hint}"
        )
    where = {Path(output).expanduser().resolve().parent}
    if download_dir is not None:
        where.add(Path(download_dir).expanduser().resolve())
    free = min(free_disk_bytes(p) for p in where)
    if free < needs.disk:
        raise PreflightError(
            f"not enough disk: the export needs about {gib(needs.disk)} free ({needs.explain()}); "
            f"{', '.join(map(str, sorted(where)))} has {gib(free)} free {hint}"
        )
