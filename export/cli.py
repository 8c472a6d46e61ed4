"""magicoder-export: Hugging Face -> ONNX model folder for magicoder-lsp.

magicoder-export build [SOURCE] --output DIR [--precision fp32|fp16|int4|int8] [--target cpu|cuda]
                       [--exporter builder|optimum] [--max-context N] [--int4-block-size N]
                       [--int4-accuracy-level N] [--trust-remote-code] [--parity-gate enforce|report]
                       [--gate-on-cpu] [--no-streaming] [--skip-resource-checks]
magicoder-export describe DIR [--reference HF_DIR]   (adopt an ONNX folder produced elsewhere)
magicoder-export validate DIR [--reference HF_DIR_OR_HUB_ID]   (run the parity gate on a model folder)
magicoder-export tiny --output DIR [--tokenizer HF_TOKENIZER_DIR]
magicoder-export gguf HF_DIR --output FILE.gguf [--name NAME] [--tokenizer-pre NAME]   (f32 GGUF for llama.cpp servers)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from lsp_server.magicoder import MODEL_ID

from . import source as source_mod
from .optimum_path import OptimumError
from .options import ACCURACY_LEVELS, BLOCK_SIZES, EXPORTERS, PARITY_GATES, PRECISIONS, TARGETS, BuildOptions
from .preflight import check_architecture, check_resources, estimate
from .validate import ParityError

DEFAULT_SOURCE = MODEL_ID
log = logging.getLogger("magicoder-export")


def _build_parser(sub) -> None:
    build = sub.add_parser("build", help="export a Hugging Face Llama-family model (id or local folder)")
    build.add_argument(
        "source", nargs="?", default=DEFAULT_SOURCE, help=f"Hub id or folder (default: {DEFAULT_SOURCE})"
    )
    build.add_argument("--output", required=True, type=Path, help="model folder to write")
    build.add_argument("--target", choices=TARGETS, default="cpu", help="where the model will run (default: cpu)")
    build.add_argument("--precision", choices=PRECISIONS, help="default: int4 for cpu, fp16 for cuda (optimum: fp32)")
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="magicoder-export", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    _build_parser(sub)

    desc = sub.add_parser(
        "describe", help="write the manifest for an ONNX LLM folder produced elsewhere, after a check"
    )
    desc.add_argument("folder", type=Path)
    desc.add_argument("--reference", type=Path, help="the Hugging Face checkpoint it came from: runs the parity gate")
    desc.add_argument("--name")
    desc.add_argument("--target", choices=TARGETS, default="cpu")
    desc.add_argument("--parity-tokens", type=int, default=64)
    desc.add_argument("--trust-remote-code", action="store_true")

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


def run_gguf(args: argparse.Namespace) -> int:
    from .gguf_writer import write_gguf

    write_gguf(args.folder, args.output, name=args.name, tokenizer_pre=args.tokenizer_pre)
    return 0


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
            options=BuildOptions(precision="fp32", target="cpu", parity_tokens=args.parity_tokens),
            fix_rope=not args.no_rope_fix,
        )
        # Keep the transformers checkpoint beside the graph: tests and benchmarks compare against it.
        shutil.move(str(hf_dir), str(output / "hf"))
    log.info("wrote %s (%s)", output, manifest.name)
    return 0


def run_build(args: argparse.Namespace) -> int:
    from .pipeline import export_folder

    # Every BuildOptions field has a command-line option of the same name.
    options = BuildOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(BuildOptions)}).resolved()
    src = source_mod.inspect(args.source, args.cache_dir)
    check_architecture(src.config, options.trust_remote_code)
    from .gate import gate_is_pending
    from .streaming import streaming_gap

    assert options.precision is not None  # filled in by resolved()
    needs = estimate(
        src.config,
        options.precision,
        options.target,
        options.exporter,
        options.int4_block_size,
        src.download_bytes,
        streaming=options.streaming and streaming_gap(src.config, options.trust_remote_code) is None,
        gate=not gate_is_pending(options),
    )
    log.info("[load] %s as %s needs %s", args.source, options.describe(), needs.explain())
    if args.skip_resource_checks:
        log.info("[load] --skip-resource-checks: not checking RAM and disk")
    else:
        from huggingface_hub import constants

        download_dir = None if src.local else (args.cache_dir or Path(constants.HF_HUB_CACHE))
        check_resources(needs, args.output, download_dir)
    hf_dir = source_mod.fetch(src, args.cache_dir)
    manifest = export_folder(
        hf_dir,
        args.output,
        name=Path(args.source).name,
        source=str(src.local.resolve()) if src.local else args.source,  # `validate` finds it there again
        options=options,
        optimum_python=args.optimum_python,
    )
    log.info(
        "wrote %s (%s, %s, %s, %s KV)",
        args.output,
        manifest.name,
        manifest.precision,
        manifest.target,
        manifest.kv.layout,
    )
    return 0


def run_describe(args: argparse.Namespace) -> int:
    from .importer import import_folder

    manifest = import_folder(
        args.folder,
        reference=args.reference,
        name=args.name,
        target=args.target,
        parity_tokens=args.parity_tokens,
        trust_remote_code=args.trust_remote_code,
    )
    log.info("wrote %s (%s, %s KV layout)", args.folder / "manifest.json", manifest.precision, manifest.kv.layout)
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from .gate import validate_folder

    report = validate_folder(
        args.folder,
        args.reference,
        parity_tokens=args.parity_tokens,
        fidelity_tokens=args.fidelity_tokens,
        trust_remote_code=args.trust_remote_code,
        cache_dir=args.cache_dir,
    )
    log.info("%s: parity status %s (%s check)", args.folder, report.status, report.kind)
    return 0


COMMANDS = {
    "tiny": run_tiny,
    "build": run_build,
    "describe": run_describe,
    "validate": run_validate,
    "gguf": run_gguf,
}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    # onnxruntime's quantizer logs two lines per node at INFO ("start to quantize ..."): keep its warnings only.
    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ParityError as exc:
        log.error("parity gate failed: %s", exc)
        return 3
    except (OSError, ValueError, OptimumError) as exc:  # a missing or damaged file, a full disk, bad options
        log.error("error: %s", exc)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
