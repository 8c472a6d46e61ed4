"""Export at Magicoder's full width without its weights: time, peak RSS and sizes, extrapolated to 32 layers.

  .venv/bin/python -m bench.export_scale [--layers 1 2] [--precisions fp32 int4 fp16] [--report-only]

Builds random-weight checkpoints with Magicoder's full width (hidden 4096, 32 heads, intermediate
11008, vocab 32256, linear RoPE x4) and 1 and 2 layers (2 layers: a 2.7 GB fp32 graph, past
protobuf's 2 GB limit, so the external-data path is exercised), runs `magicoder-export build` on
each (fp32, int4, fp16) as a child process under /usr/bin/time -v (peak RSS of the whole export),
reads each phase's time and peak RSS from its stderr, and extrapolates to the real model's 32
layers (see ``extrapolate``).  Writes bench/EXPORT_SCALE.md and bench/export_scale.json.
The parity gate runs with fewer tokens than the default (``--parity-tokens 16 --fidelity-tokens
64``); validation time is extrapolated per decoded token to the default 5 x 64 + 512.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "bench" / "export-scale"
SHARED_TOKENIZER = ROOT.parent / "shared" / "data" / "deepseek-coder-tokenizer"
FULL_WIDTH = dict(hidden_size=4096, num_heads=32, intermediate_size=11008, vocab_size=32256)
REAL_LAYERS = 32
PARITY_TOKENS, FIDELITY_TOKENS = 16, 64
DEFAULT_DECODED = 5 * 64 + 512  # tokens the default gate decodes
PHASE = re.compile(r"^\[(\w+)\] (.+?) done in ([\d.]+)s \(peak RSS so far ([\d.]+) GiB\)", re.M)
GB = 1e9


def checkpoint(layers: int) -> Path:
    from export.tiny import TinySpec, build_tiny_hf_model

    hf = WORK / f"hf-l{layers}"
    if not (hf / "config.json").is_file():
        tokenizer = SHARED_TOKENIZER if SHARED_TOKENIZER.is_dir() else None
        build_tiny_hf_model(hf, TinySpec(num_layers=layers, seed=11, **FULL_WIDTH), tokenizer)
    return hf


def timed_export(hf: Path, out: Path, precision: str) -> dict:
    """One `magicoder-export build` in a child process: wall time, peak RSS, phases, sizes."""
    cmd = [
        sys.executable, "-m", "export.cli", "build", str(hf), "--output", str(out), "--precision", precision,
        "--target", "cpu", "--parity-tokens", str(PARITY_TOKENS), "--fidelity-tokens", str(FIDELITY_TOKENS),
    ]
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").is_file() else []
    start = time.perf_counter()
    proc = subprocess.run(timer + cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"export failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    phases = {f"{m[1]} {m[2].split(',')[0]}": {"s": float(m[3]), "peak_gib": float(m[4])} for m in PHASE.finditer(proc.stderr)}
    return {
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(int(rss[1]) * 1024 / GB, 2) if rss else max(p["peak_gib"] for p in phases.values()) * 1.074,
        "phases": phases,
        "graph_bytes": (out / "model.onnx").stat().st_size,
        "data_bytes": (out / "model.onnx.data").stat().st_size,
    }


def fit(points: dict[int, float], at: int) -> float:
    """Straight line through the (layers, value) points, evaluated at ``at`` layers."""
    xs, ys = list(points), list(points.values())
    if len(xs) == 1:
        return ys[0] * at / xs[0]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my + slope * (at - mx)


def extrapolate(runs: dict, layers: list[int], precision: str, checkpoint_gb: dict[int, float]) -> dict:
    """Sizes and peak RSS: linear fit in the layer count (stable between runs).  Times: scaled by the
    fp32 weight size from the largest run (a fit through two noisy timings on a shared 2-core machine
    swings by a factor of 2 from run to run)."""

    def series(get) -> dict[int, float]:
        return {n: get(runs[f"{precision}-l{n}"]) for n in layers}

    largest = runs[f"{precision}-l{max(layers)}"]["phases"]
    scale = real_checkpoint_gb(checkpoint_gb) / checkpoint_gb[max(layers)]
    decoded = 5 * PARITY_TOKENS + FIDELITY_TOKENS
    return {
        "weights_gb": round(fit(series(lambda r: r["data_bytes"] / GB), REAL_LAYERS), 2),
        "peak_rss_gb": round(fit(series(lambda r: r["peak_rss_gb"]), REAL_LAYERS), 1),
        "convert_peak_gib": round(fit(series(lambda r: r["phases"]["convert builder export"]["peak_gib"]), REAL_LAYERS), 1),
        "convert_s": round(largest["convert builder export"]["s"] * scale),
        "validate_default_s": round(
            (largest["validate onnx"]["s"] / decoded * DEFAULT_DECODED + largest["validate reference"]["s"]) * scale
        ),
    }


def real_checkpoint_gb(checkpoint_gb: dict[int, float]) -> float:
    return fit(checkpoint_gb, REAL_LAYERS)


def write_report(data: dict) -> None:
    (ROOT / "bench" / "export_scale.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# Export at Magicoder's full width: time, peak RSS, sizes",
        "",
        f"Random weights, hidden 4096, 32 heads, intermediate 11008, vocab 32256, linear RoPE x4; "
        f"{', '.join(map(str, data['layers']))} layers; `magicoder-export build --target cpu` with the parity gate "
        f"at {PARITY_TOKENS} greedy tokens x 5 prompts and {FIDELITY_TOKENS} held-out tokens; peak RSS of the whole "
        f"child process from /usr/bin/time -v; {data['machine']}; {data['date']}.",
        "Reproduce: `.venv/bin/python -m bench.export_scale` (writes this file and `bench/export_scale.json`).",
        "",
        "| run | fp32 checkpoint GB | wall s | convert s | validate s (onnx + reference) | peak RSS GB | "
        "convert peak GiB | model.onnx.data GB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in data["runs"].items():
        p = r["phases"]
        lines.append(
            f"| {name} | {r['checkpoint_gb']:.2f} | {r['wall_s']:.0f} | {p['convert builder export']['s']:.0f} | "
            f"{p['validate onnx']['s'] + p['validate reference']['s']:.0f} | {r['peak_rss_gb']:.1f} | "
            f"{p['convert builder export']['peak_gib']:.1f} | {r['data_bytes'] / GB:.2f} |"
        )
    lines += [
        "",
        f"## Extrapolated to {REAL_LAYERS} layers (Magicoder-S-DS-6.7B, {data['real_checkpoint_gb']:.1f} GB in fp32)",
        "",
        "Sizes and peak RSS: linear fit in the layer count. Times: the largest run's, scaled by the weight size "
        "(timings on this shared 2-core machine vary by up to 2x between runs; decoding is memory-bound, so "
        "more cores and memory bandwidth shorten the gate).",
        "",
        "| precision | model.onnx.data GB | peak RSS GB | conversion s | conversion peak GiB | "
        f"validation s (default gate: {DEFAULT_DECODED} decoded tokens) |",
        "|---|---|---|---|---|---|",
    ]
    for precision, e in data["extrapolated"].items():
        lines.append(
            f"| {precision} | {e['weights_gb']:.1f} | {e['peak_rss_gb']:.0f} | {e['convert_s']} | "
            f"{e['convert_peak_gib']:.0f} | {e['validate_default_s']} |"
        )
    lines.append("")
    (ROOT / "bench" / "EXPORT_SCALE.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "int4", "fp16"])
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from export_scale.json")
    args = parser.parse_args(argv)
    if args.report_only:  # recompute the report from the last run's measurements
        data = json.loads((ROOT / "bench" / "export_scale.json").read_text())
        runs, args.layers, args.precisions = data["runs"], data["layers"], list(data["extrapolated"])
        return finish(runs, args, data["machine"], data["date"])
    runs = {}
    for layers in args.layers:
        start = time.perf_counter()
        hf = checkpoint(layers)
        size = sum(p.stat().st_size for p in hf.glob("*.safetensors")) / GB
        print(f"checkpoint {layers} layers: {size:.2f} GB ({time.perf_counter() - start:.0f}s)", file=sys.stderr)
        for precision in args.precisions:
            run = timed_export(hf, WORK / f"{precision}-l{layers}", precision)
            runs[f"{precision}-l{layers}"] = {"checkpoint_gb": round(size, 2), **run}
            print(f"{precision} {layers} layers: {json.dumps(run)}", file=sys.stderr)
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {ram:.0f} GiB RAM"
    return finish(runs, args, machine, time.strftime("%Y-%m-%d"))


def finish(runs: dict, args: argparse.Namespace, machine: str, date: str) -> int:
    checkpoint_gb = {n: runs[f"{args.precisions[0]}-l{n}"]["checkpoint_gb"] for n in args.layers}
    data = {
        "layers": args.layers,
        "runs": runs,
        "real_checkpoint_gb": round(real_checkpoint_gb(checkpoint_gb), 2),
        "extrapolated": {p: extrapolate(runs, args.layers, p, checkpoint_gb) for p in args.precisions},
        "machine": machine,
        "date": date,
    }
    write_report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
