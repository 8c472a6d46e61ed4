"""magicoder-export: Hugging Face -> ONNX model folder for magicoder-lsp.

  magicoder-export tiny --output DIR [--tokenizer HF_TOKENIZER_DIR]
  magicoder-export build [SOURCE] --output DIR [--precision fp32|fp16|int4|int8] [--target cpu|cuda]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from .parity import ParityError

DEFAULT_SOURCE = "ise-uiuc/Magicoder-S-DS-6.7B"
DEFAULT_PRECISION = {"cpu": "int4", "cuda": "fp16"}
log = logging.getLogger("magicoder-export")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="magicoder-export", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    tiny = sub.add_parser("tiny", help="build the small Magicoder-shaped demo/test model and export it")
    tiny.add_argument("--output", required=True, type=Path, help="model folder to write")
    tiny.add_argument("--tokenizer", type=Path, help="Hugging Face tokenizer folder (default: train one)")
    tiny.add_argument("--seed", type=int, default=1234)
    tiny.add_argument("--hidden-size", type=int, default=256)
    tiny.add_argument("--layers", type=int, default=4)
    tiny.add_argument("--heads", type=int, default=8)
    tiny.add_argument("--intermediate-size", type=int, default=688)
    tiny.add_argument("--no-rope-fix", action="store_true", help=argparse.SUPPRESS)

    build = sub.add_parser("build", help="export a Hugging Face Llama-family model (id or local folder)")
    build.add_argument("source", nargs="?", default=DEFAULT_SOURCE, help=f"default: {DEFAULT_SOURCE}")
    build.add_argument("--output", required=True, type=Path)
    build.add_argument("--target", choices=("cpu", "cuda"), default="cpu")
    build.add_argument("--precision", choices=("fp32", "fp16", "int4", "int8"), help="cpu: int4, cuda: fp16")
    build.add_argument("--cache-dir", type=Path, help="Hugging Face download cache")
    build.add_argument("--parity-tokens", type=int, default=32)
    return p


def _resolve_source(source: str, cache_dir: Path | None) -> Path:
    local = Path(source).expanduser()
    if local.is_dir():
        return local
    from huggingface_hub import snapshot_download

    log.info("[load] downloading %s from the Hugging Face Hub", source)
    return Path(
        snapshot_download(
            source,
            cache_dir=cache_dir,
            allow_patterns=["*.json", "*.safetensors", "tokenizer*", "*.model"],
        )
    )


def run_tiny(args: argparse.Namespace) -> int:
    from .pipeline import export_folder
    from .tiny import TinySpec, build_tiny_hf_model

    spec = TinySpec(
        hidden_size=args.hidden_size,
        num_layers=args.layers,
        num_heads=args.heads,
        intermediate_size=args.intermediate_size,
        seed=args.seed,
    )
    output = args.output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.hf-") as tmp:
        hf_dir = build_tiny_hf_model(Path(tmp) / "hf", spec, args.tokenizer)
        manifest = export_folder(
            hf_dir,
            output,
            name=f"magicoder-tiny-h{spec.hidden_size}-l{spec.num_layers}",
            source=f"tiny random init, seed {spec.seed}",
            precision="fp32",
            target="cpu",
            fix_rope=not args.no_rope_fix,
        )
        # Keep the transformers checkpoint beside the graph: tests and benchmarks compare against it.
        shutil.move(str(hf_dir), str(output / "hf"))
    log.info("wrote %s (%s)", output, manifest.name)
    return 0


def run_build(args: argparse.Namespace) -> int:
    from .pipeline import export_folder

    precision = args.precision or DEFAULT_PRECISION[args.target]
    hf_dir = _resolve_source(args.source, args.cache_dir)
    manifest = export_folder(
        hf_dir,
        args.output,
        name=Path(args.source).name,
        source=args.source,
        precision=precision,
        target=args.target,
        parity_tokens=args.parity_tokens,
    )
    log.info("wrote %s (%s, %s, %s)", args.output, manifest.name, precision, args.target)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    args = _parser().parse_args(argv)
    try:
        return run_tiny(args) if args.command == "tiny" else run_build(args)
    except ParityError as exc:
        log.error("parity gate failed: %s", exc)
        return 3
    except (FileNotFoundError, ValueError) as exc:
        log.error("error: %s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
