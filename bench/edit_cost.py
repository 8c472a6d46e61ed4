"""Per-edit server cost: one-character didChange notifications into documents of 1k, 10k and 100k lines.

  .venv/bin/python -m bench.edit_cost [--sizes 1000 10000 100000] [--edits 100] [--rounds 15]

For each size a server of its own (the fake engine: no model) opens a document of that many lines of real
Python (textwrap.py repeated) and, round after round, receives a cheap request alone (a codeAction at
the line being typed on), then ``--edits`` one-character incremental didChange notifications typed into
the middle of the document followed by the same request, then one didChange followed by the request.
The per-edit cost is (batch − request alone) / edits, what an editor's keystrokes cost the server
before it can answer anything; a single keystroke's cost is (one edit + request − request alone).
Medians over the rounds, which take turns between the sizes; the cost should not grow with the document.
Writes bench/results/edit_cost.json and its section of bench/results/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.lib.documents import module_lines
from bench.lib.sections import benchmark_parser, publish_run
from bench.lib.stats import median, pct
from bench.typing_storm import TimedServer

URI = "file:///edit_cost/example.py"
TARGET_P50_MS = 1.0  # per edit at the largest size
TARGET_RATIO = 2.0  # largest size / smallest size


class Editor:
    """A document of ``lines`` lines open in a fresh server, typed into in its middle."""

    def __init__(self, lines: int):
        self.server = TimedServer("--fake-engine")
        self.server.initialize({"inlineEnabled": False})
        text = "".join(module_lines(lines))
        self.line, self.column, self.version = lines // 2, 0, 1
        started = time.perf_counter()
        self.server.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": text}},
        )
        self.request()
        self.open_ms = (time.perf_counter() - started) * 1000

    def key(self) -> None:
        self.version += 1
        here = {"line": self.line, "character": self.column}
        self.server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": URI, "version": self.version},
                "contentChanges": [{"range": {"start": here, "end": here}, "text": "x"}],
            },
        )
        self.column += 1

    def request(self, since: float | None = None) -> float:
        """A codeAction at the line being typed on, sent now: ms from ``since`` (default: now) to its answer."""
        at = time.perf_counter() if since is None else since
        where = {"line": self.line, "character": 0}
        reply = self.server.wait(
            self.server.request(
                "textDocument/codeAction",
                {"textDocument": {"uri": URI}, "range": {"start": where, "end": where}, "context": {"diagnostics": []}},
            ),
            timeout=600,
        )
        if "error" in reply:
            raise RuntimeError(f"the codeAction failed: {reply['error']}")
        return (reply["_received"] - at) * 1000

    def round(self, edits: int) -> tuple[float, float, float]:
        """(request alone, ``edits`` keystrokes + request, one keystroke + request) in ms, after a request that
        wakes the server (idle while the others had their turn)."""
        self.request()
        alone = self.request()
        at = time.perf_counter()
        for _ in range(edits):
            self.key()
        batch = self.request(since=at)
        at = time.perf_counter()
        self.key()
        single = self.request(since=at)
        return alone, batch, single


def measure_sizes(sizes: list[int], edits: int, rounds: int) -> list[dict]:
    """Each size's numbers; the rounds interleave the sizes, so that the machine's load hits them alike."""
    editors = [Editor(lines) for lines in sizes]
    try:
        for editor in editors:
            editor.round(edits)  # warm-up
        samples: list[tuple[list[float], list[float], list[float]]] = [([], [], []) for _ in editors]
        for _ in range(rounds):
            for editor, (alone, per_edit, single) in zip(editors, samples, strict=True):
                a, b, s = editor.round(edits)
                alone.append(a)
                per_edit.append(max(0.0, b - a) / edits)
                single.append(max(0.0, s - a))
        return [
            {
                "lines": lines,
                "chars": sum(map(len, module_lines(lines))),
                "open_ms": editor.open_ms,
                "request_alone_p50_ms": median(alone),
                "per_edit_p50_ms": median(per_edit),
                "per_edit_p95_ms": pct(per_edit, 95),
                "single_edit_p50_ms": median(single),
                "batch_p50_ms": median(per_edit) * edits + median(alone),
            }
            for lines, editor, (alone, per_edit, single) in zip(sizes, editors, samples, strict=True)
        ]
    finally:
        for editor in editors:
            editor.server.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = benchmark_parser(__doc__, "edit-cost")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000], help="document lines")
    p.add_argument("--edits", type=int, default=100, help="keystrokes per round")
    p.add_argument("--rounds", type=int, default=15)
    return p.parse_args(argv)


def report(args: argparse.Namespace, data: dict) -> list[str]:
    rows = [
        "## LSP server: per-edit cost",
        "",
        f"Documents of {', '.join(f'{n:,}' for n in args.sizes)} lines of real Python (textwrap.py repeated), "
        "each in its own server (fake engine), the servers taking turns round by round; per round: a codeAction "
        f"alone, then {args.edits} one-character "
        "incremental didChange notifications in the middle of the document followed by the same codeAction, then "
        f"one didChange and the codeAction; {args.rounds} rounds after one warm-up. Per edit = (batch − codeAction "
        "alone) / edits; one keystroke = (one edit + codeAction − codeAction alone). "
        "Reproduce: `.venv/bin/python -m bench.edit_cost`.",
        "",
        "| lines | MB | didOpen + first answer | codeAction alone p50 | per edit p50 / p95 | one keystroke p50 | "
        f"{args.edits} edits + codeAction |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in data["sizes"]:
        rows.append(
            f"| {size['lines']:,} | {size['chars'] / 1e6:.2f} | {size['open_ms']:.0f} ms | "
            f"{size['request_alone_p50_ms']:.2f} ms | {size['per_edit_p50_ms']:.3f} / {size['per_edit_p95_ms']:.3f} ms "
            f"| {size['single_edit_p50_ms']:.2f} ms | {size['batch_p50_ms']:.0f} ms |"
        )
    rows += [
        "",
        f"Per edit at {data['sizes'][-1]['lines']:,} lines: {data['largest_per_edit_p50_ms']:.3f} ms "
        f"(target ≤ {TARGET_P50_MS:g} ms), {data['ratio_largest_to_smallest']:.2f}× the cost at "
        f"{data['sizes'][0]['lines']:,} lines (target ≤ {TARGET_RATIO:g}×).",
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = measure_sizes(args.sizes, args.edits, args.rounds)
    smallest, largest = sizes[0]["per_edit_p50_ms"], sizes[-1]["per_edit_p50_ms"]
    data = {
        "edits": args.edits,
        "rounds": args.rounds,
        "sizes": sizes,
        "largest_per_edit_p50_ms": largest,
        # the smallest cost is a few microseconds: floored at 10 µs so that noise does not make the ratio
        "ratio_largest_to_smallest": largest / max(smallest, 0.01),
    }
    publish_run(args, data, report(args, data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
