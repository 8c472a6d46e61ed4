"""Quality: magicoder-eval against a scripted model (the pipeline's ceiling) and the tiny model (a smoke run).

  .venv/bin/python -m bench.quality [--tiny-limit 164] [--workers 2]

The scripted model (tests/helpers/scripted_model.py) is an OpenAI-compatible server that answers each prompt with
the known right answer plus what real models add after it; served through the remote backend, every case it
loses is lost by our prompts, budgets or clean-up. The tiny model (random weights) only shows that a local run
completes without errors. Writes bench/results/quality.json and the "quality" section of bench/results/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.lib.models import tiny_model
from bench.lib.paths import RESULTS, TINY_MODEL, WORK
from bench.lib.quality_report import compact, report
from bench.lib.sections import publish
from evaluation.cli import main as eval_main
from tests.helpers.scripted_model import ScriptedModel

RUNS = WORK / "quality"
TINY_MAX_NEW_TOKENS = 64  # random weights rarely stop on their own: a smoke run needs no more


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--limit", type=int, help="problems the scripted model's runs ask (default: all 164)")
    p.add_argument("--tiny-limit", type=int, default=164, help="problems the tiny model's smoke run asks")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--model", type=Path, default=TINY_MODEL)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--runs", type=Path, default=RUNS, help="where each run's report.md and results.json go")
    return p.parse_args(argv)


def run_eval(name: str, argv: list[str], runs: Path) -> dict:
    """One magicoder-eval run (in this process, as its console script runs it): its results.json and wall time."""
    out = runs / name
    start = time.perf_counter()
    assert eval_main([*argv, "--out", str(out), "--no-progress"]) == 0
    data = json.loads((out / "results.json").read_text())
    return {**data, "wall_s": time.perf_counter() - start, "report": str(out / "report.md")}


def measure(args: argparse.Namespace) -> dict:
    tokenizer = str(args.model / "tokenizer.json")
    workers = ["--workers", str(args.workers)]
    runs: dict[str, dict] = {}
    with ScriptedModel(seed=0) as scripted:
        remote = ["--endpoint", scripted.url, "--tokenizer", tokenizer, *workers]
        remote += ["--limit", str(args.limit)] if args.limit else []
        runs["scripted-humaneval"] = run_eval("scripted-humaneval", ["humaneval", *remote], args.runs)
        runs["scripted-infill"] = run_eval("scripted-infill", ["infill", *remote], args.runs)
        runs["scripted-unmatched"] = {"prompts": len(scripted.unmatched)}
    local = ["--model", str(args.model), "--limit", str(args.tiny_limit), "--max-new-tokens", str(TINY_MAX_NEW_TOKENS)]
    runs["tiny-humaneval"] = run_eval("tiny-humaneval", ["humaneval", *local, *workers], args.runs)
    runs["tiny-infill"] = run_eval("tiny-infill", ["infill", *local, *workers], args.runs)
    return runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tiny_model(args.model)
    runs = measure(args)
    runs = {name: compact(name, run) if "results" in run else run for name, run in runs.items()}
    publish(args.out, "quality", runs, report(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
