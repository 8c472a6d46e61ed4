"""GPU check (run by bench/gpu_check.sh on a CUDA machine): this engine vs onnxruntime-genai-cuda.

Builds random-weight models with Magicoder's full width (hidden 4096, 32 heads, intermediate
11008, vocab 32256) at a few layer counts, exports each fp16 and int4 for cuda, measures TTFT and
decode tok/s for both runners on the same graphs (in one process, interleaved, the order rotated
every rep), extrapolates the decode step to Magicoder's 32 layers, and compares it with the
memory-bandwidth limit (weight bytes read per token / measured copy bandwidth).  Writes
gpu_results.json and GPU_RESULTS.md into --out.

  --device cpu with a small --hidden runs the same code on this machine (tests/test_gpu_check.py).
  --prebuild builds the Hugging Face models only (so a GPU machine can build them while the
  onnxruntime-gpu wheel is still being carried); the exports run with onnxruntime-gpu.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

from bench.lib.gpu_report import GraphBytes, graph_bytes, render, summarize
from bench.lib.models import exported, hf_model
from bench.lib.paths import SHARED_TOKENIZER
from bench.lib.prompts import code_prompts
from bench.lib.runners import Genai, Ours

PRECISIONS = ("fp16", "int4")


def log(message: str) -> None:
    print(f"[gpu-check {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def copy_bandwidth_bytes_per_s(device: str) -> float:
    """A large device-to-device copy, counting bytes read and written."""
    return cpu_copy_bandwidth() if device == "cpu" else cuda_copy_bandwidth()


def cpu_copy_bandwidth() -> float:
    import numpy as np

    src = np.ones(1 << 27, np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    start = time.perf_counter()
    for _ in range(5):
        np.copyto(dst, src)
    return 2 * src.nbytes * 5 / (time.perf_counter() - start)


def cuda_copy_bandwidth() -> float:
    import torch

    src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda").random_()
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        dst.copy_(src)
    torch.cuda.synchronize()
    return 2 * src.numel() * 10 / (time.perf_counter() - start)


def build(args: argparse.Namespace, layers: int) -> dict[str, Path]:
    """The HF model at ``layers`` layers and its fp16 and int4 cuda exports (kept when present)."""
    work = args.work / f"h{args.hidden}-l{layers}"

    def say(message: str) -> None:
        log(f"L{layers}: {message}")

    shape = {"hidden": args.hidden, "layers": layers, "heads": args.heads, "intermediate": args.intermediate}
    hf = hf_model(work / "hf", shape, seed=5, tokenizer=args.tokenizer, log=say)
    if args.prebuild:
        return {}
    options = ["--parity-tokens", str(args.parity_tokens), "--fidelity-tokens", "64"]
    # Random weights: int4 drifts from fp32, and the speed comparison needs every graph; the
    # report gives each export's parity (measured where the graph runs: on the GPU).
    options += ["--parity-gate", "report"]
    if args.device == "cpu":  # the CPU run of this script: gate there too, rather than leave it pending
        options += ["--gate-on-cpu"]
    return {precision: exported(hf, work / precision, precision, "cuda", options, log=say) for precision in PRECISIONS}


def measure(models: dict[int, dict[str, Path]], args: argparse.Namespace) -> tuple[dict, dict]:
    """Medians of TTFT and decode tok/s per runner; whether ours and genai chose the same tokens."""
    any_model = next(iter(models.values()))["fp16"]
    prompts, _, _ = code_prompts(any_model / "tokenizer.json", (200, 2000), 10)
    runners: dict[str, Ours | Genai] = {}
    for n, folders in models.items():
        for precision, folder in folders.items():
            runners[f"ours {precision} L{n}"] = Ours(str(folder), args.threads, args.device)
            runners[f"genai {precision} L{n}"] = Genai(str(folder), args.threads, args.device)
    log(f"{len(runners)} runners loaded")
    names = list(runners)
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    tokens: dict[str, dict[int, list[int]]] = {name: {} for name in names}
    for rep in range(args.reps + 1):  # rep 0 warms up every runner and prompt length
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for length, ids in prompts.items():
            for name in order:
                r = runners[name].generate(ids, args.new_tokens)
                tokens[name][length] = r["tokens"]
                if rep:
                    samples[name].setdefault(f"ttft_{length}", []).append(r["ttft_s"])
                    samples[name].setdefault(f"decode_{length}", []).append(r["decode_tps"])
        log(f"rep {rep} done")
    medians: dict[str, dict] = {name: {k: statistics.median(v) for k, v in s.items()} for name, s in samples.items()}
    for name, runner in runners.items():
        if isinstance(runner, Ours):
            medians[name]["step_split_200"] = step_split(runner, prompts[200], args.new_tokens)
    same = {}
    for name in names:
        if name.startswith("ours "):
            theirs = tokens["genai " + name[len("ours ") :]]
            same[name] = " / ".join(
                "identical" if tokens[name][n] == theirs[n] else f"first {_agree(tokens[name][n], theirs[n])}"
                for n in prompts
            )
    return medians, same


def step_split(runner: Ours, ids: list[int], new: int) -> dict:
    """One decode step of ours split into onnxruntime's run and the rest (sampling, streaming, binding)."""
    session = runner.engine.session.session
    real, inside = session.run_with_iobinding, []

    def timed(*args):
        start = time.perf_counter()
        real(*args)
        inside.append(time.perf_counter() - start)

    session.run_with_iobinding = timed  # an instance attribute shadows the method for this one generation
    try:
        r = runner.generate(ids, new)
    finally:
        del session.run_with_iobinding
    step, run = 1 / r["decode_tps"], statistics.median(inside[1:])  # inside[0] is the prefill
    return {"step_ms": step * 1e3, "run_ms": run * 1e3, "outside_ms": (step - run) * 1e3}


def _agree(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def device_name(device: str) -> str:
    if device == "cpu":
        import platform

        return f"CPU ({platform.machine()})"
    import torch

    return torch.cuda.get_device_name(0)


def versions() -> dict:
    import onnxruntime
    import onnxruntime_genai

    return {
        "onnxruntime": onnxruntime.__version__,
        "onnxruntime_genai": onnxruntime_genai.__version__,
        "providers": onnxruntime.get_available_providers(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--work", type=Path, default=Path("/tmp/gpu-check"))
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--layers", type=int, nargs="+", default=[2, 4])
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--intermediate", type=int, default=11008)
    p.add_argument("--tokenizer", type=Path, default=SHARED_TOKENIZER, help="Hugging Face tokenizer folder")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads of the CPU work (0: default)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--new-tokens", type=int, default=128)
    p.add_argument("--parity-tokens", type=int, default=8)
    p.add_argument("--prebuild", action="store_true", help="build the Hugging Face models, then stop")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    models = {n: build(args, n) for n in args.layers}
    if args.prebuild:
        log("prebuild done")
        return 0
    bandwidth = copy_bandwidth_bytes_per_s(args.device)
    log(f"copy bandwidth {bandwidth / 1e9:.0f} GB/s")
    results, same = measure(models, args)
    bytes_by: dict[str, dict[int, GraphBytes]] = {}
    for precision in PRECISIONS:
        bytes_by[precision] = {}
        for n, folders in models.items():
            manifest = json.loads((folders[precision] / "manifest.json").read_text())
            bytes_by[precision][n] = graph_bytes(folders[precision] / manifest["graph"], manifest["io"]["input_ids"], n)
    parity = {}
    for n, folders in models.items():
        for precision, folder in folders.items():
            p = json.loads((folder / "parity.json").read_text())
            parity[f"{precision} L{n}"] = {
                "passed": p["passed"],
                "tokens_identical": p["tokens_identical"],
                **{k: p["fidelity"][k] for k in ("top1_agreement", "perplexity_ratio", "mean_kl")},
            }
    report = {
        "parity": parity,
        "device": device_name(args.device),
        "versions": versions(),
        "date": datetime.datetime.now().isoformat("T", "minutes"),
        "shape": {"hidden": args.hidden, "heads": args.heads, "intermediate": args.intermediate},
        "layers": args.layers,
        "reps": args.reps,
        "new_tokens": args.new_tokens,
        "copy_bandwidth_gb_s": bandwidth / 1e9,
        "results": results,
        "same_tokens": same,
        "bytes": {p: {n: vars(g) for n, g in by.items()} for p, by in bytes_by.items()},
        "summary": summarize(results, bytes_by, bandwidth),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_results.json").write_text(json.dumps(report, indent=2))
    (args.out / "GPU_RESULTS.md").write_text(render(report) + "\n")
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
