"""HF folder -> ONNX model folder: convert, quantize, describe, gate on parity, publish.

Phases report on stderr as ``[load]``, ``[convert]``, ``[quantize]`` and ``[validate]`` lines with
their time and the peak RSS so far.  The folder is staged as ``.NAME.partial`` beside the output and
renamed into place only when the parity gate passes: a failed export never leaves a manifest behind.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections import Counter
from pathlib import Path

import onnx

from lsp_server.engine import manifest as manifest_mod
from lsp_server.engine.manifest import Manifest

from .describe import describe
from .genai_builder import build_onnx
from .graph_edits import slice_last_position_logits
from .optimum_path import find_python, run_optimum
from .options import BuildOptions
from .resources import phase_done
from .tokenizer_export import export_tokenizer
from .validate import ParityError, validate

log = logging.getLogger("magicoder-export")


def _stage_dir(output: Path) -> Path:
    stage = output.with_name(f".{output.name}.partial")
    if stage.exists():
        shutil.rmtree(stage)
    return stage


def publish(stage: Path, output: Path) -> None:
    """Move the staged folder into place, replacing an older export."""
    if output.exists():
        shutil.rmtree(output)
    stage.rename(output)


def context_length(config, max_context: int | None) -> int:
    limit = config.max_position_embeddings
    if max_context is None:
        return limit
    if max_context > limit:
        raise ValueError(f"--max-context {max_context} exceeds the model's {limit} positions")
    return max_context


def set_genai_context(folder: Path, context: int) -> None:
    """The builder sizes genai_config.json by max_position_embeddings; --max-context narrows it."""
    path = folder / "genai_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["model"]["context_length"] = context
    config["search"]["max_length"] = context
    path.write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")


def quantization_summary(graph: Path) -> str:
    model = onnx.load(str(graph), load_external_data=False)
    nodes = [n for n in model.graph.node if n.op_type == "MatMulNBits"]
    attrs = Counter(
        tuple((a.name, a.i) for a in n.attribute if a.name in ("bits", "block_size", "accuracy_level")) for n in nodes
    )
    kinds = "; ".join(", ".join(f"{k} {v}" for k, v in key) for key in attrs) or "none"
    return f"{len(nodes)} MatMulNBits nodes ({kinds})"


def convert(hf_dir: Path, stage: Path, options: BuildOptions, fix_rope: bool, optimum_python: Path | None) -> None:
    if options.exporter == "optimum":
        run_optimum(hf_dir, stage, find_python(optimum_python), options.trust_remote_code)
        return
    cache = stage / ".builder-cache"
    build_onnx(
        hf_dir,
        stage,
        precision=options.precision,
        target=options.target,
        cache_dir=cache,
        extra=options.builder_extra_options(),
        fix_rope=fix_rope,
    )
    shutil.rmtree(cache, ignore_errors=True)


def export_folder(
    hf_dir: Path,
    output: Path,
    *,
    name: str,
    source: str,
    options: BuildOptions | None = None,
    fix_rope: bool = True,
    optimum_python: Path | None = None,
) -> Manifest:
    """Export ``hf_dir`` into ``output``; nothing is published unless the parity gate passes."""
    from transformers import AutoConfig

    options = (options or BuildOptions(precision="fp32")).resolved()
    output = Path(output).resolve()
    stage = _stage_dir(output)
    start = time.perf_counter()
    config = AutoConfig.from_pretrained(hf_dir, trust_remote_code=options.trust_remote_code)
    context = context_length(config, options.max_context)
    log.info(
        "[load] %s: %s, %d layers, hidden %d, vocab %d", hf_dir, type(config).__name__,
        config.num_hidden_layers, config.hidden_size, config.vocab_size,
    )

    log.info("[convert] %s", options.describe())
    convert(hf_dir, stage, options, fix_rope, optimum_python)
    if (stage / "genai_config.json").is_file():
        set_genai_context(stage, context)
    # Ship the original tokenizer files (the builder re-saves them through transformers), checked against transformers.
    export_tokenizer(hf_dir, stage, options.trust_remote_code)
    manifest = describe(
        stage, name=name, source=source, target=options.target, hf_config=config, context_length=context
    )
    if manifest.precision != options.precision:
        raise ValueError(f"asked for {options.precision}, but the exported graph is {manifest.precision}")
    slice_last_position_logits(stage / manifest.graph)
    phase_done("convert", f"{options.exporter} export, {manifest.kv.layout} KV layout", start)
    if options.quantized:
        log.info("[quantize] %s, quantized by the builder while converting", quantization_summary(stage / manifest.graph))

    log.info("[validate] parity gate for %s: %d tokens per prompt", manifest.precision, options.parity_tokens)
    report = validate(
        hf_dir,
        stage,
        manifest,
        new_tokens=options.parity_tokens,
        fidelity_tokens=options.fidelity_tokens,
        trust_remote_code=options.trust_remote_code,
    )
    report.write(stage / manifest.parity_report)
    log.info("[validate] %s (%.1fs)", report.summary(), report.seconds)
    if not report.passed and options.parity_gate == "report":
        log.warning("[validate] parity gate FAILED, published anyway (--parity-gate report): %s",
                    "; ".join(report.failures))
    elif not report.passed:
        raise ParityError(
            f"the exported model does not match transformers; no manifest written "
            f"(report: {stage / manifest.parity_report}):\n  " + "\n  ".join(report.failures)
        )
    manifest_mod.write(manifest, stage)
    publish(stage, output)
    return manifest
