"""magicoder-eval: HumanEval pass@1 through the product's own prompts and post-processing, on any backend.

  magicoder-eval humaneval --model ~/models/magicoder        # instruction mode (Magicoder's own evaluation prompt)
  magicoder-eval infill --model ~/models/magicoder           # fill-in-the-middle through the LSP server
  magicoder-eval humaneval --endpoint http://gpu-box:8000/v1 # a team's OpenAI-compatible server

Writes report.md and results.json to --out; prints the summary.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from .backend import Backend, open_engine, preflight
from .execution import Executor
from .holes import MODES, infill_cases
from .infill import DEFAULT_MAX_NEW_TOKENS as INFILL_MAX_NEW_TOKENS
from .instruct import DEFAULT_MAX_NEW_TOKENS as INSTRUCT_MAX_NEW_TOKENS
from .problems import load_problems
from .report import CaseResult, Run, summary, write_report
from .run import Progress, evaluate_infill, evaluate_instruction


def _backend_options(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--model", type=Path, help="a model folder made by magicoder-export (the local ONNX engine)")
    where.add_argument("--endpoint", help="an OpenAI-compatible server's base URL, e.g. http://gpu-box:8000/v1")
    p.add_argument("--remote-model", default="", help="with --endpoint: the served model's name (default: the first)")
    p.add_argument("--tokenizer", default="", help="with --endpoint: the model's tokenizer.json or its folder")
    p.add_argument("--ca-bundle", default="", help="with --endpoint: a PEM file of extra CA certificates")
    p.add_argument("--allow-insecure", action="store_true", help="with --endpoint: allow plain http to another host")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="with --model")
    p.add_argument("--threads", type=int, help="with --model: intra-op threads (default: physical cores)")


def _run_options(p: argparse.ArgumentParser, max_new_tokens: int) -> None:
    p.add_argument("--limit", type=int, help="only the first N problems")
    p.add_argument("--seed", type=int, default=0, help="chooses the holes (infill); recorded (greedy decoding)")
    p.add_argument("--workers", type=int, default=2, help="tests run in parallel (default 2)")
    p.add_argument("--max-new-tokens", type=int, default=max_new_tokens, help=f"per answer (default {max_new_tokens})")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds a problem's tests may run (default 10)")
    p.add_argument("--memory-mb", type=int, default=1024, help="memory a problem's tests may use (default 1024)")
    p.add_argument("--out", type=Path, default=Path("magicoder-eval"), help="where report.md and results.json go")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="magicoder-eval", description=(__doc__ or "").split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    humaneval = sub.add_parser("humaneval", help="instruction mode: HumanEval's 164 problems as Magicoder is evaluated")
    infill = sub.add_parser("infill", help="fill-in-the-middle: a line or a block of each solution, through the server")
    for parser, tokens in ((humaneval, INSTRUCT_MAX_NEW_TOKENS), (infill, INFILL_MAX_NEW_TOKENS)):
        _backend_options(parser)
        _run_options(parser, tokens)
    infill.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="default: both")
    return p.parse_args(argv)


def backend_of(args: argparse.Namespace) -> Backend:
    return Backend(
        model=str(args.model.expanduser().resolve()) if args.model else None,
        endpoint=args.endpoint or "",
        remote_model=args.remote_model,
        tokenizer=str(Path(args.tokenizer).expanduser().resolve()) if args.tokenizer else "",
        device=args.device,
        threads=args.threads,
        ca_bundle=args.ca_bundle,
        allow_insecure=args.allow_insecure,
    )


def evaluate(args: argparse.Namespace, backend: Backend) -> tuple[list[CaseResult], str]:
    """The results, and the model's name."""
    problems = load_problems(args.limit)
    preflight(backend)
    with Executor(args.workers, args.timeout, args.memory_mb) as executor:
        if args.command == "humaneval":
            engine = open_engine(backend)
            progress = Progress(len(problems), "humaneval", not args.no_progress)
            try:
                return evaluate_instruction(engine, problems, executor, args.max_new_tokens, progress), engine.name
            finally:
                progress.close()
        cases = infill_cases(problems, args.modes, args.seed)
        progress = Progress(len(cases), "infill", not args.no_progress)
        try:
            log = args.out / "server.log"
            return evaluate_infill(backend, cases, executor, args.max_new_tokens, log, progress), backend.describe()
        finally:
            progress.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        backend = backend_of(args)
    except ValueError as exc:
        print(f"magicoder-eval: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results, model = evaluate(args, backend)
    command = shlex.join(["magicoder-eval", *(sys.argv[1:] if argv is None else argv)])
    run = Run(command, backend.describe(), model, args.seed, args.max_new_tokens, time.perf_counter() - started)
    md, js = write_report(args.out, run, results)
    for mode, s in summary(results).items():
        print(f"{mode}: {s['passed']}/{s['cases']} passed, pass@1 {s['pass_at_1'] * 100:.1f} %")
    print(f"report: {md}  results: {js}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
