"""magicoder-export: Hugging Face -> ONNX model folder for magicoder-lsp.

magicoder-export build [SOURCE] --output DIR [--precision fp32|fp16|int4|int8] [--target cpu|cuda]
                       [--exporter builder|optimum] [--max-context N] [--int4-block-size N]
                       [--int4-accuracy-level N] [--trust-remote-code] [--parity-gate enforce|report]
                       [--gate-on-cpu] [--no-streaming] [--skip-resource-checks] [--progress log|json]
magicoder-export preflight [SOURCE] [--output DIR] [--precision ...] [--target ...] [--progress log|json]
                       (what an export needs and this machine has; downloads nothing)
magicoder-export describe DIR [--reference HF_DIR] [--check] [--progress log|json]
                       (adopt an ONNX folder produced elsewhere; --check: check it, write nothing)
magicoder-export validate DIR [--reference HF_DIR_OR_HUB_ID] [--progress log|json]
                       (run the parity gate on a model folder)
magicoder-export tiny --output DIR [--tokenizer HF_TOKENIZER_DIR]
magicoder-export gguf HF_DIR --output FILE.gguf [--name NAME] [--tokenizer-pre NAME]   (f32 GGUF for llama.cpp servers)
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from . import progress
from . import source as source_mod
from .cli_args import parser
from .errors import ParityError
from .known import KNOWN
from .optimum_path import OptimumError
from .options import BuildOptions
from .preflight import PreflightError, check_architecture, estimate, report, streaming_gap

log = logging.getLogger("magicoder-export")


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


def gate_runs_here(options: BuildOptions) -> bool:
    """Whether ``build`` will run the parity gate on this machine (a cuda graph without a usable GPU: pending)."""
    if options.target == "cpu" or options.gate_on_cpu:
        return True
    try:
        from .gate import gate_is_pending
    except ImportError:  # the exporter's tools are not installed (an editor's preflight): ask the driver
        return shutil.which("nvidia-smi") is not None
    return not gate_is_pending(options)


def hub_cache(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return cache_dir
    try:
        from huggingface_hub import constants
    except ImportError:
        return Path.home() / ".cache" / "huggingface" / "hub"
    return Path(constants.HF_HUB_CACHE)


def preflight_source(name: str, cache_dir: Path | None) -> source_mod.Source:
    """The source's config and download size, without the network for a known Hub model."""
    if not Path(name).expanduser().exists() and name in KNOWN:
        config, size = KNOWN[name]
        return source_mod.Source(name, config, None, (), size)
    return source_mod.inspect(name, cache_dir)


def figures(args: argparse.Namespace, options: BuildOptions, src: source_mod.Source) -> dict:
    """The preflight report (``preflight.report``) of exporting ``src`` with ``options`` into args.output."""
    assert options.precision is not None  # filled in by resolved()
    gate = gate_runs_here(options)
    needs = estimate(
        src.config,
        options.precision,
        options.target,
        options.exporter,
        options.int4_block_size,
        src.download_bytes,
        streaming=options.streaming and streaming_gap(src.config, options.trust_remote_code) is None,
        gate=gate,
    )
    log.info("[load] %s as %s needs %s", args.source, options.describe(), needs.explain())
    return report(
        needs,
        source=args.source,
        precision=options.precision,
        target=options.target,
        output=args.output,
        download_dir=None if src.local else hub_cache(args.cache_dir),
        download_bytes=src.download_bytes,
        gate=gate,
    )


def run_preflight(args: argparse.Namespace) -> int:
    options = BuildOptions(
        precision=args.precision,
        target=args.target,
        int4_block_size=args.int4_block_size,
        gate_on_cpu=args.gate_on_cpu,
    ).resolved()
    progress.phase("preflight", f"checking {args.source}")
    src = preflight_source(args.source, args.cache_dir)
    check_architecture(src.config)
    found = figures(args, options, src)
    progress.event("preflight", **found)
    minutes = found["minutes"]
    log.info(
        "[preflight] %s: download %.1f GB, then about %.0f min (conversion %.1f, parity check %.1f) on %d cores",
        "fits this machine" if found["ok"] else "does NOT fit this machine",
        found["download_bytes"] / 1e9,
        minutes["total"],
        minutes["convert"],
        minutes["validate"],
        found["cores"],
    )
    for problem in found["problems"]:
        log.warning("[preflight] %s", problem)
    progress.event("done", ok=found["ok"], fraction=1.0)
    return 0


def build_phases(source: str) -> list[str]:
    local = Path(source).expanduser().is_dir()
    return ["preflight", *([] if local else ["download"]), "load", "convert", "validate", "publish"]


def parity_status(folder: Path, manifest) -> str:
    from lsp_server.engine.gate import read_status

    return read_status(folder, manifest).status


def run_build(args: argparse.Namespace) -> int:
    # Every BuildOptions field has a command-line option of the same name.
    options = BuildOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(BuildOptions)}).resolved()
    progress.phase("preflight", f"checking {args.source}")
    src = source_mod.inspect(args.source, args.cache_dir)
    check_architecture(src.config, options.trust_remote_code)
    found = figures(args, options, src)
    progress.event("preflight", **found)
    if args.skip_resource_checks:
        log.info("[load] --skip-resource-checks: not checking RAM and disk")
    elif found["problems"]:
        raise PreflightError(found["problems"][0])
    hf_dir = source_mod.fetch(src, args.cache_dir)
    from .pipeline import export_folder  # torch, onnx, transformers: after the checks

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
    output = args.output.resolve()
    progress.event("done", output=str(output), parity=parity_status(output, manifest), fraction=1.0)
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
        write=not args.check,
    )
    if args.check:
        log.info(
            "%s is a working model folder (%s, %s KV layout); nothing written",
            args.folder,
            manifest.precision,
            manifest.kv.layout,
        )
        status = "passed"
    else:
        log.info("wrote %s (%s, %s KV layout)", args.folder / "manifest.json", manifest.precision, manifest.kv.layout)
        status = parity_status(args.folder.resolve(), manifest)
    progress.event("done", output=str(args.folder.resolve()), parity=status, fraction=1.0)
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
    progress.event("done", output=str(args.folder.resolve()), parity=report.status, fraction=1.0)
    return 0


COMMANDS = {
    "tiny": run_tiny,
    "build": run_build,
    "preflight": run_preflight,
    "describe": run_describe,
    "validate": run_validate,
    "gguf": run_gguf,
}


# The phases each command goes through, for --progress json (build's depend on its source).
PHASES = {
    "preflight": lambda args: ["preflight"],
    "build": lambda args: build_phases(args.source),
    "describe": lambda args: ["describe", "validate"],
    "validate": lambda args: ["load", "validate"],
}


def failure(exc: BaseException) -> tuple[int, str, str]:
    """Exit status, kind and message of an error that stops a command."""
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted", "interrupted"
    if isinstance(exc, ParityError):
        return 3, "parity", f"parity gate failed: {exc}"
    if isinstance(exc, PreflightError):
        return 2, "preflight", f"error: {exc}"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return 2, "disk_full", f"error: {exc}"
    return 2, "error", f"error: {exc}"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    # onnxruntime's quantizer logs two lines per node at INFO ("start to quantize ..."): keep its warnings only.
    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    args = parser(__doc__.split("\n")[0]).parse_args(argv)
    mode = getattr(args, "progress", "log")
    phases = PHASES.get(args.command, lambda args: [])(args)
    with progress.maybe_json(mode, args.command, phases):
        try:
            return COMMANDS[args.command](args)
        except (ParityError, OSError, ValueError, OptimumError, KeyboardInterrupt) as exc:
            # a failed gate; a missing or damaged file, a full disk, bad options; Ctrl-C or SIGTERM
            code, kind, message = failure(exc)
            log.error("%s", message)
            progress.event("error", kind=kind, message=str(exc) or message, exit_code=code)
            return code


if __name__ == "__main__":
    sys.exit(main())
