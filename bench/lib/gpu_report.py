"""The GPU check's arithmetic and report: bytes a decode step reads, the extrapolation to
Magicoder's 32 layers, the ratio to the memory-bandwidth limit, and the markdown section.

Pure functions over the measured numbers (and an ONNX graph's initializer table), so they are
tested on this machine; bench/gpu_check.py measures on the GPU machine and calls them, and
`python -m bench.gpu_report` writes the section from the check's JSON.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.lib.stats import least_squares

MAGICODER_LAYERS = 32
LAYER = re.compile(r"layers\.(\d+)\.")


@dataclass(frozen=True)
class GraphBytes:
    """Initializer bytes of one exported graph, split by what a decode step reads."""

    layers: int
    layer_bytes: int  # the decoder layers' weights, all read every step
    other_bytes: int  # read every step too: final norm, LM head, ...
    gathered_bytes: int  # the embedding table: one row per token is gathered, not read whole

    def read_per_token(self, layers: int | None = None) -> float:
        """Bytes one decode step reads at ``layers`` layers (default: this graph's)."""
        n = self.layers if layers is None else layers
        return self.other_bytes + self.layer_bytes / self.layers * n


def graph_bytes(graph: Path, input_ids: str, layers: int) -> GraphBytes:
    """Sizes from the graph's initializer table (external data is not loaded)."""
    import onnx
    from onnx import helper

    model = onnx.load(str(graph), load_external_data=False)
    gathered = {n.input[0] for n in model.graph.node if n.op_type == "Gather" and n.input[1] == input_ids}
    layer_bytes = other = table = 0
    for init in model.graph.initializer:
        size = math.prod(init.dims) * helper.tensor_dtype_to_np_dtype(init.data_type).itemsize
        match = LAYER.search(init.name)
        if init.name in gathered:
            table += size
        elif match and int(match.group(1)) < layers:  # layers.{num_layers} is the final norm
            layer_bytes += size
        else:
            other += size
    return GraphBytes(layers, layer_bytes, other, table)


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares (intercept, slope); with one point the line goes through the origin."""
    if len(xs) == 1:
        return 0.0, ys[0] / xs[0]
    line = least_squares(xs, ys)
    if line is None:
        raise ValueError("need two different layer counts to fit a line")
    return line


def extrapolate_step_s(
    step_s_by_layers: dict[int, float], bytes_by_layers: dict[int, GraphBytes], target_layers: int = MAGICODER_LAYERS
) -> float:
    """Decode step time at ``target_layers``.

    Two or more layer counts: a line through the measured steps (fixed cost + per-layer cost).
    One (or a line that does not rise): the largest model's step scaled by the bytes read,
    which also scales the fixed cost (an upper bound).
    """
    counts = sorted(step_s_by_layers)
    if len(counts) >= 2:
        intercept, slope = fit_line([float(n) for n in counts], [step_s_by_layers[n] for n in counts])
        if slope > 0:
            return intercept + slope * target_layers
    n = counts[-1]  # one layer count, or timings too noisy for a line
    g = bytes_by_layers[n]
    return step_s_by_layers[n] * g.read_per_token(target_layers) / g.read_per_token()


def summarize(results: dict, bytes_by: dict[str, dict[int, GraphBytes]], bandwidth: float) -> dict:
    """Ratios and the 32-layer extrapolation from ``results[f"{runner} {precision} L{n}"]``."""
    summary: dict = {}
    for precision, by_layers in bytes_by.items():
        counts = sorted(by_layers)
        full_bytes = by_layers[counts[-1]].read_per_token(MAGICODER_LAYERS)
        limit_s = full_bytes / bandwidth
        entry: dict = {"bytes_per_token_32_layers": full_bytes, "bandwidth_limit_ms_per_token": limit_s * 1e3}
        for runner in ("ours", "genai"):
            steps = {n: 1 / results[f"{runner} {precision} L{n}"]["decode_200"] for n in counts}
            full_s = extrapolate_step_s(steps, by_layers)
            entry[runner] = {
                "ms_per_token_32_layers": full_s * 1e3,
                "tokens_per_s_32_layers": 1 / full_s,
                "fraction_of_bandwidth_limit": limit_s / full_s,
            }
        entry["ratios"] = {}
        for n in counts:
            ours, genai = results[f"ours {precision} L{n}"], results[f"genai {precision} L{n}"]
            entry["ratios"][n] = {
                f"{what}_{length}": ours[f"{what}_{length}"] / genai[f"{what}_{length}"]
                for what in ("decode", "ttft")
                for length in (200, 2000)
            }
        summary[precision] = entry
    return summary


def render(report: dict, repeats: Sequence[dict] = ()) -> str:
    """The markdown section for bench/results/RESULTS.md; ``repeats``: later runs of the same check, whose
    decode ratios and extrapolations are listed to show the run-to-run spread."""
    lines = [
        "## GPU: ours vs onnxruntime-genai-cuda",
        "",
        f"Device: {report['device']}. onnxruntime-gpu {report['versions'].get('onnxruntime')}, "
        f"onnxruntime-genai-cuda {report['versions'].get('onnxruntime_genai')}. Model: random weights, Magicoder's "
        f"full width (hidden {report['shape']['hidden']}, {report['shape']['heads']} heads, intermediate "
        f"{report['shape']['intermediate']}, vocab 32256) at {', '.join(map(str, report['layers']))} layers; "
        f"{report['new_tokens']} new tokens, greedy; medians of {report['reps']} interleaved reps; measured copy "
        f"bandwidth {report['copy_bandwidth_gb_s']:.0f} GB/s (bytes read + written). {report['date']}.",
        "Reproduce on a CUDA machine: `bash bench/gpu_check.sh` (wheels: `bench/gpu_wheels.sh`); this section: "
        "`python -m bench.gpu_report bench/results/gpu_results.json bench/results/gpu_results_repeat.json`.",
        "",
        "| runner | layers | TTFT 200 ms | decode 200 tok/s | TTFT 2000 ms | decode 2000 tok/s "
        "| same tokens as genai |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in report["results"].items():
        same = report["same_tokens"].get(name, "")
        lines.append(
            f"| {name.rsplit(' L', 1)[0]} | {name.rsplit(' L', 1)[1]} | {r['ttft_200'] * 1e3:.1f} | "
            f"{r['decode_200']:.0f} | {r['ttft_2000'] * 1e3:.1f} | {r['decode_2000']:.0f} | {same} |"
        )
    lines += [
        "",
        "Ours, one decode step at a 200-token prompt: inside onnxruntime's run, and outside it (sampling, "
        "streaming, binding):",
        "",
        "| runner | layers | step ms | in run ms | outside ms |",
        "|---|---|---|---|---|",
    ]
    for name, r in report["results"].items():
        if "step_split_200" in r:
            sp = r["step_split_200"]
            lines.append(
                f"| {name.rsplit(' L', 1)[0]} | {name.rsplit(' L', 1)[1]} | {sp['step_ms']:.3f} | "
                f"{sp['run_ms']:.3f} | {sp['outside_ms']:.3f} |"
            )
    lines += [
        "",
        "| precision | layers | decode ours/genai @200 | @2000 | TTFT ours/genai @200 | @2000 |",
        "|---|---|---|---|---|---|",
    ]
    for precision, entry in report["summary"].items():
        for n, r in entry["ratios"].items():
            lines.append(
                f"| {precision} | {n} | {r['decode_200']:.2f} | {r['decode_2000']:.2f} | "
                f"{r['ttft_200']:.2f} | {r['ttft_2000']:.2f} |"
            )
    lines += [
        "",
        "Extrapolated to Magicoder's 32 layers (decode at a 200-token prompt; "
        + (
            "a line through the measured layer counts"
            if len(report["layers"]) > 1
            else "the step scaled by bytes read, an upper bound"
        )
        + "):",
        "",
        "| precision | weights read per token | bandwidth limit ms/token | runner | ms/token | tok/s | "
        "fraction of the limit |",
        "|---|---|---|---|---|---|---|",
    ]
    for precision, entry in report["summary"].items():
        for runner in ("ours", "genai"):
            e = entry[runner]
            lines.append(
                f"| {precision} | {entry['bytes_per_token_32_layers'] / 1e9:.2f} GB | "
                f"{entry['bandwidth_limit_ms_per_token']:.2f} | {runner} | {e['ms_per_token_32_layers']:.2f} "
                f"| {e['tokens_per_s_32_layers']:.0f} | {e['fraction_of_bandwidth_limit']:.2f} |"
            )
    if repeats:
        lines += [
            "",
            "Repeat runs (same machine, same graphs), for the spread:",
            "",
            "| run | decode ours/genai fp16 L2 / L4 | int4 L2 / L4 | fraction of the limit, 32 layers, "
            "ours / genai fp16 | int4 |",
            "|---|---|---|---|---|",
        ]
        for run in [report, *repeats]:
            sm = run["summary"]
            cells = [" / ".join(f"{r['decode_200']:.2f}" for r in sm[p]["ratios"].values()) for p in ("fp16", "int4")]
            limit = "fraction_of_bandwidth_limit"
            cells += [f"{sm[p]['ours'][limit]:.2f} / {sm[p]['genai'][limit]:.2f}" for p in ("fp16", "int4")]
            lines.append(f"| {run['date']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Each export's parity against transformers fp32 (random weights, so every graph is published with "
        "`--parity-gate report`; validated on the device the check ran on):",
        "",
        "| export | gate passed | greedy tokens identical | top-1 agreement | perplexity ratio | mean KL nats |",
        "|---|---|---|---|---|---|",
    ]
    for name, p in report.get("parity", {}).items():
        lines.append(
            f"| {name} | {p['passed']} | {p['tokens_identical']} | {p['top1_agreement']:.3f} | "
            f"{p['perplexity_ratio']:.3f} | {p['mean_kl']:.4f} |"
        )
    return "\n".join(lines)
