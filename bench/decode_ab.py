"""Decode ours vs onnxruntime-genai in fresh processes, paired, with a confidence interval on the ratio.

  .venv/bin/python -m bench.decode_ab [--pairs 20] [--cases fp32@200,int4@200,fp32@2000,int4@2000]

The engine benchmark keeps one worker process per runner for the whole run, so each runner's memory
layout (where the allocator put its weights and KV buffer) is drawn once; on this VM that draw moves
decode speed by several percent. Here every pair starts two new processes, ours and genai (which goes
first alternates), on the engine benchmark's models (build them first with `python -m bench.engine_bench`).
Each process warms up, then decodes `--runs` times; its median is one sample. Reported per case: the
median of the pairs' ratios ours/genai, a 95 % bootstrap interval of that median, and in how many pairs
ours was the faster. Writes its section of bench/results/RESULTS.md and bench/results/decode_ab.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from bench.lib.models import built_model
from bench.lib.paths import RESULTS
from bench.lib.prompts import code_prompts
from bench.lib.sections import write_section
from bench.lib.stats import bootstrap_median_interval
from bench.lib.worker import Worker

NEW, THREADS, WARMUP_TOKENS = 128, 2, 8


def one_process(kind: str, folder: Path, ids: list[int], runs: int) -> float:
    """A fresh worker: warm up, decode `runs` times, return the median decode tok/s."""
    worker = Worker(kind, kind, folder, THREADS)
    try:
        worker.ask_raw({"op": "generate", "ids": ids[:64], "new": WARMUP_TOKENS})
        return statistics.median(
            worker.ask_raw({"op": "generate", "ids": ids, "new": NEW})["decode_tps"] for _ in range(runs)
        )
    finally:
        worker.close()


def run_case(precision: str, length: int, pairs: int, runs: int) -> dict:
    folder = built_model(precision, THREADS)
    ids = code_prompts(folder / "tokenizer.json", (length,), 10)[0][length]
    ours, genai = [], []
    for pair in range(pairs):
        kinds = ("ours", "genai") if pair % 2 == 0 else ("genai", "ours")
        tps = {kind: one_process(kind, folder, ids, runs) for kind in kinds}
        ours.append(tps["ours"])
        genai.append(tps["genai"])
        print(
            f"{precision}@{length} pair {pair + 1}/{pairs}: ours {tps['ours']:.1f}, genai {tps['genai']:.1f} tok/s",
            file=sys.stderr,
            flush=True,
        )
    ratios = [o / g for o, g in zip(ours, genai, strict=False)]
    low, high = bootstrap_median_interval(ratios)
    return {
        "case": f"{precision}@{length}",
        "ours_tps": ours,
        "genai_tps": genai,
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "interval_95": [low, high],
        "ours_faster": sum(r > 1 for r in ratios),
        "pairs": pairs,
    }


def report(cases: list[dict], runs: int) -> str:
    rows = [
        "## Decode ours/genai in fresh processes, paired (confidence intervals)",
        "",
        f"The engine benchmark's models, {NEW} greedy tokens, {THREADS} threads. Every pair starts two new "
        f"processes (which goes first alternates); each warms up, then decodes {runs} times and gives its median. "
        "Interval: 95 % percentile bootstrap of the median ratio. "
        "Reproduce: `.venv/bin/python -m bench.decode_ab`.",
        "",
        "| case | pairs | ours tok/s (median) | genai tok/s (median) | ours/genai (median of pairs) | 95 % interval "
        "| pairs where ours is faster |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        rows.append(
            f"| {c['case']} | {c['pairs']} | {statistics.median(c['ours_tps']):.1f} | "
            f"{statistics.median(c['genai_tps']):.1f} | {c['median_ratio']:.3f} | "
            f"{c['interval_95'][0]:.3f}–{c['interval_95'][1]:.3f} | {c['ours_faster']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=int, default=20)
    p.add_argument("--runs", type=int, default=3, help="decodes per process (its median is the sample)")
    p.add_argument("--cases", default="fp32@200,int4@200,fp32@2000,int4@2000")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    cases = []
    for case in args.cases.split(","):
        precision, length = case.split("@")
        cases.append(run_case(precision, int(length), args.pairs, args.runs))
    data = {
        "cases": cases,
        "runs": args.runs,
        "new_tokens": NEW,
        "threads": THREADS,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "decode_ab.json").write_text(json.dumps(data, indent=2) + "\n")
    text = report(cases, args.runs)
    write_section(args.out / "RESULTS.md", "decode-ab", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
