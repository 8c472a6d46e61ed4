"""Engine benchmark: this engine vs onnxruntime-genai (same graph) vs transformers generate.

  .venv/bin/python -m bench.engine_bench [--reps 5] [--quick]

Builds a ~134M-parameter random-weight model of Magicoder's shape (hidden 768, 12 layers,
12 heads, intermediate 2064, vocab 32256, linear RoPE x4), exports it fp32 and int4, then runs
every case on every runner, interleaved (rep 1 of every runner, then rep 2, ..., each rep starting
with the next runner), each runner in its own worker process so that its peak RSS is its own.  Medians
are written with ratios to bench/results/RESULTS.md and bench/results/results.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from bench.lib.models import ENGINE_SHAPE, QUICK_SHAPE, engine_models, set_genai_threads
from bench.lib.paths import OPTIMUM_PYTHON, RESULTS, WORK
from bench.lib.prompts import code_prompts
from bench.lib.stats import median
from bench.lib.worker import Worker


def build_models(shape: dict) -> dict[str, Path]:
    """HF checkpoint + fp32 and int4 model folders (cached under .cache/bench), and optimum's own graph
    (concat KV) when its environment exists."""
    builds: dict[str, tuple[str, list[str]]] = {"fp32": ("fp32", []), "int4": ("int4", [])}
    if OPTIMUM_PYTHON.is_file():
        builds["optimum-fp32"] = ("fp32", ["--exporter", "optimum"])
    return engine_models(shape, builds)


def run(reps: int, quick: bool) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    shape = QUICK_SHAPE if quick else ENGINE_SHAPE
    threads = os.cpu_count() or 1
    models = build_models(shape)
    for precision in ("fp32", "int4"):
        set_genai_threads(models[precision], threads)
    lengths = (200, 2000) if not quick else (50, 200)
    new = 128 if not quick else 16
    prompts, doc, edited = code_prompts(models["fp32"] / "tokenizer.json", lengths, 1500 if not quick else 300)
    workers = [
        Worker("ours fp32", "ours", models["fp32"], threads),
        Worker("genai fp32", "genai", models["fp32"], threads),
        Worker("ours int4", "ours", models["int4"], threads),
        Worker("genai int4", "genai", models["int4"], threads),
        Worker("transformers fp32", "transformers", models["hf"], threads),
    ]
    if "optimum-fp32" in models:  # ours and optimum's ORTModelForCausalLM on the graph optimum exported
        workers += [
            Worker("ours optimum-graph fp32", "ours", models["optimum-fp32"], threads),
            Worker("optimum fp32", "optimum", models["optimum-fp32"], threads, OPTIMUM_PYTHON),
        ]
    samples: dict[str, dict[str, list[float]]] = {w.name: {} for w in workers}
    agree: dict[str, bool] = {}
    for rep in range(reps):
        # Each rep starts with the next runner: no runner always follows the same one (whose thread
        # pool may still be spinning down, whose pages the cache still holds).
        order = workers[rep % len(workers) :] + workers[: rep % len(workers)]
        for n in lengths:
            for w in order:
                r = w.ask_raw({"op": "generate", "ids": prompts[n], "new": new})
                samples[w.name].setdefault(f"ttft_{n}", []).append(r["ttft_s"])
                samples[w.name].setdefault(f"decode_{n}", []).append(r["decode_tps"])
                agree.setdefault(f"{w.name} {n}", r["tokens"])
        for w in (w for w in workers if w.name in ("ours fp32", "ours int4")):
            r = w.ask_raw({"op": "reuse", "doc": doc, "edited": edited})
            for key in ("cold_ttft_s", "warm_ttft_s"):
                samples[w.name].setdefault(key, []).append(r[key])
            r = w.ask_raw({"op": "cancel", "ids": prompts[lengths[0]]})
            samples[w.name].setdefault("cancel_s", []).append(r["cancel_s"])
            samples[w.name].setdefault("step_s", []).append(r["step_s"])
        print(f"rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)
    results = {name: {k: median(v) for k, v in s.items()} for name, s in samples.items()}
    for w in workers:
        results[w.name]["rss_mb"] = w.ask_raw({"op": "rss"})["rss_mb"]
        w.close()
    same = {f"{p} {n}": agree[f"ours {p} {n}"] == agree[f"genai {p} {n}"] for p in ("fp32", "int4") for n in lengths}
    if "optimum-fp32" in models:
        same.update(
            {
                f"optimum graph {n} (ours vs optimum)": agree[f"ours optimum-graph fp32 {n}"]
                == agree[f"optimum fp32 {n}"]
                for n in lengths
            }
        )
    return {
        "shape": shape,
        "threads": threads,
        "reps": reps,
        "new_tokens": new,
        "lengths": list(lengths),
        "results": results,
        "ours_equals_genai_tokens": same,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def main(argv: list[str] | None = None) -> int:
    from bench.lib.engine_report import write_report

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="tiny model, short prompts: checks the harness")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    data = run(args.reps, args.quick)
    write_report(data, args.out)
    print((args.out / "RESULTS.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
