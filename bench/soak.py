"""Soak: 30 minutes of mixed editor traffic against the tiny model, the server's memory and threads watched.

  .venv/bin/python -m bench.soak [--minutes 30] [--window-minutes 5] [--seconds S] [--sample-seconds 60]

The server runs as a real subprocess (`python -m lsp_server --model DIR`) driven over stdio by a client that
behaves as an editor (bench/lib/soak_client.py): typing bursts with inline completions (latest wins, the
superseded request cancelled), code actions, didOpen/didClose through 200 documents, Ask Magicoder with cancels,
settings changes (bench/lib/soak_traffic.py). Every minute the server's RSS, thread count and open files are
sampled; per window (5 minutes) the requests sent, answered and unanswered (no response within
--answer-timeout) and the latency percentiles per kind. Verdict: RSS growth after the first window < 10 %,
threads flat, 0 unanswered, the server alive at the end (bench/lib/soak_report.py).
Writes bench/results/soak.json and the "soak" section of bench/results/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from bench.lib.models import tiny_model
from bench.lib.paths import RESULTS, TINY_MODEL
from bench.lib.sections import publish
from bench.lib.server_watch import open_fds, rss_mb, thread_count
from bench.lib.soak_client import CAPABILITIES, Ledger, SoakServer
from bench.lib.soak_report import report, server_numbers, totals, verdict, window_numbers
from bench.lib.soak_traffic import INITIAL_SETTINGS, Traffic
from bench.typing_storm import ready_server

POLL_S = 0.05  # the longest the loop waits for the server's messages before looking at the clock


def sample(pid: int, t_s: float, label: str) -> dict:
    """The server process now: RSS (MB), threads, open file descriptors (None once it is gone)."""
    try:
        return {
            "t_s": round(t_s, 1),
            "label": label,
            "rss_mb": rss_mb(pid),
            "threads": thread_count(pid),
            "fds": open_fds(pid),
        }
    except (OSError, LookupError):
        return {"t_s": round(t_s, 1), "label": label, "rss_mb": None, "threads": None, "fds": None}


def log(text: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {text}", flush=True)


class Soak:
    """One soak run: the server, its traffic, the clock, the samples."""

    def __init__(self, args: argparse.Namespace):
        self.duration_s = args.seconds if args.seconds is not None else args.minutes * 60
        self.window_s = min(args.window_minutes * 60, self.duration_s)
        self.sample_s = args.sample_seconds
        server = ready_server(
            ("--model", str(args.model)), dict(INITIAL_SETTINGS), server_cls=SoakServer, capabilities=CAPABILITIES
        )
        assert isinstance(server, SoakServer)
        self.server = server
        self.pid = self.server.proc.pid
        self.start = time.perf_counter()
        windows = math.ceil(self.duration_s / self.window_s - 1e-9)
        self.ledger = self.server.ledger = Ledger(self.start, self.window_s, windows, args.answer_timeout)
        self.traffic = Traffic(self.server, self.ledger, args.seed)
        self.samples = [sample(self.pid, 0.0, "0")]
        self.crash: str | None = None

    def take_sample(self, now: float, label: str | None = None) -> None:
        t_s = now - self.start
        self.samples.append(sample(self.pid, t_s, label or f"{t_s / 60:g}"))
        s, pending = self.samples[-1], len(self.ledger.pending)
        unanswered = sum(sum(w.unanswered.values()) for w in self.ledger.windows)
        log(
            f"{t_s / 60:.1f} min: RSS {s['rss_mb'] or 0:.1f} MB, {s['threads']} threads, {s['fds']} fds; "
            f"{dict(self.traffic.counts)}; pending {pending}, unanswered {unanswered}"
        )

    def run(self) -> None:
        """The traffic for the duration, then every request left answered or timed out."""
        end = self.start + self.duration_s
        next_sample = self.start + self.sample_s
        self.traffic.begin(self.start)
        try:
            while (now := time.perf_counter()) < end:
                self.traffic.clock.run_due(now)
                if now >= next_sample:
                    self.take_sample(next_sample, f"{round((next_sample - self.start) / 60, 2):g}")
                    next_sample += self.sample_s
                self.ledger.expire(now)
                wake = min(t for t in (self.traffic.clock.next_at(), next_sample, end) if t is not None)
                self.server.pump_all(min(POLL_S, max(0.0, wake - time.perf_counter())))
            self.traffic.stop()
            self.take_sample(time.perf_counter(), f"{round(self.duration_s / 60, 2):g}")  # the end of the traffic
            while self.ledger.pending:
                self.server.pump_all(0.1)
                self.ledger.expire(time.perf_counter())
        except (ConnectionError, OSError) as exc:  # the server is gone: what it had not answered never will be
            self.crash = repr(exc)
            log(f"the server is gone: {exc!r}")
            self.traffic.stop()
            self.ledger.expire(math.inf)

    def finish(self) -> tuple[bool, int | None]:
        """After the drain: a last sample, whether the server is alive, and its exit status after shutdown + exit."""
        self.take_sample(time.perf_counter(), "end (drained)")
        alive = self.crash is None and self.server.proc.poll() is None
        return alive, self.server.close()


def measure(args: argparse.Namespace) -> dict:
    soak = Soak(args)
    log(f"server {soak.pid} ready: {soak.duration_s / 60:g} min, windows of {soak.window_s / 60:g} min")
    soak.run()
    alive, exit_code = soak.finish()
    windows = [window_numbers(i, w, soak.window_s) for i, w in enumerate(soak.ledger.windows)]
    summed = totals(windows, soak.ledger)
    return {
        "model": args.model.name,
        "duration_s": soak.duration_s,
        "window_s": soak.window_s,
        "sample_s": soak.sample_s,
        "answer_timeout_s": args.answer_timeout,
        "seed": args.seed,
        "traffic": dict(soak.traffic.counts),
        "samples": soak.samples,
        "windows": windows,
        "totals": summed,
        "server": server_numbers(soak.server),
        "crash": soak.crash,
        "exit_code": exit_code,
        "verdict": verdict(soak.samples, soak.window_s, summed["unanswered"], alive),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--seconds", type=float, default=None, help="the duration in seconds (instead of --minutes)")
    p.add_argument("--window-minutes", type=float, default=5.0, help="the first one is the warm-up")
    p.add_argument("--sample-seconds", type=float, default=60.0, help="how often RSS and threads are sampled")
    p.add_argument("--answer-timeout", type=float, default=60.0, help="seconds: a request not answered is unanswered")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", type=Path, default=TINY_MODEL)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tiny_model(args.model)
    data = measure(args)
    publish(args.out, "soak", data, report(data))
    return 0 if data["verdict"]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
