"""Typing storm: 2,000 keystrokes at 50/s, each with an inline-completion request, against the tiny model.

  .venv/bin/python -m bench.typing_storm [--keystrokes 2000] [--rate 50] [--burst 20] [--pause-ms 400] [--model DIR]
                                        [--document-lines N] [--name storm]

Like an editor: every keystroke is a didChange plus a new inlineCompletion request, and the
previous unanswered one gets $/cancelRequest.  Keys come at 50/s in bursts of 20 with a 400 ms
pause after each (a developer types a few words, then looks): within a burst every request is
superseded, the last one of a burst is answered.  Every 10th keystroke also sends a cheap request
(codeAction on a line without an instruction comment).  Reports p50/p95 latency of completions
and of the cheap requests, how many completions were cancelled, the server's RSS before/after,
whether a generation was still running afterwards, and the LSP overhead: end-to-end latency
minus the engine's time from the server's log line (p50 over sequential requests).
The document is textwrap.py, or with ``--document-lines N`` N lines of it repeated.
Writes bench/results/<name>.json (storm.json) and its section of bench/results/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.lib.documents import module_lines
from bench.lib.models import tiny_model
from bench.lib.paths import TINY_MODEL
from bench.lib.sections import add_output_options, publish_run
from bench.lib.server_watch import logged_ms, rss_mb
from bench.lib.stats import median, pct
from scripted_editor.raw import RawServer

URI = "file:///storm/example.py"
CHEAP_EVERY = 10  # keystrokes per cheap request
ANSWER_TIMEOUT_S = 60  # after a storm's last keystroke
OVERHEAD_REQUESTS = 30
REQUEST_CANCELLED = -32800


class StampedQueue(queue.Queue):
    """Stamps each message with its arrival time, in the reader thread."""

    def put(self, item, block=True, timeout=None):
        if isinstance(item, dict):
            item["_received"] = time.perf_counter()
        super().put(item, block, timeout)


class TimedServer(RawServer):
    def __init__(self, *args: str):
        super().__init__(*args)
        self._incoming = StampedQueue()  # before any request is sent: nothing has arrived yet

    def answered(self, msg_id: object) -> dict | None:
        return self.responses.get(json.dumps(msg_id))


def inline_params(line: int, character: int) -> dict:
    return {
        "textDocument": {"uri": URI},
        "position": {"line": line, "character": character},
        "context": {"triggerKind": 2},
    }


def source_file(document_lines: int | None = None) -> tuple[str, str]:
    """A real module (the stdlib's textwrap.py, ~5,000 tokens: more than the inline context budget; or
    ``document_lines`` lines of it repeated) split at a line in its middle, with a new function begun there:
    (before cursor, after cursor)."""
    if document_lines is None:
        lines = Path(textwrap.__file__).read_text(encoding="utf-8").splitlines(keepends=True)
    else:
        lines = module_lines(document_lines)
    middle = next((i for i in range(len(lines) // 2, len(lines)) if lines[i].startswith("def ")), len(lines) // 2)
    return "".join(lines[:middle]) + "import os\n\n\ndef walk(root):\n    ", "\n\n\n" + "".join(lines[middle:])


class Typist:
    """The document being typed into: one character per keystroke, as a didChange."""

    TYPED = "for name in sorted(os.listdir(root)):\n        print(name)\n    "

    def __init__(self, server: TimedServer, document_lines: int | None = None):
        before, after = source_file(document_lines)
        self.server, self.version, self.typed = server, 1, 0
        self.line, self.col = before.count("\n"), len(before) - before.rfind("\n") - 1
        server.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": before + after}},
        )

    def key(self) -> None:
        ch = self.TYPED[self.typed % len(self.TYPED)]
        self.typed += 1
        self.version += 1
        here = {"line": self.line, "character": self.col}
        self.server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": URI, "version": self.version},
                "contentChanges": [{"range": {"start": here, "end": here}, "text": ch}],
            },
        )
        self.line, self.col = (self.line + 1, 0) if ch == "\n" else (self.line, self.col + 1)

    def inline(self) -> object:
        return self.server.request("textDocument/inlineCompletion", inline_params(self.line, self.col))


def cheap_request(server: TimedServer) -> object:
    """A codeAction on a line without an instruction comment: a request the server answers without the model."""
    return server.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": URI},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 3}},
            "context": {"diagnostics": []},
        },
    )


def type_keystrokes(
    typist: Typist, keystrokes: int, rate: float, burst: int, pause_s: float, start: float
) -> dict[object, tuple[str, float]]:
    """The keystrokes, paced from ``start``, each with an inline request that replaces the previous one
    ($/cancelRequest if it is still unanswered), every CHEAP_EVERY-th with a cheap request too.
    Returns the requests sent: id -> (kind, when)."""
    server = typist.server
    sent: dict[object, tuple[str, float]] = {}
    previous = None
    for i in range(keystrokes):
        target = start + i / rate + (i // burst) * pause_s
        time.sleep(max(0.0, target - time.perf_counter()))
        typist.key()
        if previous is not None and server.answered(previous) is None:
            server.notify("$/cancelRequest", {"id": previous})
        previous = typist.inline()
        sent[previous] = ("inline", time.perf_counter())
        if i % CHEAP_EVERY == 0:
            cheap = cheap_request(server)
            sent[cheap] = ("cheap", time.perf_counter())
        server._pump(0)
    return sent


def wait_for_answers(server: TimedServer, msg_ids: Iterable[object], timeout_s: float) -> None:
    """Read the server's messages until every request is answered or ``timeout_s`` has passed."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline and not all(server.answered(i) for i in msg_ids):
        server._pump(0.1)


def tally(server: TimedServer, sent: dict[object, tuple[str, float]]) -> dict:
    """Latencies (ms) of the answered requests by kind, and how many were cancelled or never answered."""
    lat: dict[str, list[float]] = {"inline": [], "cheap": []}
    cancelled = unanswered = 0
    for msg_id, (kind, at) in sent.items():
        reply = server.answered(msg_id)
        if reply is None:
            unanswered += 1
        elif "error" in reply:
            cancelled += reply["error"].get("code") == REQUEST_CANCELLED
        else:
            lat[kind].append((reply["_received"] - at) * 1000)
    return {"lat": lat, "cancelled": cancelled, "unanswered": unanswered}


def storm(typist: Typist, keystrokes: int, rate: float, burst: int, pause_s: float) -> dict:
    """Keystrokes at ``rate`` per second in bursts of ``burst``, ``pause_s`` between bursts."""
    start = time.perf_counter()
    sent = type_keystrokes(typist, keystrokes, rate, burst, pause_s, start)
    wait_for_answers(typist.server, sent, ANSWER_TIMEOUT_S)
    return {**tally(typist.server, sent), "seconds": time.perf_counter() - start, "requests": len(sent)}


def sequential_overhead(typist: Typist, count: int) -> dict[str, list[float]]:
    """A keystroke, a pause longer than the debounce (150 ms), then a request: its end-to-end time minus
    the engine's own time from the server's log line; split into the server's part (its total minus
    the engine) and the rest (transport, JSON-RPC, the event loop)."""
    server = typist.server
    overheads: dict[str, list[float]] = {"all": [], "server": [], "transport": []}
    for _ in range(count):
        typist.key()
        time.sleep(0.25)
        logs_before = len(server.notifications)
        at = time.perf_counter()
        msg_id = typist.inline()
        reply = server.wait(msg_id, timeout=30)
        e2e = (reply["_received"] - at) * 1000
        server._pump(0.05)
        lines = [
            n["params"]["message"] for n in server.notifications[logs_before:] if n.get("method") == "window/logMessage"
        ]
        logged = next(filter(None, map(logged_ms, lines)), None)
        if logged is not None:
            engine, total = logged
            overheads["all"].append(e2e - engine)
            overheads["server"].append(total - engine)
            overheads["transport"].append(e2e - total)
    return overheads


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--keystrokes", type=int, default=2000)
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--burst", type=int, default=20, help="keystrokes typed without a pause")
    p.add_argument("--pause-ms", type=float, default=400.0, help="pause after each burst")
    p.add_argument("--model", type=Path, default=TINY_MODEL)
    p.add_argument("--document-lines", type=int, help="type into this many lines of textwrap.py repeated")
    add_output_options(p, "storm")
    return p.parse_args(argv)


def ready_server(
    server_args: Sequence[str],
    settings: dict | None = None,
    notifications: Sequence[tuple[str, dict]] = (),
    server_cls: Callable[..., TimedServer] = TimedServer,
    capabilities: dict | None = None,
) -> TimedServer:
    """The server (``server_args``: its command-line options; ``settings``: initializationOptions besides
    inlineMaxNewTokens 16; ``notifications`` sent after initialize, e.g. an API key), initialized, once it has
    answered one completion (the model is loaded, or the remote server reached). ``server_cls``: the client
    (a TimedServer), ``capabilities``: the client's (default: inline completion and applyEdit)."""
    server = server_cls(*server_args)
    caps = capabilities or {"textDocument": {"inlineCompletion": {}}, "workspace": {"applyEdit": True}}
    server.initialize({"inlineMaxNewTokens": 16, **(settings or {})}, caps)
    for method, params in notifications:
        server.notify(method, params)
    server.wait_ready()
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": "file:///storm/warm.py", "languageId": "python", "version": 1, "text": "x = 1\n"}},
    )
    reply = server.wait(
        server.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": "file:///storm/warm.py"},
                "position": {"line": 1, "character": 0},
                "context": {"triggerKind": 1},
            },
        ),
        timeout=120,
    )
    if "error" in reply:
        raise RuntimeError(f"the server's first completion failed: {reply['error']}")
    return server


@dataclass
class Observed:
    """What one benchmark run saw of the server."""

    warm_up: dict  # storm()'s numbers for the warm-up storm
    storm: dict  # and for the measured one
    rss_before_mb: float  # after the warm-up
    rss_after_mb: float  # after the measured storm
    statuses: list  # the states of its magicoder/status notifications so far
    overhead: dict[str, list[float]]  # sequential_overhead()'s
    crashed: bool


def settle(server: TimedServer) -> list:
    """After a storm: let the last answers and notifications arrive; the magicoder/status states so far."""
    time.sleep(0.5)
    server._pump(0.1)
    return [n["params"].get("state") for n in server.notifications if n.get("method") == "magicoder/status"]


def observe(server: TimedServer, args: argparse.Namespace) -> Observed:
    """A warm-up storm, the measured storm, then the sequential overhead requests, on ``server`` (ready_server's),
    which is closed at the end."""
    typist = Typist(server, args.document_lines)
    pause_s = args.pause_ms / 1000
    # The warm-up: arenas and pages reach their working size.
    warm_up = storm(typist, args.keystrokes // 4, args.rate, args.burst, pause_s)
    rss_before = rss_mb(server.proc.pid)
    result = storm(typist, args.keystrokes, args.rate, args.burst, pause_s)
    statuses = settle(server)
    rss_after = rss_mb(server.proc.pid)
    overhead = sequential_overhead(typist, OVERHEAD_REQUESTS)
    crashed = server.proc.poll() is not None
    server.close()
    return Observed(warm_up, result, rss_before, rss_after, statuses, overhead, crashed)


def storm_numbers(args: argparse.Namespace, seen: Observed) -> dict:
    """The numbers of storm.json."""
    lat = seen.storm["lat"]
    return {
        "keystrokes": args.keystrokes,
        "rate_per_s": args.rate,
        "burst": args.burst,
        "pause_ms": args.pause_ms,
        "storm_seconds": seen.storm["seconds"],
        "inline_answered": len(lat["inline"]),
        "inline_cancelled": seen.storm["cancelled"],
        "unanswered": seen.storm["unanswered"],
        "inline_p50_ms": pct(lat["inline"], 50),
        "inline_p95_ms": pct(lat["inline"], 95),
        "cheap_p50_ms": pct(lat["cheap"], 50),
        "cheap_p95_ms": pct(lat["cheap"], 95),
        "rss_before_mb": seen.rss_before_mb,
        "rss_after_mb": seen.rss_after_mb,
        "rss_growth": seen.rss_after_mb / seen.rss_before_mb - 1,
        "last_status": seen.statuses[-1] if seen.statuses else None,
        **{
            f"lsp_overhead{'' if part == 'all' else '_' + part}_p50_ms": median(values)
            for part, values in seen.overhead.items()
        },
        "server_crashed": seen.crashed,
        "requests_sent": seen.warm_up["requests"] + seen.storm["requests"] + len(seen.overhead["all"]),
    }


def measure(args: argparse.Namespace) -> dict:
    """A warm-up storm, the measured storm, then the sequential overhead requests: the numbers of storm.json."""
    return storm_numbers(args, observe(ready_server(("--model", str(args.model))), args))


def document(args: argparse.Namespace) -> str:
    """What the storm types into, in words."""
    if args.document_lines is None:
        return "a real module (textwrap.py, more than the 1,024-token inline context)"
    lines = args.document_lines
    return f"{lines:,} lines of a real module (textwrap.py repeated, more than the 1,024-token inline context)"


def reproduce_options(args: argparse.Namespace) -> str:
    """The options that made this run's document and section."""
    lines = "" if args.document_lines is None else f" --document-lines {args.document_lines}"
    return lines + ("" if args.name == "storm" else f" --name {args.name}")


def report(args: argparse.Namespace, data: dict) -> list[str]:
    """The storm's section of RESULTS.md."""
    crashed, rss_before, rss_after = data["server_crashed"], data["rss_before_mb"], data["rss_after_mb"]
    return [
        "## LSP server: typing storm"
        + ("" if args.document_lines is None else f" in a {args.document_lines:,}-line document"),
        "",
        f"{args.keystrokes} keystrokes at {args.rate:.0f}/s in bursts of {args.burst} "
        f"with {args.pause_ms:.0f} ms pauses, "
        f"against the tiny model ({args.model.name}), each a didChange "
        "plus an inlineCompletion request, the previous unanswered one cancelled; a codeAction every 10th keystroke. "
        f"The document is {document(args)} typed into in its middle; "
        "RSS is compared after a warm-up storm of a quarter of the keystrokes. Completion latency is from the request "
        "to the answer, the 150 ms debounce included. "
        f"Reproduce: `.venv/bin/python -m bench.typing_storm{reproduce_options(args)}`.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| completions answered / cancelled / unanswered | {data['inline_answered']} / {data['inline_cancelled']} / "
        f"{data['unanswered']} | 0 unanswered |",
        f"| completion latency p50 / p95 | {data['inline_p50_ms']:.1f} / {data['inline_p95_ms']:.1f} ms | |",
        f"| cheap request (codeAction) latency p50 / p95 | {data['cheap_p50_ms']:.1f} / {data['cheap_p95_ms']:.1f} ms "
        "| p95 < 50 ms |",
        f"| server RSS before → after | {rss_before:.0f} → {rss_after:.0f} MB ({data['rss_growth'] * 100:+.1f} %) "
        "| < 10 % |",
        f"| status after the storm | {data['last_status']} | ready (no generation left running) |",
        f"| LSP overhead p50 (end-to-end − engine time; 30 requests, each 250 ms after a keystroke) | "
        f"{data['lsp_overhead_p50_ms']:.1f} ms (in the server {data['lsp_overhead_server_p50_ms']:.1f}, "
        f"transport and JSON-RPC {data['lsp_overhead_transport_p50_ms']:.1f}) | ≤ 5 ms |",
        f"| server crashed | {crashed} (after {data['requests_sent']} requests, warm-up included) | False |",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tiny_model(args.model)
    data = measure(args)
    publish_run(args, data, report(args, data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
