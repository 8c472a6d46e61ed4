"""The soak's numbers (per-minute samples of the server process, per-window request outcomes and latencies), its
verdict against the targets, and its section of RESULTS.md."""

from __future__ import annotations

import math
from collections import Counter

from bench.lib.soak_client import Ledger, SoakServer, Window
from bench.lib.stats import least_squares, pct

RSS_GROWTH_MAX = 0.10  # after the warm-up (the first window)
# Threads after the warm-up may differ by this many: asyncio's default executor (the model's generations and the
# inline prompts run there) starts a worker only when none is idle, up to min(32, CPUs + 4), and keeps it, so a
# rare moment with more work at once than ever before adds one late; a leak grows without bound.
THREAD_SPREAD_MAX = 2
KINDS = ("inline", "codeAction", "ask")


def finite(value: float | None) -> float | None:
    """JSON has no NaN: None for a percentile of nothing."""
    return None if value is None or math.isnan(value) else round(value, 2)


def percentiles(values: list[float]) -> dict:
    return {"n": len(values), **{f"p{q}": finite(pct(values, q)) for q in (50, 95, 99)}}


def window_numbers(index: int, window: Window, window_s: float) -> dict:
    answered = window.results + window.cancelled + window.errors
    return {
        "index": index,
        "from_s": index * window_s,
        "to_s": (index + 1) * window_s,
        "sent": dict(window.sent),
        "results": dict(window.results),
        "cancelled": dict(window.cancelled),
        "errors": dict(window.errors),
        "unanswered": dict(window.unanswered),
        "sent_total": sum(window.sent.values()),
        "answered_total": sum(answered.values()),
        "unanswered_total": sum(window.unanswered.values()),
        "latency_ms": {kind: percentiles(window.latency_ms.get(kind, [])) for kind in KINDS},
        "cancel_to_answer_ms": percentiles(window.cancel_ms),
        "error_samples": window.error_samples,
    }


def totals(windows: list[dict], ledger: Ledger) -> dict:
    summed: Counter = Counter()
    for w in windows:
        for part in ("sent", "results", "cancelled", "errors", "unanswered"):
            summed[part] += sum(w[part].values())
    return {**summed, "answered": summed["results"] + summed["cancelled"] + summed["errors"], "late": ledger.late}


def verdict(samples: list[dict], warm_up_s: float, unanswered: int, alive: bool) -> dict:
    """The targets: RSS growth after the warm-up < 10 %, threads flat, nothing unanswered, the server alive."""
    after = [s for s in samples if s["t_s"] >= warm_up_s and s["rss_mb"] is not None]
    base, end = (after[0]["rss_mb"], after[-1]["rss_mb"]) if after else (None, None)
    growth = end / base - 1 if base and end else None
    line = least_squares([s["t_s"] / 60 for s in after], [s["rss_mb"] for s in after]) if len(after) > 1 else None
    threads = [s["threads"] for s in after]
    spread = max(threads) - min(threads) if threads else None
    checks = {
        "rss_ok": growth is not None and growth < RSS_GROWTH_MAX,
        "threads_ok": spread is not None and spread <= THREAD_SPREAD_MAX,
        "unanswered_ok": unanswered == 0,
        "alive": alive,
    }
    return {
        "warm_up_s": warm_up_s,
        "rss_baseline_mb": base,
        "rss_end_mb": end,
        "rss_max_mb": max((s["rss_mb"] for s in after), default=None),
        "rss_growth": growth,
        "rss_slope_mb_per_min": line[1] if line else None,
        "threads_min": min(threads, default=None),
        "threads_max": max(threads, default=None),
        "threads_spread": spread,
        "fds_min": min((s["fds"] for s in after), default=None),
        "fds_max": max((s["fds"] for s in after), default=None),
        "unanswered": unanswered,
        **checks,
        "pass": all(checks.values()),
    }


def server_numbers(server: SoakServer) -> dict:
    """What the server sent the client besides answers."""
    return {
        "requests_to_client": dict(server.server_requests),
        "notifications": dict(server.notification_counts),
        "show_message_by_type": {str(k): v for k, v in server.shown.items()},
        "shown_errors": server.shown_errors,
        "statuses": dict(server.statuses),
        "last_status": server.last_status,
        "edits": dict(server.edits),
    }


def _ms(stats: dict) -> str:
    values = [stats[f"p{q}"] for q in (50, 95, 99)]
    return "–" if values[0] is None else " / ".join(f"{v:.0f}" for v in values)


def _ok(flag: bool) -> str:
    return "yes" if flag else "**NO**"


def report(data: dict) -> list[str]:
    v, t, traffic = data["verdict"], data["totals"], data["traffic"]
    minutes, window_min = data["duration_s"] / 60, data["window_s"] / 60
    rows = [
        "## LSP server: soak",
        "",
        f"{minutes:.1f} minutes of mixed traffic against the tiny model ({data['model']}), the server a real "
        "subprocess driven over stdio as an editor drives it: typing bursts (20 keystrokes at 50/s, each a didChange "
        "plus an inlineCompletion, the superseded one cancelled with $/cancelRequest; a codeAction every 10th), "
        f"{traffic.get('opened', 0)} didOpen / {traffic.get('closed', 0)} didClose cycling through 200 documents "
        f"(12 open at a time), {traffic.get('asks', 0)} Ask Magicoder commands (ask, docstring, explain; "
        f"{traffic.get('ask_cancelRequest', 0)} cancelled by $/cancelRequest, {traffic.get('ask_progressCancel', 0)} "
        "by window/workDoneProgress/cancel), "
        f"{traffic.get('settings_pushed', 0) + traffic.get('settings_pulled', 0)} settings changes "
        "(inlineSnippets, inlineMaxNewTokens, maxNewTokens; every 4th a pull through workspace/configuration). "
        "The client applies the server's edits and answers its requests. A request is unanswered when no response "
        f"(a result or an error, -32800 for a cancelled one) arrives within {data['answer_timeout_s']:.0f} s. "
        "The machine is shared (2 cores, other work running): latencies are noisy. "
        f"Reproduce: `.venv/bin/python -m bench.soak --minutes {minutes:g}`.",
        "",
        "| measure | value | target | met |",
        "|---|---|---|---|",
        f"| RSS after the first {v['warm_up_s'] / 60:g} min → end (max) | {v['rss_baseline_mb']:.0f} → "
        f"{v['rss_end_mb']:.0f} MB ({v['rss_growth'] * 100:+.1f} %; max {v['rss_max_mb']:.0f} MB, "
        f"slope {v['rss_slope_mb_per_min']:+.2f} MB/min) | < {RSS_GROWTH_MAX * 100:.0f} % | {_ok(v['rss_ok'])} |"
        if v["rss_growth"] is not None
        else f"| RSS growth after the warm-up | not measured | < {RSS_GROWTH_MAX * 100:.0f} % | **NO** |",
        f"| threads after the warm-up (min – max) | {v['threads_min']} – {v['threads_max']} | spread ≤ "
        f"{THREAD_SPREAD_MAX} | {_ok(v['threads_ok'])} |",
        f"| requests sent / answered / unanswered | {t['sent']} / {t['answered']} / {t['unanswered']} "
        f"(results {t['results']}, cancelled {t['cancelled']}, errors {t['errors']}) | 0 unanswered | "
        f"{_ok(v['unanswered_ok'])} |",
        f"| server alive at the end (exit status after shutdown + exit) | {v['alive']} ({data['exit_code']}) | "
        f"alive | {_ok(v['alive'])} |",
        f"| open file descriptors after the warm-up (min – max) | {v['fds_min']} – {v['fds_max']} | | |",
        "",
        f"Per {window_min:g}-minute window (latency p50 / p95 / p99 in ms, of the requests answered with a result; "
        "cancel → answer: from the cancel to the response of the cancelled request):",
        "",
        "| window | sent | results / cancelled / errors | unanswered | inline | codeAction | Ask | cancel → answer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for w in data["windows"]:
        answered = (sum(w[p].values()) for p in ("results", "cancelled", "errors"))
        lat = w["latency_ms"]
        rows.append(
            f"| {w['from_s'] / 60:g}–{w['to_s'] / 60:g} min | {w['sent_total']} | {' / '.join(map(str, answered))} | "
            f"{w['unanswered_total']} | {_ms(lat['inline'])} | {_ms(lat['codeAction'])} | {_ms(lat['ask'])} | "
            f"{_ms(w['cancel_to_answer_ms'])} |"
        )
    rows += ["", "The server process, sampled every minute (/proc/PID/status VmRSS and Threads, /proc/PID/fd):", ""]
    rows += ["| minute | RSS MB | threads | open fds |", "|---|---|---|---|"]
    for s in data["samples"]:
        rss = "–" if s["rss_mb"] is None else f"{s['rss_mb']:.1f}"
        rows.append(f"| {s['label']} | {rss} | {s['threads']} | {s['fds']} |")
    errors = [e for w in data["windows"] for e in w["error_samples"]]
    if errors:
        rows += ["", "Error responses (first of each window): " + "; ".join(f"`{e}`" for e in errors[:10])]
    rows += ["", f"Verdict: {'all targets met' if v['pass'] else 'TARGETS MISSED'}."]
    return rows
