"""`magicoder-export describe DIR`: adopt an ONNX LLM folder that another tool produced.

The folder needs:
  * the decoder graph: model.onnx (or decoder_model_merged.onnx, or a single *.onnx) and its
    external data file if it has one, with input_ids, attention_mask, optional position_ids,
    past_key_values.N.key/value inputs and logits, present.N.key/value outputs, in either KV layout
    (fused GroupQueryAttention with a shared buffer, or Hugging Face "concat");
  * the dims: genai_config.json (onnxruntime-genai's builder) or a Hugging Face config.json;
  * tokenizer.json (+ tokenizer_config.json naming BOS/EOS and add_bos_token).

With ``--reference HF_DIR`` (the checkpoint the graph came from) the full parity gate runs.  Without
one a consistency check runs: greedy decoding through the KV cache must give the same logits as
re-reading the whole sequence without a cache at every step (this catches wrong cache names, layout,
positions or masks).  A manifest is written only when the check passes.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from lsp_server.engine import DecoderSession, TextTokenizer
from lsp_server.engine import manifest as manifest_mod
from lsp_server.engine.manifest import Manifest

from . import progress
from .describe import describe, package_versions
from .parity import PARITY_PROMPTS, PromptParity, onnx_greedy, own_copy, rel_error
from .validate import ParityError, ParityReport, validate

log = logging.getLogger("magicoder-export")

# Cached decode vs. full re-read: the same weights through different kernels (M=1 vs M>1).
CONSISTENCY_MAX_REL = {"fp32": 1e-3, "fp16": 1e-2, "int8": 5e-2, "int4": 5e-2}


def uncached_logits(session: DecoderSession, ids: list[int]) -> np.ndarray:
    return own_copy(session.forward(ids, session.new_cache(len(ids))))


def consistency(folder: Path, manifest: Manifest, new_tokens: int = 16) -> ParityReport:
    """The graph against itself: KV-cached greedy decoding vs. re-reading the sequence at every step."""
    start = time.perf_counter()
    limit = CONSISTENCY_MAX_REL[manifest.precision]
    report = ParityReport(
        precision=manifest.precision,
        new_tokens=new_tokens,
        thresholds={"max_rel_logit_error": limit},
        passed=False,
        kind="consistency",
        versions=package_versions(),
    )
    session = DecoderSession(folder, manifest)
    report.device = session.device
    tokenizer = TextTokenizer(folder / manifest.tokenizer, add_bos=manifest.prompt.add_bos)
    for prompt in PARITY_PROMPTS:
        ids = tokenizer.encode(prompt)
        tokens, cached = onnx_greedy(session, ids, new_tokens)
        full = np.stack([uncached_logits(session, ids + tokens[:step]) for step in range(new_tokens)])
        agree = [int(np.argmax(row)) for row in full]
        diverge = next((i for i, (a, b) in enumerate(zip(agree, tokens, strict=False)) if a != b), None)
        report.prompts.append(
            PromptParity(
                prompt=prompt,
                prompt_tokens=len(ids),
                reference_tokens=agree,
                onnx_tokens=tokens,
                first_divergence=diverge,
                max_logit_diff=float(np.abs(full - cached).max()),
                max_rel_logit_error=float(rel_error(full, cached).max()),
            )
        )
    report.tokens_identical = all(p.first_divergence is None for p in report.prompts)
    report.max_logit_diff = max(p.max_logit_diff for p in report.prompts)
    report.max_rel_logit_error = max(p.max_rel_logit_error for p in report.prompts)
    if not np.isfinite(report.max_logit_diff):
        report.failures.append("the graph produced non-finite logits")
    elif report.max_rel_logit_error > limit:
        report.failures.append(
            f"KV-cached decoding differs from re-reading the sequence: relative logit error "
            f"{report.max_rel_logit_error:.3g} > {limit:g} (wrong cache wiring, positions or mask?)"
        )
    return report.conclude(start)


def import_folder(
    folder: Path,
    *,
    reference: Path | None = None,
    name: str | None = None,
    source: str | None = None,
    target: str = "cpu",
    parity_tokens: int = 64,
    trust_remote_code: bool = False,
    write: bool = True,
) -> Manifest:
    """Describe ``folder``, check it, and write its manifest.json and parity.json in place (``write=False``:
    check only, the folder untouched)."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    progress.phase("describe", f"reading {folder}")
    manifest = describe(folder, name=name or folder.name, source=source or str(folder), target=target)
    log.info(
        "[describe] %s: %s, %s KV layout, %d layers, context %d",
        manifest.graph,
        manifest.precision,
        manifest.kv.layout,
        manifest.dims.num_layers,
        manifest.dims.context_length,
    )
    progress.phase("validate", "checking the model")
    if reference is not None:
        log.info("[validate] parity with transformers on %s", reference)
        report = validate(reference, folder, manifest, new_tokens=parity_tokens, trust_remote_code=trust_remote_code)
    else:
        log.info("[validate] no --reference checkpoint: consistency of the KV-cached path with full re-reads")
        report = consistency(folder, manifest)
    log.info("[validate] %s: %s (%.1fs)", report.kind, report.summary(), report.seconds)
    if not write:
        if not report.passed:
            raise ParityError(f"{folder} failed the {report.kind} check:\n  " + "\n  ".join(report.failures))
        return manifest
    report.write(folder / manifest.parity_report)
    if not report.passed:
        stale = folder / manifest_mod.MANIFEST_NAME
        if stale.exists():
            stale.unlink()
            log.info("removed the folder's old manifest.json: it no longer describes a working model")
        raise ParityError(
            f"{folder} failed the {report.kind} check; no manifest written:\n  " + "\n  ".join(report.failures)
        )
    manifest_mod.write(manifest, folder)
    return manifest
