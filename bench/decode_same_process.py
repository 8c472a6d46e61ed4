"""Decode speed in one process: our generate loop, a bare loop of onnxruntime calls, onnxruntime-genai,
and a bare loop on libonnxruntime.so's C API.

  .venv/bin/python -m bench.decode_same_process [--reps 7]

The engine benchmark runs each runner in its own process (so that peak RSS is its own); this one runs
the four in one process, interleaved, on the engine benchmark's fp32 and int4 models (build them
first with `python -m bench.engine_bench`), to tell the decode loop's own cost from process effects,
and the Python wheel's binding module (what our engine and the bare loop call) from libonnxruntime.so
(what genai and the C API loop call: bench/capi_loop.py).
Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.engine_bench import SHAPE, WORK, code_prompts, set_genai_threads
from bench.capi_loop import CApiLoop
from bench.runners import Genai, Ours
from bench.sections import write_section

ROOT = Path(__file__).resolve().parent.parent
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

    capi = CApiLoop(str(folder), THREADS)
    return {"ours": lambda: ours.generate(ids, NEW)["decode_tps"], "bare onnxruntime loop": bare,
            "genai": lambda: genai.generate(ids, NEW)["decode_tps"], "C API loop": lambda: capi.generate(ids, NEW)["decode_tps"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--out", type=Path, default=ROOT / "bench")
    args = p.parse_args(argv)
    tag = "h{hidden}-l{layers}".format(**SHAPE)
    rows = ["## Decode in one process: ours vs a bare onnxruntime loop vs onnxruntime-genai vs a C API loop", "",
            f"The engine benchmark's models, {PROMPT}-token prompt, {NEW} greedy tokens, {THREADS} threads, medians of "
            f"{args.reps} interleaved reps (order rotated) in one process. The bare loop is our engine's session (the Python "
            "wheel's binding module, a build of onnxruntime of its own) with argmax and forward only; the C API loop makes "
            "genai's calls (Run over preallocated OrtValues) on libonnxruntime.so, the library genai calls. "
            "Reproduce: `.venv/bin/python -m bench.decode_same_process`.", "",
            "| model | ours tok/s | bare loop tok/s | C API loop tok/s | genai tok/s | ours/genai | ours/bare | C API loop/genai | bare/C API loop |",
            "|---|---|---|---|---|---|---|---|---|"]
    for precision in ("fp32", "int4"):
        folder = WORK / f"{tag}-{precision}"
        if not (folder / "manifest.json").is_file():
            raise SystemExit(f"{folder} is missing: run `python -m bench.engine_bench` first")
        set_genai_threads(folder, THREADS)
        prompts, _, _ = code_prompts(folder / "tokenizer.json", (PROMPT,), 10)
        runs = loops(folder, prompts[PROMPT])
        names = list(runs)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for rep in range(args.reps):
            for name in names[rep % len(names):] + names[: rep % len(names)]:
                samples[name].append(runs[name]())
        m = {name: statistics.median(v) for name, v in samples.items()}
        bare, capi = m["bare onnxruntime loop"], m["C API loop"]
        rows.append(f"| {precision} | {m['ours']:.1f} | {bare:.1f} | {capi:.1f} | {m['genai']:.1f} | {m['ours'] / m['genai']:.3f} | "
                    f"{m['ours'] / bare:.3f} | {capi / m['genai']:.3f} | {bare / capi:.3f} |")
        print(rows[-1], file=sys.stderr, flush=True)
    write_section(args.out / "RESULTS.md", "decode-same-process", "\n".join(rows))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
