"""Export fidelity on a model with real structure: train the tiny model, export it, compare precisions.

  .venv/bin/python -m bench.train_tiny [--minutes 4] [--retrain] [--out DIR]

Random weights give near-flat logits (top-1 margins of 1e-4..1e-2), so int4/int8 fidelity measured
on them says nothing.  This script trains the tiny Magicoder-shaped model (hidden 256, 4 layers,
8 heads, linear RoPE x4, a 4096-token BPE trained on the standard library) for a few minutes on
the Python standard library's sources (CPU), exports it through `magicoder-export`'s pipeline as
fp32, fp16, int8 (the builder's 8-bit MatMulNBits, not quantize_dynamic) and int4 (two variants), and
measures each against transformers fp32 on held-out standard-library files (every 10th file, never
trained on): top-1 agreement, perplexity, KL, logit error, plus the gate's greedy comparison.
Writes bench/results/EXPORT_RESULTS.md and bench/results/export_results.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.lib import paths

WORK = paths.WORK / "export-trained"
SEQ, BATCH = 256, 16
VARIANTS: list[tuple[str, dict[str, Any]]] = [  # (label, build options)
    ("fp32", dict(precision="fp32")),
    ("fp16", dict(precision="fp16")),
    ("int8 (block 32, acc. 4)", dict(precision="int8")),
    ("int4 (block 32, acc. 4)", dict(precision="int4")),
    ("int4 (block 128, acc. 4)", dict(precision="int4", int4_block_size=128)),
    ("int4 (block 32, acc. 0)", dict(precision="int4", int4_accuracy_level=0)),
    ("planted fault: int4 without the RoPE fix", dict(precision="int4", fix_rope=False)),
    ("planted fault: fp16 without the RoPE fix", dict(precision="fp16", fix_rope=False)),
]
log = logging.getLogger("train_tiny")


def stdlib_split() -> tuple[list[Path], list[Path]]:
    """(train, held-out) standard-library files; every 10th file (sorted) is held out."""
    from export.tiny import _stdlib_files

    files = [Path(f) for f in _stdlib_files(limit_bytes=20_000_000)]
    return [f for i, f in enumerate(files) if i % 10], [f for i, f in enumerate(files) if not i % 10]


def held_out_texts(files: list[Path], chunks: int = 8, chars: int = 2500) -> tuple[str, ...]:
    """Chunks from the middle of held-out files (past the license headers)."""
    out = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text) > 3 * chars:
            out.append(text[len(text) // 3 : len(text) // 3 + chars])
        if len(out) == chunks:
            break
    return tuple(out)


def train(hf_dir: Path, minutes: float, train_files: list[Path]) -> dict:
    import numpy as np
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    from export.tiny import TinySpec, build_tiny_hf_model

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    # The locally trained 4096-token BPE, not DeepSeek's 32256: on 2 CPU cores the 32256-row embedding and
    # LM head would take most of the few minutes of training (about 4x fewer tokens seen).
    build_tiny_hf_model(hf_dir, TinySpec(), None)
    tok = Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
    # File by file into one int32 array: Encoding objects of the whole library would take gigabytes.
    ids = torch.from_numpy(
        np.concatenate(
            [np.asarray(tok.encode(f.read_text(encoding="utf-8", errors="replace")).ids, np.int32) for f in train_files]
        )
    ).long()
    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype="float32").train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    budget, start, step, losses = minutes * 60, time.perf_counter(), 0, []
    while (elapsed := time.perf_counter() - start) < budget:
        frac = elapsed / budget
        lr = 3e-3 * min(1.0, (step + 1) / 30) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(ids) - SEQ - 1, (BATCH,))
        batch = torch.stack([ids[s : s + SEQ] for s in starts])
        loss = model(batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 25 == 0:
            log.info("step %d  %.0fs  loss %.3f  lr %.2g", step, elapsed, loss.item(), lr)
        step += 1
    model.eval().save_pretrained(hf_dir, safe_serialization=True)
    stats = {
        "steps": step,
        "tokens_seen": step * BATCH * SEQ,
        "train_tokens": len(ids),
        "seconds": round(time.perf_counter() - start, 1),
        "first_loss": round(losses[0], 3),
        "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 3),
    }
    (hf_dir / "training.json").write_text(json.dumps(stats, indent=2))
    return stats


def measure(hf_dir: Path, texts: tuple[str, ...]) -> list[dict]:
    from export.describe import describe
    from export.options import BuildOptions
    from export.pipeline import export_folder
    from export.validate import ParityError, validate

    rows = []
    for index, (label, variant) in enumerate(VARIANTS):
        opts = dict(variant)
        out = WORK / f"{index}-{opts['precision']}"
        fix_rope = opts.pop("fix_rope", True)
        options = BuildOptions(target="cpu", parity_tokens=64, **opts)
        start = time.perf_counter()
        try:
            export_folder(hf_dir, out, name=label, source="bench/train_tiny.py", options=options, fix_rope=fix_rope)
        except ParityError:
            out = out.with_name(f".{out.name}.partial")  # the gate refused it: measure the staged folder
        seconds = time.perf_counter() - start
        gate = json.loads((out / "parity.json").read_text())
        manifest = describe(out, name=label, source="", precision=options.resolved().precision)
        held = validate(hf_dir, out, manifest, new_tokens=8, fidelity_tokens=8192, texts=texts)
        assert held.fidelity is not None  # measured on the held-out texts
        rows.append(
            {
                "variant": label,
                "export_s": round(seconds, 1),
                "weights_mb": round((out / "model.onnx.data").stat().st_size / 1e6, 1),
                "gate_passed": gate["passed"],
                "gate_failures": gate["failures"],
                "greedy_identical_prompts": sum(p["first_divergence"] is None for p in gate["prompts"]),
                "greedy_first_divergence": [p["first_divergence"] for p in gate["prompts"]],
                "gate_max_rel_logit_error": gate["max_rel_logit_error"],
                "held_out": asdict(held.fidelity),
            }
        )
        log.info("%s: %s", label, held.summary())
    return rows


def write_report(data: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "export_results.json").write_text(json.dumps(data, indent=2) + "\n")
    t = data["training"]
    lines = [
        "# Export fidelity: fp32 / fp16 / int8 / int4 on a trained tiny model",
        "",
        f"Model: the tiny Magicoder-shaped model (hidden 256, 4 layers, 8 heads, intermediate 688, vocab "
        f"{data['vocab']}, linear RoPE x4), trained {t['seconds']:.0f} s on this CPU ({t['steps']} steps of "
        f"{BATCH}x{SEQ} tokens, {t['tokens_seen'] / 1e6:.2f} M tokens seen; loss {t['first_loss']} -> "
        f"{t['final_loss']}) on {data['train_files']} Python standard-library files. Held out: "
        f"{data['held_files']} other files (every 10th); measured on {data['held_positions']} next-token positions "
        f"of {data['held_texts']} chunks from them. {data['machine']}; {data['date']}.",
        "Reproduce: `.venv/bin/python -m bench.train_tiny` (writes this file and `bench/results/export_results.json`).",
        "",
        "Every row is compared with transformers fp32 on the same weights. Top-1 agreement: the ONNX model's "
        "argmax equals transformers'. Accuracy: argmax equals the actual next token. int8 is the onnxruntime-genai "
        "builder's 8-bit MatMulNBits (weight-only, like int4), not `quantize_dynamic`. Accuracy level 4 = int8 "
        "activations inside MatMulNBits (the builder's cpu default), 0 = fp32 activations.",
        "",
        "| variant | weights MB | top-1 agreement | perplexity (transformers) | ratio | accuracy | mean KL | "
        "max rel. logit error | greedy prompts identical (of 5, 64 tokens) | gate |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["rows"]:
        h = r["held_out"]
        lines.append(
            f"| {r['variant']} | {r['weights_mb']:.0f} | {h['top1_agreement']:.4f} | {h['onnx_perplexity']:.3f} "
            f"({h['reference_perplexity']:.3f}) | {h['perplexity_ratio']:.4f} | {h['onnx_top1_accuracy']:.4f} "
            f"({h['reference_top1_accuracy']:.4f}) | {h['mean_kl']:.2e} | {h['max_rel_logit_error']:.2e} | "
            f"{r['greedy_identical_prompts']} | {'passed' if r['gate_passed'] else 'FAILED'} |"
        )
    lines += [
        "",
        "The int4/int8 gate refuses only a broken export (on the gate's own held-out code: perplexity above 1.2x "
        "transformers', mean KL above 0.15 nats, or non-finite logits): quantization itself costs under 1 % of "
        "perplexity here. The planted-fault rows export without the linear RoPE fix (the builder's upstream bug) "
        "and show what the gate said:",
        "",
    ]
    for r in data["rows"]:
        if r["gate_failures"]:
            lines.append(f"- {r['variant']}: " + "; ".join(r["gate_failures"][:2]))
    lines.append("")
    (out / "EXPORT_RESULTS.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="training time budget (default 4)")
    parser.add_argument("--retrain", action="store_true", help="train again even if a checkpoint exists")
    parser.add_argument("--out", type=Path, default=paths.RESULTS, help="where EXPORT_RESULTS.md and its JSON go")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    hf_dir = WORK / "hf"
    train_files, held_files = stdlib_split()
    if args.retrain or not (hf_dir / "training.json").is_file():
        stats = train(hf_dir, args.minutes, train_files)
    else:
        stats = json.loads((hf_dir / "training.json").read_text())
    texts = held_out_texts(held_files)
    rows = measure(hf_dir, texts)
    data = {
        "training": stats,
        "vocab": json.loads((hf_dir / "config.json").read_text())["vocab_size"],
        "train_files": len(train_files),
        "held_files": len(held_files),
        "held_texts": len(texts),
        "held_positions": rows[0]["held_out"]["positions"],
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
    }
    write_report(data, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
