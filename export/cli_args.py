"""magicoder-export's command line (argparse): the commands (build, preflight, describe, validate, tiny, gguf) and
their options; export/cli.py runs them."""

from __future__ import annotations

import argparse
from pathlib import Path

from lsp_server.magicoder import MODEL_ID

from . import progress
from .options import ACCURACY_LEVELS, BLOCK_SIZES, EXPORTERS, PARITY_GATES, PRECISIONS, TARGETS

DEFAULT_SOURCE = MODEL_ID


def progress_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--progress",
        choices=progress.MODES,
        default="log",
        help="log: progress as log lines on stderr (default); json: also one JSON object per line on stdout "
        "(phases and steps with the fraction done, then done or error; see export/progress.py)",
    )


def add_build(sub) -> None:
    """The ``build`` command's options (every BuildOptions field has one of the same name)."""
    build = sub.add_parser("build", help="export a Hugging Face Llama-family model (id or local folder)")
    build.add_argument(
        "source", nargs="?", default=DEFAULT_SOURCE, help=f"Hub id or folder (default: {DEFAULT_SOURCE})"
    )
    build.add_argument("--output", required=True, type=Path, help="model folder to write")
    build.add_argument("--target", choices=TARGETS, default="cpu", help="where the model will run (default: cpu)")
    build.add_argument("--precision", choices=PRECISIONS, help="default: int4 for cpu, fp16 for cuda (optimum: fp32)")
    progress_option(build)
    build.add_argument(
        "--exporter",
        choices=EXPORTERS,
        default="builder",
        help="builder: onnxruntime-genai's fused graph (default); optimum: Hugging Face concat layout, "
        "run in the .venv-optimum environment",
    )
    build.add_argument("--max-context", type=int, help="context length to serve (default: the model's positions)")
    build.add_argument(
        "--int4-block-size",
        type=int,
        choices=BLOCK_SIZES,
        default=32,
        help="MatMulNBits block size for int4/int8 (default 32)",
    )
    build.add_argument(
        "--int4-accuracy-level",
        type=int,
        choices=ACCURACY_LEVELS,
        help="MatMulNBits accuracy level: 4 = int8 activations (cpu default), 0 = unset (cuda default)",
    )
    build.add_argument("--trust-remote-code", action="store_true", help="allow modeling code from the model repository")
    build.add_argument("--cache-dir", type=Path, help="Hugging Face download cache")
    build.add_argument("--parity-tokens", type=int, default=64, help="greedy tokens per parity prompt (default 64)")
    build.add_argument("--fidelity-tokens", type=int, default=512, help="held-out code tokens for top-1/perplexity")
    build.add_argument(
        "--parity-gate",
        choices=PARITY_GATES,
        default="enforce",
        help="enforce (default): publish only a graph that passes; report: publish anyway, with a "
        "warning and the failing parity.json (benchmarks on random weights)",
    )
    build.add_argument(
        "--gate-on-cpu",
        action="store_true",
        help="--target cuda without a usable GPU: run the parity gate on the CPU (small models) "
        'instead of publishing the folder unchecked, with parity status "pending"',
    )
    build.add_argument(
        "--no-streaming",
        dest="streaming",
        action="store_false",
        help="convert with the model builder's stock in-memory path (tens of GB of RAM for a 7B "
        "model) instead of module by module; same output",
    )
    build.add_argument("--skip-resource-checks", action="store_true", help="do not refuse on low RAM or disk")
    build.add_argument("--optimum-python", type=Path, help="interpreter of the optimum environment")


def parser(description: str) -> argparse.ArgumentParser:
    """magicoder-export's command line: its commands and their options (export/cli.py runs them)."""
    p = argparse.ArgumentParser(prog="magicoder-export", description=description)
    sub = p.add_subparsers(dest="command", required=True)
    add_build(sub)

    pre = sub.add_parser(
        "preflight", help="what an export needs (RAM, disk, time) and what this machine has; downloads nothing"
    )
    pre.add_argument("source", nargs="?", default=DEFAULT_SOURCE, help=f"Hub id or folder (default: {DEFAULT_SOURCE})")
    pre.add_argument("--output", type=Path, default=Path("magicoder-model"), help="where the model folder would go")
    pre.add_argument("--target", choices=TARGETS, default="cpu")
    pre.add_argument("--precision", choices=PRECISIONS)
    pre.add_argument("--int4-block-size", type=int, choices=BLOCK_SIZES, default=32)
    pre.add_argument("--cache-dir", type=Path, help="Hugging Face download cache")
    pre.add_argument("--gate-on-cpu", action="store_true")
    progress_option(pre)

    desc = sub.add_parser(
        "describe", help="write the manifest for an ONNX LLM folder produced elsewhere, after a check"
    )
    desc.add_argument("folder", type=Path)
    desc.add_argument("--reference", type=Path, help="the Hugging Face checkpoint it came from: runs the parity gate")
    desc.add_argument("--name")
    desc.add_argument("--target", choices=TARGETS, default="cpu")
    desc.add_argument("--parity-tokens", type=int, default=64)
    desc.add_argument("--trust-remote-code", action="store_true")
    desc.add_argument(
        "--check", action="store_true", help="describe and check the folder without writing anything into it"
    )
    progress_option(desc)

    check = sub.add_parser("validate", help="run the parity gate on a model folder (a pending one, or again)")
    check.add_argument("folder", type=Path)
    check.add_argument(
        "--reference",
        help="Hub id or folder of the checkpoint it came from (default: the "
        "manifest's source); without any, the graph is checked against itself",
    )
    check.add_argument("--parity-tokens", type=int, default=64, help="greedy tokens per parity prompt (default 64)")
    check.add_argument("--fidelity-tokens", type=int, default=512, help="held-out code tokens for top-1/perplexity")
    check.add_argument("--trust-remote-code", action="store_true", help="allow modeling code from the model repository")
    check.add_argument("--cache-dir", type=Path, help="Hugging Face download cache")
    progress_option(check)

    tiny = sub.add_parser("tiny", help="build the small Magicoder-shaped demo/test model and export it")
    tiny.add_argument("--output", required=True, type=Path, help="model folder to write")
    tiny.add_argument("--tokenizer", type=Path, help="Hugging Face tokenizer folder (default: train one)")
    tiny.add_argument("--seed", type=int, default=1234)
    tiny.add_argument("--hidden-size", type=int, default=256)
    tiny.add_argument("--layers", type=int, default=4)
    tiny.add_argument("--heads", type=int, default=8)
    tiny.add_argument("--intermediate-size", type=int, default=688)
    tiny.add_argument("--parity-tokens", type=int, default=64)
    tiny.add_argument("--no-rope-fix", action="store_true", help=argparse.SUPPRESS)

    gg = sub.add_parser("gguf", help="write an f32 llama.cpp GGUF of a Hugging Face Llama folder (llama.cpp servers)")
    gg.add_argument("folder", type=Path, help="Hugging Face LlamaForCausalLM folder (config, safetensors, tokenizer)")
    gg.add_argument("--output", required=True, type=Path, help="GGUF file to write")
    gg.add_argument("--name", help="general.name (default: the folder's name)")
    gg.add_argument(
        "--tokenizer-pre",
        help="llama.cpp pre-tokenizer name, for a tokenizer whose fingerprint is not recognised (default: detect)",
    )
    return p
