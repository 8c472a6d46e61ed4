"""The remote benchmark's numbers (remote.json) and its section of RESULTS.md."""

from __future__ import annotations

import argparse

from bench.lib.stats import median, pct


def _spread(values: list[float]) -> dict:
    return {"p50": median(values), "p95": pct(values, 95), "max": max(values) if values else float("nan")}


def numbers(args: argparse.Namespace, overhead: dict, cancels: dict, stormed: dict, llama_alive: bool) -> dict:
    trials = cancels["trials"]
    column = lambda name: [float(t[name]) for t in trials]  # noqa: E731
    lat = stormed["lat"]
    return {
        "model": args.model.name,
        "overhead": {
            "pairs": overhead["pairs"],
            "same_body_calls": overhead["same_body"],
            "overhead_ms": _spread(overhead["overhead_ms"]),
            "lsp_ms": _spread(overhead["lsp_ms"]),
            "raw_ms": _spread(overhead["raw_ms"]),
            "stream_ms": _spread(overhead["stream_ms"]),
            "in_server_ms": _spread(overhead["in_server_ms"]),
            "outside_ms": _spread(overhead["outside_ms"]),
            "samples": {k: overhead[k] for k in ("lsp_ms", "raw_ms", "overhead_ms", "stream_ms", "in_server_ms")},
        },
        "cancel": {
            "trials": len(trials),
            "answered_cancelled": sum(t["answer"] == "cancelled" for t in trials),
            "ran_to_end": sum(bool(t["ran_to_end"]) for t in trials),
            "answer_ms": _spread(column("answer_ms")),
            "server_stop_ms": _spread(column("server_stop_ms")),
            "tokens_after_cancel": _spread(column("tokens_after_cancel")),
            "tokens_per_generation": _spread(column("tokens")),
            "probe_idle_ms": _spread(column("probe_idle_ms")),
            "probe_after_cancel_ms": _spread(column("probe_after_cancel_ms")),
            "samples": trials,
        },
        "storm": {
            "keystrokes": args.keystrokes,
            "rate_per_s": args.rate,
            "burst": args.burst,
            "pause_ms": args.pause_ms,
            "seconds": stormed["seconds"],
            "requests": stormed["requests"],
            "inline_answered": len(lat["inline"]),
            "inline_cancelled": stormed["cancelled"],
            "unanswered": stormed["unanswered"],
            "inline_ms": _spread(lat["inline"]),
            "cheap_ms": _spread(lat["cheap"]),
            "last_status": stormed["last_status"],
            "lsp_alive": stormed["lsp_alive"],
            "llama_server_alive": llama_alive,
            "generations": stormed["generations"],
            "generations_finished": stormed["generations_finished"],
            "generations_abandoned": stormed["generations_abandoned"],
            "tokens_finished": stormed["tokens_finished"],
            "tokens_abandoned": stormed["tokens_abandoned"],
        },
    }


def report(data: dict) -> list[str]:
    o, c, s = data["overhead"], data["cancel"], data["storm"]
    per_abandoned = s["tokens_abandoned"] / s["generations_abandoned"] if s["generations_abandoned"] else 0.0
    return [
        "## Remote backend: LSP server (backend openai) vs llama-cpp-python's server",
        "",
        f"The tiny model ({data['model']}) as an f32 GGUF served by llama-cpp-python 0.3.36's OpenAI-compatible "
        "server on this machine (one thread, `interrupt_requests` off: a generation stops only when its client closes "
        "the stream, as on vLLM), instrumented to report each generation's tokens and the request bodies it receives. "
        "Reproduce: `.venv/bin/python -m bench.remote_bench`.",
        "",
        f"**LSP overhead.** {o['pairs']} prompts (standard-library modules, cursor in a new function in the middle): "
        "an inline completion over LSP (request written → answer read, JSON-RPC over stdio, prompt building, "
        "post-processing) and the same request body replayed with a bare httpx client (request → end of the stream), "
        f"in alternating order on the same prompt-cache state; {o['same_body_calls']} of {2 * o['pairs']} timed calls "
        "sent the identical body.",
        "",
        "| measure | p50 | p95 | target |",
        "|---|---|---|---|",
        f"| LSP end to end | {o['lsp_ms']['p50']:.1f} ms | {o['lsp_ms']['p95']:.1f} ms | |",
        f"| raw HTTP call, same body | {o['raw_ms']['p50']:.1f} ms | {o['raw_ms']['p95']:.1f} ms | |",
        f"| **overhead** (LSP − raw, per pair) | **{o['overhead_ms']['p50']:.1f} ms** "
        f"| {o['overhead_ms']['p95']:.1f} ms | ≤ 5 ms p50 |",
        "| of which: the HTTP stream as the server timed it, minus raw "
        f"| {o['stream_ms']['p50'] - o['raw_ms']['p50']:.1f} ms (difference of medians) | | |",
        f"| of which: in the server around the stream (request parsing, prompt, post-processing) "
        f"| {o['in_server_ms']['p50']:.1f} ms | {o['in_server_ms']['p95']:.1f} ms | |",
        f"| of which: stdio and JSON-RPC (end to end − the server's total) | {o['outside_ms']['p50']:.1f} ms "
        f"| {o['outside_ms']['p95']:.1f} ms | |",
        "",
        f"**Cancel.** {c['trials']} inline completions asking for up to 400 tokens, each cancelled with "
        f"$/cancelRequest once the server had generated 16 tokens ({c['answered_cancelled']} answered "
        "RequestCancelled, "
        f"{c['ran_to_end']} ran to their end on the server).",
        "",
        "| measure | p50 | p95 | max | target |",
        "|---|---|---|---|---|",
        f"| cancel → the request's answer | {c['answer_ms']['p50']:.1f} ms | {c['answer_ms']['p95']:.1f} ms "
        f"| {c['answer_ms']['max']:.1f} ms | |",
        f"| cancel → the server's last token (stream closed, generation stopped) | {c['server_stop_ms']['p50']:.1f} ms "
        f"| {c['server_stop_ms']['p95']:.1f} ms | {c['server_stop_ms']['max']:.1f} ms | ≤ 50 ms |",
        f"| tokens generated after the cancel | {c['tokens_after_cancel']['p50']:.0f} "
        f"| {c['tokens_after_cancel']['p95']:.0f} | {c['tokens_after_cancel']['max']:.0f} | |",
        f"| one-token request right after the answer (idle server: {c['probe_idle_ms']['p50']:.1f} ms p50) "
        f"| {c['probe_after_cancel_ms']['p50']:.1f} ms | {c['probe_after_cancel_ms']['p95']:.1f} ms "
        f"| {c['probe_after_cancel_ms']['max']:.1f} ms | not delayed |",
        "",
        f"**Typing storm** (bench.typing_storm's, backend openai): {s['keystrokes']} keystrokes at "
        f"{s['rate_per_s']:.0f}/s in bursts of {s['burst']} with {s['pause_ms']:.0f} ms pauses, each a didChange and "
        "an inline completion (16 tokens) cancelling the previous unanswered one, a codeAction every 10th.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| requests sent / unanswered | {s['requests']} / {s['unanswered']} | 0 unanswered |",
        f"| completions answered / cancelled | {s['inline_answered']} / {s['inline_cancelled']} | |",
        f"| completion latency p50 / p95 | {s['inline_ms']['p50']:.1f} / {s['inline_ms']['p95']:.1f} ms | |",
        f"| codeAction latency p50 / p95 | {s['cheap_ms']['p50']:.1f} / {s['cheap_ms']['p95']:.1f} ms | |",
        f"| generations the server ran: to their end / abandoned (stream closed) | {s['generations_finished']} / "
        f"{s['generations_abandoned']} | |",
        f"| tokens generated for cancelled requests | {s['tokens_abandoned']} ({per_abandoned:.1f} per abandoned "
        f"generation; {s['tokens_finished']} for answered ones) | |",
        f"| LSP server / llama-cpp-python server alive after | {s['lsp_alive']} / {s['llama_server_alive']} | both |",
        f"| status after the storm | {s['last_status']} | ready |",
    ]
