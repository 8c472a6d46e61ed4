"""HF folder -> ONNX model folder: convert, quantize, describe, gate on parity, publish.

Phases report on stderr as ``[load]``, ``[convert]``, ``[quantize]`` and ``[validate]`` lines with
their time and the peak RSS so far.  The folder is staged as ``.NAME.partial`` beside the output and
renamed into place only when the parity gate passes: a failed export never leaves a manifest behind.
A cuda graph built where CUDA is not usable is published unchecked, its parity status "pending"
(see gate.py), with a warning naming the command that checks it on the GPU machine.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import onnx

from lsp_server.engine import manifest as manifest_mod
from lsp_server.engine.gate import PENDING
from lsp_server.engine.manifest import Manifest

from . import progress
from .describe import describe
from .gate import check_command, gate_is_pending, pending_report
from .genai_builder import build_onnx
from .graph_edits import slice_last_position_logits
from .optimum_path import find_python, run_optimum
from .options import BuildOptions
from .resources import phase_done, track_phases
from .streaming import StreamingUnsupported, streaming_gap
from .tokenizer_export import export_tokenizer
from .validate import ParityError, ParityReport, validate

if TYPE_CHECKING:
    from transformers import PretrainedConfig

log = logging.getLogger("magicoder-export")


def _stage_dir(output: Path) -> Path:
    stage = output.with_name(f".{output.name}.partial")
    if stage.exists():
        shutil.rmtree(stage)
    return stage


@contextlib.contextmanager
def staging(output: Path):
    """The ``.NAME.partial`` folder an export is built in; removed when the export fails or is interrupted.

    A folder that failed the parity gate is kept for its parity.json (the error says where).  The
    previous export in ``output`` is never touched before the new one is published.
    """
    stage = _stage_dir(output)
    try:
        yield stage
    except ParityError:
        raise
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        kept = f"; the previous export in {output} is untouched" if output.exists() else ""
        log.error("[export] stopped: removed the unfinished export %s%s", stage, kept)
        raise


def publish(stage: Path, output: Path) -> None:
    """Move the staged folder into place; an older export is swapped out by renames, then deleted."""
    old = output.with_name(f".{output.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if output.exists():
        output.rename(old)
    stage.rename(output)
    shutil.rmtree(old, ignore_errors=True)


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
    assert options.precision is not None  # filled in by BuildOptions.resolved()
    streaming = options.streaming and streaming_covers(hf_dir, options)
    build = functools.partial(
        build_onnx,
        hf_dir,
        stage,
        precision=options.precision,
        target=options.target,
        cache_dir=cache,
        extra=options.builder_extra_options(),
        fix_rope=fix_rope,
    )
    try:
        build(streaming=streaming)
    except StreamingUnsupported as exc:
        log.info("[convert] %s: converting in memory with the stock builder instead", exc)
        build(streaming=False)
    shutil.rmtree(cache, ignore_errors=True)


def streaming_covers(hf_dir: Path, options: BuildOptions) -> bool:
    """Whether the streaming converter handles this checkpoint; says why not (a log line) when it does not."""
    config = json.loads((hf_dir / "config.json").read_text(encoding="utf-8"))
    reason = streaming_gap(config, options.trust_remote_code)
    if reason:
        log.info(
            "[convert] streaming conversion does not cover %s: converting in memory with the stock builder "
            "(the whole model in RAM)",
            reason,
        )
    return reason is None


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
    """Export ``hf_dir`` into ``output``; nothing is published unless the parity gate passes (or is pending)."""
    options = (options or BuildOptions(precision="fp32")).resolved()
    output = Path(output).resolve()
    track_phases()
    with staging(output) as stage:
        return _export_staged(hf_dir, output, stage, name, source, options, fix_rope, optimum_python)


def _export_staged(
    hf_dir: Path,
    output: Path,
    stage: Path,
    name: str,
    source: str,
    options: BuildOptions,
    fix_rope: bool,
    optimum_python: Path | None,
) -> Manifest:
    start = time.perf_counter()
    progress.phase("load", f"reading {hf_dir}")
    config = load_config(hf_dir, options)
    context = context_length(config, options.max_context)
    log.info("[convert] %s", options.describe())
    progress.phase("convert", f"converting to ONNX ({options.describe()})")
    convert(hf_dir, stage, options, fix_rope, optimum_python)
    manifest = describe_stage(hf_dir, stage, name, source, options, config, context)
    phase_done("convert", f"{options.exporter} export, {manifest.kv.layout} KV layout", start)
    if options.quantized:
        log.info(
            "[quantize] %s, quantized by the builder while converting", quantization_summary(stage / manifest.graph)
        )
    gate_and_publish(hf_dir, output, stage, source, options, manifest)
    return manifest


def load_config(hf_dir: Path, options: BuildOptions) -> PretrainedConfig:
    """The checkpoint's transformers config, with a [load] line saying what it is."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(hf_dir, trust_remote_code=options.trust_remote_code)
    log.info(
        "[load] %s: %s, %d layers, hidden %d, vocab %d",
        hf_dir,
        type(config).__name__,
        config.num_hidden_layers,
        config.hidden_size,
        config.vocab_size,
    )
    return config


def describe_stage(
    hf_dir: Path, stage: Path, name: str, source: str, options: BuildOptions, config: PretrainedConfig, context: int
) -> Manifest:
    """The converted folder completed: context length, the original tokenizer files, the manifest, the sliced head."""
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
    return manifest


def gate_and_publish(
    hf_dir: Path, output: Path, stage: Path, source: str, options: BuildOptions, manifest: Manifest
) -> None:
    """Run the parity gate (or mark it pending), then publish the folder unless the gate refuses it."""
    command = check_command(output, source)
    report = run_gate(hf_dir, stage, manifest, options, command)
    report.write(stage / manifest.parity_report)
    judge(report, stage / manifest.parity_report, options)
    manifest_mod.write(manifest, stage)
    progress.phase("publish", f"moving the model into {output}")
    publish(stage, output)
    if report.status == PENDING:
        log.warning(
            '[validate] NOT CHECKED: %s is published without its parity check (parity.json says "pending"): '
            "CUDA is not usable on this machine. Check it on the GPU machine with:\n  %s",
            output,
            command,
        )


def run_gate(hf_dir: Path, stage: Path, manifest: Manifest, options: BuildOptions, command: str) -> ParityReport:
    """The parity gate's report; a pending one for a cuda graph where CUDA is not usable (see gate.py)."""
    progress.phase("validate", "checking the export against transformers (parity gate)")
    if gate_is_pending(options):
        log.info(
            "[validate] skipped: the graph targets cuda and CUDA is not usable here (--gate-on-cpu runs it on the CPU)"
        )
        return pending_report(manifest, command)
    log.info("[validate] parity gate for %s: %d tokens per prompt", manifest.precision, options.parity_tokens)
    report = validate(
        hf_dir,
        stage,
        manifest,
        new_tokens=options.parity_tokens,
        fidelity_tokens=options.fidelity_tokens,
        trust_remote_code=options.trust_remote_code,
    )
    log.info("[validate] %s (%.1fs)", report.summary(), report.seconds)
    return report


def judge(report: ParityReport, path: Path, options: BuildOptions) -> None:
    """Refuse a graph that failed the gate (ParityError), unless --parity-gate report publishes it anyway."""
    if report.passed or report.status == PENDING:
        return
    if options.parity_gate == "report":
        log.warning(
            "[validate] parity gate FAILED, published anyway (--parity-gate report): %s", "; ".join(report.failures)
        )
        return
    raise ParityError(
        f"the exported model does not match transformers; no manifest written (report: {path}):\n  "
        + "\n  ".join(report.failures)
    )
