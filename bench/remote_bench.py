"""Remote backend: the LSP server with backend openai against llama-cpp-python's OpenAI-compatible server.

  .venv/bin/python -m bench.remote_bench [--pairs 40] [--cancels 20] [--keystrokes 1000]

The served model is the demo's tiny model (models/tiny) written as an f32 GGUF; the server is llama-cpp-python's
own, instrumented (bench.lib.counting_llama) to say what it generated, with ``interrupt_requests`` off so that
a generation stops only because its client closed the stream (as on vLLM). Three measures:

1. LSP overhead: per prompt, an inline completion over LSP (end to end, JSON-RPC over stdio included) and the
   exact request body it sent replayed from a bare HTTP client, in alternating order; overhead = LSP − raw,
   per pair; p50 and p95.
2. Cancel: inline completions with a long answer cancelled with $/cancelRequest once the server has generated
   some tokens: cancel → the request's answer, cancel → the server's last token, tokens generated after the
   cancel, and a one-token request right after (queued behind any generation still running) vs on an idle server.
3. The typing storm (bench.typing_storm) with backend openai: unanswered requests, both servers alive, and the
   tokens the server generated for requests that were cancelled.

Writes bench/results/remote.json and the "remote" section of bench/results/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import httpx

from bench.lib.models import tiny_model
from bench.lib.paths import RESULTS, SHARED_TOKENIZER, TINY_MODEL, WORK, usable_tokenizer
from bench.lib.remote_measures import Remote, cancel_trials, overhead_pairs, storm_on_remote
from bench.lib.remote_report import numbers, report
from bench.lib.sections import publish
from tests.helpers.llama_server import start_llama_server

SERVER_MODULE = "bench.lib.counting_llama"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--pairs", type=int, default=40, help="prompts timed over LSP and raw")
    p.add_argument("--cancels", type=int, default=20, help="cancelled completions")
    p.add_argument("--keystrokes", type=int, default=1000)
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--burst", type=int, default=20)
    p.add_argument("--pause-ms", type=float, default=400.0)
    p.add_argument("--model", type=Path, default=TINY_MODEL)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def tiny_gguf(model: Path) -> Path:
    """The tiny model's checkpoint as an f32 GGUF (magicoder-export gguf), built once."""
    from export.gguf_writer import write_gguf

    folder = hashlib.sha1(str(model.resolve()).encode()).hexdigest()[:12]  # one GGUF per model folder
    target = WORK / "remote" / f"{model.name}-{folder}.gguf"
    if target.is_file() and target.stat().st_mtime >= (model / "hf" / "config.json").stat().st_mtime:
        return target
    pre = None if usable_tokenizer(SHARED_TOKENIZER) else "deepseek-coder"  # see tests/conftest.py's tiny_gguf
    return write_gguf(model / "hf", target, name="magicoder-tiny", tokenizer_pre=pre)


def measure(args: argparse.Namespace) -> dict:
    gguf = tiny_gguf(args.model)
    log = WORK / "remote" / "llama-server.log"
    extra = ("--interrupt_requests", "false")
    with start_llama_server(gguf, log_path=log, extra_args=extra, module=SERVER_MODULE) as server:
        remote = Remote(server, args.model / "tokenizer.json")
        with httpx.Client(timeout=60) as http:
            overhead = overhead_pairs(remote, http, args.pairs)
            cancels = cancel_trials(remote, http, args.cancels)
            stormed = storm_on_remote(remote, http, args.keystrokes, args.rate, args.burst, args.pause_ms / 1000)
            llama_alive = remote.state(http) is not None
    return numbers(args, overhead, cancels, stormed, llama_alive)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tiny_model(args.model)
    data = measure(args)
    publish(args.out, "remote", data, report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
