"""Export a full-size (Magicoder-S-DS-6.7B-shaped, random bf16 weights) checkpoint on this machine and serve it.

  .venv/bin/python -m bench.export_fullsize [--layers 32] [--compare-no-streaming] [--keep] [--no-serve]
  .venv/bin/python -m bench.export_fullsize --layers 1 2 4 8 --compare-no-streaming   (memory against the layer count)
  .venv/bin/python -m bench.export_fullsize --report-only         (rewrite both reports from the JSON)

Writes the checkpoint tensor by tensor (bench.lib.checkpoint) into .cache/bench/export-fullsize/,
runs `magicoder-export build CKPT --output OUT --precision int4 --target cpu --parity-gate report` and the
same with `--precision fp16 --target cuda` as measured child processes (bench.lib.build_measure: time per
phase, whole-process and conversion peak RSS, model folder size, peak extra disk), then serves the int4
folder with the real server for one inline completion and one Ask Magicoder (bench.lib.serve).
The checkpoint is deleted afterwards, the model folders too unless --keep.  With one layer count the
results go to the "run" section of bench/results/export_fullsize.json and to bench/results/EXPORT_FULLSIZE.md,
with several to its "scaling" section and to bench/results/EXPORT_SCALE.md (no serving).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from bench.lib import paths
from bench.lib.build_measure import NO_STREAMING, DiskSampler, measure_build, supports_no_streaming
from bench.lib.checkpoint import WIDTHS, CheckpointSpec, write_checkpoint
from bench.lib.fullsize_report import render, render_scale

WORK = paths.WORK / "export-fullsize"
RUNS = {"int4-cpu": ("int4", "cpu"), "fp16-cuda": ("fp16", "cuda")}
MAX_NO_STREAMING_LAYERS = (
    4  # the in-memory path needs about 2 GiB per layer at full width (bench/results/EXPORT_SCALE.md)
)
RESULTS_JSON, RESULTS_MD, SCALE_MD = "export_fullsize.json", "EXPORT_FULLSIZE.md", "EXPORT_SCALE.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.export_fullsize", description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, nargs="+", default=[32], help="one count: the full run; several: scaling")
    p.add_argument(
        "--compare-no-streaming",
        action="store_true",
        help=f"also export with {NO_STREAMING} (the in-memory builder; at full width only up to "
        f"{MAX_NO_STREAMING_LAYERS} layers) and compare the files",
    )
    p.add_argument("--runs", nargs="+", choices=RUNS, default=list(RUNS), help="exports to run (default: all)")
    p.add_argument("--keep", action="store_true", help="keep the exported model folders")
    p.add_argument("--no-serve", action="store_true", help="do not serve the int4 folder")
    p.add_argument("--ask-tokens", type=int, default=64, help="maxNewTokens of the Ask Magicoder request")
    p.add_argument("--inline-tokens", type=int, default=16, help="inlineMaxNewTokens of the inline completion")
    p.add_argument("--shard-gb", type=float, default=5.0, help="largest checkpoint shard in GB")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parity-tokens", type=int, help="passed to build (default: build's)")
    p.add_argument("--fidelity-tokens", type=int, help="passed to build (default: build's)")
    p.add_argument("--skip-resource-checks", action="store_true", help="passed to build")
    p.add_argument("--work", type=Path, default=WORK, help="checkpoints and model folders go here")
    p.add_argument(
        "--results-dir", type=Path, default=paths.RESULTS, help=f"where {RESULTS_JSON}, {RESULTS_MD} and {SCALE_MD} go"
    )
    p.add_argument("--report-only", action="store_true", help=f"rewrite the reports from {RESULTS_JSON}")
    p.add_argument("--tokenizer", type=Path, default=paths.SHARED_TOKENIZER, help="DeepSeek-Coder tokenizer folder")
    p.add_argument("--width", choices=WIDTHS, default="full", help=argparse.SUPPRESS)  # tiny: tests of this driver
    return p.parse_args(argv)


def check(args: argparse.Namespace) -> None:
    """Refuse what cannot work before writing gigabytes."""
    if not (args.tokenizer / "tokenizer.json").is_file():
        raise SystemExit(
            f"no tokenizer.json in {args.tokenizer}: pass the DeepSeek-Coder tokenizer folder with --tokenizer"
        )
    if args.compare_no_streaming and not supports_no_streaming():
        raise SystemExit(f"magicoder-export build has no {NO_STREAMING} option here: nothing to compare with")


def build_extra(args: argparse.Namespace) -> list[str]:
    extra = ["--skip-resource-checks"] if args.skip_resource_checks else []
    for flag in ("parity_tokens", "fidelity_tokens"):
        if getattr(args, flag) is not None:
            extra += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    return extra


def run_names(args: argparse.Namespace, layers: int) -> dict[str, tuple[str, str, list[str]]]:
    """name -> (precision, target, extra build options); the in-memory twins only where they fit in memory."""
    runs: dict[str, tuple[str, str, list[str]]] = {name: (*RUNS[name], []) for name in args.runs}
    if args.compare_no_streaming and (args.width != "full" or layers <= MAX_NO_STREAMING_LAYERS):
        runs.update({f"{name}-no-streaming": (*RUNS[name], [NO_STREAMING]) for name in args.runs})
    return runs


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def make_checkpoint(args: argparse.Namespace, layers: int) -> tuple[Path, dict]:
    spec = CheckpointSpec.of_width(args.width, layers=layers, seed=args.seed, shard_bytes=int(args.shard_gb * 1e9))
    folder = args.work / f"ckpt-l{layers}"
    shutil.rmtree(folder, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    say(f"writing a {layers}-layer checkpoint ({args.width} width) into {folder}")
    with DiskSampler(args.work) as disk:
        info = write_checkpoint(folder, spec, args.tokenizer)
    info.update(disk_peak_extra_bytes=disk.peak_extra_bytes, disk_peak_files_bytes=disk.peak_files_bytes)
    say(f"checkpoint: {info['bytes'] / 1e9:.2f} GB in {info['shards']} shards, {info['seconds']} s")
    return folder, info


def export_all(args: argparse.Namespace, ckpt: Path, layers: int) -> dict[str, dict]:
    results = {}
    for name, (precision, target, extra) in run_names(args, layers).items():
        out = args.work / f"out-l{layers}" / name
        say(f"{name}: exporting {layers} layers")
        results[name] = measure_build(
            ckpt, out, precision, target, args.work / "logs" / f"l{layers}-{name}.log", extra + build_extra(args)
        )
        r = results[name]
        say(
            f"{name}: status {r['returncode']}, {r['wall_s']:.0f} s, peak {r['peak_rss_gib']} GiB "
            f"(conversion {r['convert_peak_gib']} GiB), gate {r['gate']}"
        )
    return results


def serve_int4(args: argparse.Namespace, layers: int, exports: dict) -> dict:
    from bench.lib.serve import serve  # lsp client imports: only when serving

    if not exports.get("int4-cpu", {}).get("published"):
        return {"skipped": "no int4 model folder was published"}
    say("serving the int4 folder: one inline completion, one Ask Magicoder")
    try:
        return serve(
            args.work / f"out-l{layers}" / "int4-cpu",
            args.work / "logs" / f"l{layers}-server.log",
            args.ask_tokens,
            args.inline_tokens,
        )
    except Exception as exc:  # recorded: the exports' numbers must not be lost to a serving failure
        return {"error": f"{type(exc).__name__}: {exc}"}


def one_count(args: argparse.Namespace, layers: int, serving: bool) -> dict:
    """Checkpoint, exports (the checkpoint deleted after them), serving, clean-up of the outputs."""
    ckpt, info = make_checkpoint(args, layers)
    try:
        exports = export_all(args, ckpt, layers)
    finally:
        shutil.rmtree(ckpt, ignore_errors=True)
    point = {"layers": layers, "checkpoint": info, "exports": exports}
    try:
        if serving:
            point["serve"] = serve_int4(args, layers, exports)
    finally:
        if not args.keep:
            shutil.rmtree(args.work / f"out-l{layers}", ignore_errors=True)
    return point


def machine() -> str:
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpuinfo = Path("/proc/cpuinfo")
    model = (
        next((x.split(":", 1)[1].strip() for x in cpuinfo.read_text().splitlines() if x.startswith("model name")), None)
        if cpuinfo.is_file()
        else None
    )
    return f"{model or platform.machine()}, {os.cpu_count()} CPUs, {ram_gib:.0f} GiB RAM"


def save(results_dir: Path, section: str, body: dict) -> None:
    """Replace one section of the results JSON, then rewrite the Markdown from all of it."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / RESULTS_JSON
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[section] = body
    path.write_text(json.dumps(data, indent=2) + "\n")
    write_reports(results_dir, data)


def write_reports(results_dir: Path, data: dict) -> None:
    (results_dir / RESULTS_MD).write_text(render(data))
    (results_dir / SCALE_MD).write_text(render_scale(data))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only:
        write_reports(args.results_dir, json.loads((args.results_dir / RESULTS_JSON).read_text()))
        return 0
    args.work = args.work.resolve()
    check(args)
    scaling = len(args.layers) > 1
    header = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "command": " ".join([".venv/bin/python -m bench.export_fullsize", *(sys.argv[1:] if argv is None else argv)]),
        "width": {"name": args.width, **WIDTHS[args.width]},
    }
    points = []
    for layers in args.layers:  # saved after each layer count: an interrupted sweep keeps what it measured
        points.append(one_count(args, layers, serving=not scaling and not args.no_serve))
        if scaling:
            save(args.results_dir, "scaling", {**header, "points": points})
        else:
            save(args.results_dir, "run", {**header, **points[0]})
    say(f"wrote {args.results_dir / RESULTS_JSON}, {RESULTS_MD} and {SCALE_MD}")
    failed = [name for p in points for name, r in p["exports"].items() if r["returncode"] != 0]
    return 1 if failed or any("error" in p.get("serve", {}) for p in points) else 0


if __name__ == "__main__":
    sys.exit(main())
