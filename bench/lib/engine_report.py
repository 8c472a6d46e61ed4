"""The engine benchmark's section of RESULTS.md and its results.json (in bench/results/) from its medians."""

from __future__ import annotations

import json
from pathlib import Path

from bench.lib.sections import write_section


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def write_report(data: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    r = data["results"]
    s = data["shape"]
    lines = [
        "## Engine: ours vs onnxruntime-genai vs transformers",
        "",
        f"Model: random weights, Magicoder's architecture at hidden {s['hidden']}, {s['layers']} layers, "
        f"{s['heads']} heads, intermediate {s['intermediate']}, vocab 32256 (~134M parameters at the default shape). "
        f"{data['new_tokens']} new tokens, greedy; medians of {data['reps']} interleaved reps "
        "(the order rotated every rep); "
        f"{data['threads']} intra-op threads for every runner; {data['machine']}; {data['date']}.",
        "Reproduce: `.venv/bin/python -m bench.engine_bench` (writes this file and `bench/results/results.json`).",
        "",
        "| runner | " + " | ".join(f"TTFT {n} ms | decode {n} tok/s" for n in data["lengths"]) + " | peak RSS MB |",
        "|---|" + "---|---|" * len(data["lengths"]) + "---|",
    ]
    for name, m in r.items():
        cells = " | ".join(f"{m[f'ttft_{n}'] * 1000:.0f} | {m[f'decode_{n}']:.1f}" for n in data["lengths"])
        lines.append(f"| {name} | {cells} | {m['rss_mb']:.0f} |")
    lines += ["", "### Ratios against the engine's targets", "", "| ratio | value | target |", "|---|---|---|"]
    for p in ("fp32", "int4"):
        ours, genai = r[f"ours {p}"], r[f"genai {p}"]
        for n in data["lengths"]:
            lines.append(
                f"| decode ours/genai {p} @{n} | {_ratio(ours[f'decode_{n}'], genai[f'decode_{n}'])} | ≥ 1.0 |"
            )
            lines.append(f"| TTFT ours/genai {p} @{n} | {_ratio(ours[f'ttft_{n}'], genai[f'ttft_{n}'])} | ≤ 1.0 |")
    n0 = data["lengths"][0]
    lines.append(
        f"| decode ours int4 / transformers fp32 @{n0} | "
        f"{_ratio(r['ours int4'][f'decode_{n0}'], r['transformers fp32'][f'decode_{n0}'])} | ≥ 6 |"
    )
    if "optimum fp32" in r:
        ours, opt = r["ours optimum-graph fp32"], r["optimum fp32"]
        for n in data["lengths"]:
            lines.append(
                f"| decode ours/optimum ORTModelForCausalLM, optimum's graph fp32 @{n} | "
                f"{_ratio(ours[f'decode_{n}'], opt[f'decode_{n}'])} | (≥ 1.0) |"
            )
            lines.append(
                f"| TTFT ours/optimum ORTModelForCausalLM, optimum's graph fp32 @{n} | "
                f"{_ratio(ours[f'ttft_{n}'], opt[f'ttft_{n}'])} | (≤ 1.0) |"
            )
    for p in ("fp32", "int4"):
        m = r[f"ours {p}"]
        lines.append(
            f"| TTFT after a one-character edit / cold, {p} | {_ratio(m['warm_ttft_s'], m['cold_ttft_s'])} "
            f"({m['warm_ttft_s'] * 1000:.0f} vs {m['cold_ttft_s'] * 1000:.0f} ms) | ≤ 0.1 |"
        )
        lines.append(
            f"| cancel → idle / one decode step, {p} | {_ratio(m['cancel_s'], m['step_s'])} "
            f"({m['cancel_s'] * 1000:.1f} vs {m['step_s'] * 1000:.1f} ms) | ≤ 1 |"
        )
    same = data["ours_equals_genai_tokens"]
    lines += [
        "",
        "Greedy tokens, ours vs genai on the same graph: "
        + ", ".join(f"{k}: {'identical' if v else 'DIFFERENT'}" for k, v in same.items())
        + ".",
    ]
    write_section(out / "RESULTS.md", "engine", "\n".join(lines))
