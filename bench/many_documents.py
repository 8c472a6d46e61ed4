"""Inline completion with many open documents: latency with 1 and with 50 open documents, snippets on.

  .venv/bin/python -m bench.many_documents [--documents 1 50] [--lines 2000] [--keystrokes 600]

One server per document count (the fake engine, instant: what is measured is the server's own work), inline
snippets on, no debounce. Each opens its documents: the one typed into (``--lines`` lines of textwrap.py, a new
function begun in its middle) and the others, standard-library modules of the same language, each repeated
to ``--lines`` lines. After one completion (which indexes the other documents), the servers take turns:
a keystroke (a didChange), then an inline completion request, answered before the next. Latency is from the
request to its answer; keystrokes that start a new line change the snippets' query (the text above the
cursor's line) and are reported apart. Turns interleave the servers, so that the machine's load hits both.
Writes bench/results/many_documents.json and its section of bench/results/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.lib.documents import module_lines, other_modules
from bench.lib.sections import benchmark_parser, publish_run
from bench.lib.stats import pct
from bench.typing_storm import Typist, ready_server

TARGET_RATIO = 1.2  # p50 with the most documents / with one


class Session:
    """A server with ``documents`` open documents (one typed into), ready to type."""

    def __init__(self, documents: int, lines: int):
        self.documents = documents
        self.server = ready_server(("--fake-engine",), {"inlineSnippets": True, "debounceMs": 0})
        for module in other_modules(documents - 1):
            text = "".join(module_lines(lines, module))
            doc = {"uri": f"file:///many/{module.name}", "languageId": "python", "version": 1, "text": text}
            self.server.notify("textDocument/didOpen", {"textDocument": doc})
        self.typist = Typist(self.server, lines)
        self.first_ms = self.complete()
        self.same_line: list[float] = []
        self.new_line: list[float] = []

    def complete(self) -> float:
        """An inline completion at the cursor: ms to its answer."""
        at = time.perf_counter()
        reply = self.server.wait(self.typist.inline(), timeout=120)
        if "error" in reply or not reply["result"]["items"]:
            raise RuntimeError(f"the completion failed: {reply}")
        return (reply["_received"] - at) * 1000

    def turn(self) -> None:
        line = self.typist.line
        self.typist.key()
        (self.same_line if self.typist.line == line else self.new_line).append(self.complete())


def summary(session: Session) -> dict:
    every = session.same_line + session.new_line
    return {
        "documents": session.documents,
        "first_completion_ms": session.first_ms,
        "p50_ms": pct(every, 50),
        "p95_ms": pct(every, 95),
        "same_line_p50_ms": pct(session.same_line, 50),
        "new_line_p50_ms": pct(session.new_line, 50),
        "new_line_keystrokes": len(session.new_line),
        "keystrokes": len(every),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = benchmark_parser(__doc__, "many-documents")
    p.add_argument("--documents", type=int, nargs="+", default=[1, 50], help="open documents per server")
    p.add_argument("--lines", type=int, default=2000, help="lines of each document")
    p.add_argument("--keystrokes", type=int, default=600, help="per server")
    return p.parse_args(argv)


def report(args: argparse.Namespace, data: dict) -> list[str]:
    rows = [
        "## LSP server: inline completion with many open documents",
        "",
        f"Open documents of {args.lines:,} lines each, inline snippets on, the fake engine (instant: the server's "
        "own work is what is measured), no debounce: the document typed into is textwrap.py repeated, the others "
        "are standard-library modules repeated. After a first completion (which indexes the other documents), "
        f"{args.keystrokes} turns per server, the servers interleaved: a one-character didChange, then an "
        "inlineCompletion request, answered before the next. Latency from the request to its answer; a keystroke "
        "that starts a new line changes the snippets' query (the text above the cursor's line). "
        "Reproduce: `.venv/bin/python -m bench.many_documents`.",
        "",
        "| open documents | first completion | p50 / p95 | p50, same line | p50, new line (count) |",
        "|---|---|---|---|---|",
    ]
    for s in data["servers"]:
        rows.append(
            f"| {s['documents']} | {s['first_completion_ms']:.0f} ms | {s['p50_ms']:.2f} / {s['p95_ms']:.2f} ms | "
            f"{s['same_line_p50_ms']:.2f} ms | {s['new_line_p50_ms']:.2f} ms ({s['new_line_keystrokes']}) |"
        )
    rows += [
        "",
        f"p50 with {data['servers'][-1]['documents']} documents: {data['ratio_p50']:.2f}× the p50 with "
        f"{data['servers'][0]['documents']} (target ≤ {TARGET_RATIO:g}×); p95: {data['ratio_p95']:.2f}×.",
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sessions: list[Session] = []
    try:
        for documents in args.documents:
            sessions.append(Session(documents, args.lines))
        for _ in range(args.keystrokes):
            for session in sessions:
                session.turn()
    finally:
        for session in sessions:
            session.server.close()
    servers = [summary(s) for s in sessions]
    data = {
        "lines": args.lines,
        "keystrokes": args.keystrokes,
        "servers": servers,
        "ratio_p50": servers[-1]["p50_ms"] / servers[0]["p50_ms"],
        "ratio_p95": servers[-1]["p95_ms"] / servers[0]["p95_ms"],
    }
    publish_run(args, data, report(args, data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
