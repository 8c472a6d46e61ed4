"""Decode speed in one process: our generate loop, a bare loop of onnxruntime calls, onnxruntime-genai.

  .venv/bin/python -m bench.decode_same_process [--reps 7]

The engine benchmark runs each runner in its own process (so that peak RSS is its own); this one runs
the three in one process, interleaved, on the engine benchmark's fp32 and int4 models (build them
first with `python -m bench.engine_bench`), to tell the decode loop's own cost from process effects.
Writes its section of bench/results/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.lib.models import built_model
from bench.lib.paths import RESULTS
from bench.lib.prompts import code_prompts
from bench.lib.runners import Genai, Ours
from bench.lib.sections import write_section

PROMPT, NEW, THREADS = 200, 128, 2


def loops(folder: Path, ids: list[int]) -> dict:
    """The engine benchmark's runners for ours and genai, and a bare loop over our engine's session."""
    ours, genai = Ours(str(folder), THREADS), Genai(str(folder), THREADS)

    def bare() -> float:  # the same session and cache: prefill, then argmax and forward, nothing else
        cache = ours.engine.cache
        cache.prepare(ids, NEW, reuse=False)
        logits = cache.forward(ids)
        start = time.perf_counter()
        for _ in range(NEW - 1):
            logits = cache.forward([int(np.argmax(logits))])
        return (NEW - 1) / (time.perf_counter() - start)

    return {
        "ours": lambda: ours.generate(ids, NEW)["decode_tps"],
        "bare onnxruntime loop": bare,
        "genai": lambda: genai.generate(ids, NEW)["decode_tps"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    rows = [
        "## Decode in one process: ours vs a bare onnxruntime loop vs onnxruntime-genai",
        "",
        f"The engine benchmark's models, {PROMPT}-token prompt, {NEW} greedy tokens, {THREADS} threads, medians of "
        f"{args.reps} interleaved reps (order rotated) in one process. "
        "Reproduce: `.venv/bin/python -m bench.decode_same_process`.",
        "",
        "| model | ours tok/s | bare loop tok/s | genai tok/s | ours/genai | ours/bare |",
        "|---|---|---|---|---|---|",
    ]
    for precision in ("fp32", "int4"):
        folder = built_model(precision, THREADS)
        prompts, _, _ = code_prompts(folder / "tokenizer.json", (PROMPT,), 10)
        runs = loops(folder, prompts[PROMPT])
        names = list(runs)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for rep in range(args.reps):
            for name in names[rep % 3 :] + names[: rep % 3]:
                samples[name].append(runs[name]())
        m = {name: statistics.median(v) for name, v in samples.items()}
        rows.append(
            f"| {precision} | {m['ours']:.1f} | {m['bare onnxruntime loop']:.1f} | {m['genai']:.1f} | "
            f"{m['ours'] / m['genai']:.3f} | {m['ours'] / m['bare onnxruntime loop']:.3f} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    write_section(args.out / "RESULTS.md", "decode-same-process", "\n".join(rows))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
