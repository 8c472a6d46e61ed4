"""EXPORT_FULLSIZE.md (the full 32-layer run) and EXPORT_SCALE.md (memory against the layer count, with a
linear fit per run) from export_fullsize.json, all three in bench/results/."""

from __future__ import annotations

from bench.lib.stats import least_squares

GB = 1e9
TITLE = "# Exporting a full-size Magicoder checkpoint: RAM, disk and time, and serving the result"
SCALE_TITLE = "# Export memory against the layer count, at Magicoder's full width"
FULL_LAYERS = 32
INTRO = (
    "Random bf16 weights in a Hugging Face checkpoint with Magicoder-S-DS-6.7B's exact config (LlamaForCausalLM, "
    "hidden 4096, 32 heads and 32 KV heads, intermediate 11008, vocab 32256, linear RoPE x4, 16384 positions), "
    "safetensors shards with their index, the DeepSeek-Coder tokenizer. Each export is `magicoder-export build CKPT"
    " --output OUT --precision P --target T --parity-gate report` in a child process (runs named `…-no-streaming` "
    "add `--no-streaming`: the stock in-memory builder). Whole-process peak RSS (conversion and parity gate) from "
    "/usr/bin/time -v; each phase's time and peak RSS so far from its own stderr lines (rounded to 0.1 GiB); the "
    "conversion peak is the largest of those before the gate. Peak extra disk is sampled every 0.5 s while the "
    "export runs, as the file system's free space (other writers on the same disk show up in it) and as the size of"
    " the files under the output's folder (the staged `.NAME.partial` included). Random weights have near-flat "
    "logits: the int4 gate's verdict on them says nothing about quality, hence `--parity-gate report`."
)


def gib(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} GiB"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def secs(s: float) -> str:
    return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"


def gb(n_bytes: int | None) -> str:
    return "—" if n_bytes is None else f"{n_bytes / GB:.2f} GB"


def header_lines(section: dict) -> list[str]:
    width = section["width"]
    lines = [f"{section['machine']}; {section['date']}. Reproduce: `{section['command']}`."]
    if width["name"] != "full":
        lines.append(
            f"**Width {width['name']}** (hidden {width['hidden_size']}, {width['num_heads']} heads, "
            f"intermediate {width['intermediate_size']}): a check of the benchmark itself, not a measurement."
        )
    return lines


def gate_cell(r: dict) -> str:
    """The gate's status, with the quantized gate's held-out measures when it ran."""
    f = r.get("fidelity")
    if not f:
        return r["gate"]
    return (
        f"{r['gate']} (top-1 agreement {f['top1_agreement']:.3f}, perplexity x{f['perplexity_ratio']:.3f}, "
        f"mean KL {f['mean_kl']:.3f} nats)"
    )


def same_bytes(name: str, exports: dict) -> str:
    """For a run with an in-memory twin: whether their model.onnx and model.onnx.data are identical (sha256)."""
    twin = exports.get(f"{name}-no-streaming")
    if twin is None or not exports[name].get("sha256") or not twin.get("sha256"):
        return "—"
    return "identical" if exports[name]["sha256"] == twin["sha256"] else "DIFFERENT"


def export_table(name: str, r: dict) -> list[str]:
    rows = [
        f"### {name}",
        "",
        f"`{r['command']}`",
        "",
        "| measure | value |",
        "|---|---|",
        f"| wall time | {r['wall_s'] / 60:.1f} min ({secs(r['wall_s'])}) |",
    ]
    rows += [
        f"| phase [{p['phase']}] {p['what']} | {secs(p['s'])}, peak RSS so far {p['peak_gib']:.1f} GiB"
        + (f", this phase {p['phase_peak_gib']:.1f} GiB |" if p.get("phase_peak_gib") is not None else " |")
        for p in r["phases"]
    ]
    cpu = (r["user_s"] or 0) + (r["sys_s"] or 0)
    rows += [
        f"| whole-process peak RSS | {gib(r['peak_rss_gib'])} |",
        f"| conversion peak RSS (before the parity gate) | {gib(r['convert_peak_gib'])}, {r.get('converter', '—')} |",
        f"| CPU time, user + system | {cpu / 60:.1f} min |",
        f"| parity gate | {gate_cell(r)}; {'published' if r['published'] else 'not published'} |",
        f"| model folder | {gb(r['output_bytes'])} |",
        f"| peak extra disk during the export: file system / files under the output's folder | "
        f"{gb(r['disk_peak_extra_bytes'])} / {gb(r.get('disk_peak_files_bytes'))} |",
    ]
    if r["returncode"] != 0:
        rows.append(f"| exit status | {r['returncode']} (log: `{r['log']}`) |")
    return [*rows, ""]


def answer_row(what: str, a: dict) -> str:
    if a["tok_s"] is None:  # a log line this report cannot read: show it as it is
        return f"| {what} | {a['log']} ({a['wall_s']:.2f} s end to end) |"
    return (
        f"| {what} | {a['prompt_tokens']} prompt tokens, {a['new_tokens']} new ({a['finish']}), TTFT "
        f"{a['ttft_ms']:.0f} ms, {a['tok_s']:.1f} tok/s, {a['wall_s']:.2f} s end to end |"
    )


def serve_table(s: dict) -> list[str]:
    rows = ["### Serving the int4 folder (magicoder-lsp, one LSP session)", ""]
    if "error" in s or "skipped" in s:
        return [*rows, f"Not measured: {s.get('error') or s.get('skipped')}.", ""]
    load = f"{s['model_load_s']:.1f} s"
    if "engine_load_s" in s:
        load += f" (engine load {s['engine_load_s']:.1f} s + warm-up {s['warmup_s']:.1f} s, {s['threads']} threads)"
    return [
        *rows,
        f"demo/sample.py; maxNewTokens {s['options']['maxNewTokens']}, inlineMaxNewTokens "
        f"{s['options']['inlineMaxNewTokens']}, greedy.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| server start → model ready | {load} |",
        f"| server RSS: ready / after both requests / peak | {s['rss_ready_mib']} / {s['rss_after_mib']} / "
        f"{s['peak_rss_mib']} MiB |",
        answer_row("inline completion", s["inline"]),
        answer_row("Ask Magicoder", s["ask"]) + ("" if s["ask"]["applied"] else " (no edit applied)"),
        "",
    ]


def run_section(run: dict) -> list[str]:
    ck = run["checkpoint"]
    lines = [
        f"## {plural(run['layers'], 'layer')}",
        "",
        *header_lines(run),
        "",
        f"Checkpoint: {gb(ck['bytes'])} in {plural(ck['shards'], 'shard')}, written in {secs(ck['seconds'])} "
        f"(peak extra disk {gb(ck['disk_peak_extra_bytes'])}); deleted after the exports.",
        "",
    ]
    for name, r in run["exports"].items():
        lines += export_table(name, r)
    if "serve" in run:
        lines += serve_table(run["serve"])
    return lines


SCALING_HEADER = [
    "| layers | checkpoint | run | converter | conversion peak RSS | whole-process peak RSS | wall s | model folder "
    "| peak extra disk (file system / own files) | gate | sha256 vs --no-streaming |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
]


def scaling_row(point: dict, name: str) -> str:
    r = point["exports"][name]
    status = gate_cell(r) if r["returncode"] == 0 else f"exit {r['returncode']}"
    cells = [
        str(point["layers"]),
        gb(point["checkpoint"]["bytes"]),
        name,
        r.get("converter", "—"),
        gib(r["convert_peak_gib"]),
        gib(r["peak_rss_gib"]),
        f"{r['wall_s']:.0f}",
        gb(r["output_bytes"]),
        f"{gb(r['disk_peak_extra_bytes'])} / {gb(r.get('disk_peak_files_bytes'))}",
        status,
        same_bytes(name, point["exports"]),
    ]
    return "| " + " | ".join(cells) + " |"


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares line through the points: (intercept, slope); flat through the mean when every x is the same."""
    return least_squares(xs, ys) or (sum(ys) / len(ys), 0.0)


def fit_rows(points: list[dict]) -> list[str]:
    """Per run: GiB per layer of the conversion and whole-process peaks, the spread, the 32-layer value of the line."""
    rows = [
        "| run | layers | conversion peak: GiB per layer, max − min, at 32 layers | whole-process peak: GiB per "
        "layer, at 32 layers |",
        "|---|---|---|---|",
    ]
    for name in dict.fromkeys(n for p in points for n in p["exports"]):
        runs = [(p["layers"], p["exports"][name]) for p in points if name in p["exports"]]
        runs = [(x, r) for x, r in runs if r["returncode"] == 0]
        if len(runs) < 2:
            continue
        xs = [x for x, _ in runs]
        conv = [r["convert_peak_gib"] for _, r in runs]
        whole = [r["peak_rss_gib"] for _, r in runs]
        (c0, c1), (w0, w1) = fit(xs, conv), fit(xs, whole)
        rows.append(
            f"| {name} | {', '.join(map(str, xs))} | {c1:+.3f}, {max(conv) - min(conv):.2f} GiB, "
            f"{c0 + FULL_LAYERS * c1:.1f} GiB | {w1:+.3f}, {w0 + FULL_LAYERS * w1:.1f} GiB |"
        )
    return rows


def scaling_section(scaling: dict) -> list[str]:
    lines = ["## Measured", "", *header_lines(scaling), "", *SCALING_HEADER]
    for point in scaling["points"]:
        lines += [scaling_row(point, name) for name in point["exports"]]
    lines += [
        "",
        "## Linear fit in the layer count",
        "",
        "A flat converter has ~0 GiB per layer; the in-memory builder's line, continued to 32 layers, is what "
        "`--no-streaming` would need for Magicoder-S-DS-6.7B.",
        "",
        *fit_rows(scaling["points"]),
    ]
    return [*lines, ""]


SCALE_INTRO = (
    "The same checkpoints and exports as bench/results/EXPORT_FULLSIZE.md (random bf16 weights, Magicoder's full "
    "width, `--parity-gate report`), at several layer counts: the streaming converter (the default) against the stock "
    "in-memory builder (`--no-streaming`, only where it fits in this machine's memory). The whole-process peak "
    "includes the parity gate, whose ONNX session grows with the model (int4: about 0.16 GiB per layer); the "
    "conversion peak does not. `sha256 vs --no-streaming`: model.onnx and model.onnx.data of both exports compared."
)


def render(data: dict) -> str:
    """EXPORT_FULLSIZE.md: the full run."""
    lines = [TITLE, "", INTRO, ""]
    if "run" in data:
        lines += run_section(data["run"])
    return "\n".join(lines)


def render_scale(data: dict) -> str:
    """EXPORT_SCALE.md: the layer-count sweep."""
    lines = [SCALE_TITLE, "", SCALE_INTRO, ""]
    if "scaling" in data:
        lines += scaling_section(data["scaling"])
    return "\n".join(lines)
