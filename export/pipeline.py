"""HF folder -> ONNX model folder: build the graph, describe it, gate it on parity, publish it."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from lsp_server.engine import manifest as manifest_mod
from lsp_server.engine.manifest import Manifest

from .describe import describe
from .genai_builder import build_onnx
from .graph_edits import slice_last_position_logits
from .parity import ParityError, check_parity
from .tiny import copy_tokenizer

log = logging.getLogger(__name__)


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


def export_folder(
    hf_dir: Path,
    output: Path,
    *,
    name: str,
    source: str,
    precision: str = "fp32",
    target: str = "cpu",
    fix_rope: bool = True,
    parity_tokens: int = 32,
) -> Manifest:
    """Export ``hf_dir`` into ``output``; nothing is published unless the parity gate passes."""
    from transformers import AutoConfig, AutoModelForCausalLM

    output = Path(output).resolve()
    stage = _stage_dir(output)
    t0 = time.perf_counter()
    log.info("[convert] onnxruntime-genai model builder: %s %s", precision, target)
    build_onnx(hf_dir, stage, precision=precision, target=target, cache_dir=stage / ".builder-cache", fix_rope=fix_rope)
    shutil.rmtree(stage / ".builder-cache", ignore_errors=True)
    slice_last_position_logits(stage / "model.onnx")
    # The builder re-saves the tokenizer through transformers; ship the original files instead.
    copy_tokenizer(hf_dir, stage)
    config = AutoConfig.from_pretrained(hf_dir)
    manifest = describe(stage, config, name=name, source=source, precision=precision, target=target)
    log.info("[convert] done in %.1fs", time.perf_counter() - t0)

    log.info("[validate] parity with transformers, %d tokens per prompt", parity_tokens)
    hf_model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype="float32").eval()
    report = check_parity(hf_model, stage, manifest, precision, new_tokens=parity_tokens)
    del hf_model
    report.write(stage / manifest.parity_report)
    log.info(
        "[validate] tokens identical: %s, max logit diff %.3g (%.1fs)",
        report.tokens_identical,
        report.max_logit_diff,
        report.seconds,
    )
    if not report.passed:
        raise ParityError(
            "the exported model does not match transformers; no manifest written "
            f"(report: {stage / manifest.parity_report}):\n  " + "\n  ".join(report.failures)
        )
    manifest_mod.write(manifest, stage)
    publish(stage, output)
    return manifest
