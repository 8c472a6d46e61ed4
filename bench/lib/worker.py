"""Benchmark workers: one process per runner (so that its peak RSS is its own), driven by JSON lines.

  python -m bench.lib.worker KIND FOLDER THREADS     (KIND: ours, genai, transformers, optimum)

The process answers {"ready": true} once its runner is loaded, then one line per command:
  {"op": "generate", "ids": [...], "new": N}      -> {"ttft_s", "decode_tps", "tokens"}
  {"op": "reuse", "doc": [...], "edited": [...]}  (ours only) -> cold and warm TTFT
  {"op": "cancel", "ids": [...]}                  (ours only) -> cancel latency, step time
  {"op": "rss"}                                   -> peak RSS of this process (MB)
``Worker`` starts one and talks to it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from bench.lib.paths import ROOT
from bench.lib.server_watch import status_mb


class Worker:
    """A worker process seen from the benchmark: ``python`` (default: this interpreter) runs the runner."""

    def __init__(self, name: str, kind: str, folder: Path, threads: int, python: Path | None = None):
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [str(python or sys.executable), "-m", "bench.lib.worker", kind, str(folder), str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.ask_raw()  # {"ready": true}

    def ask_raw(self, cmd: dict | None = None) -> dict:
        if cmd is not None:
            self.stdin.write(json.dumps(cmd) + "\n")
            self.stdin.flush()
        line = self.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker {self.name} died")
        return json.loads(line)

    def close(self) -> None:
        self.stdin.close()
        self.proc.wait(timeout=60)


def reset_peak_rss() -> None:
    """Peak RSS survives fork + exec (the parent's counts): reset it before the runner loads."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    found = status_mb("self", "VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if found is None else found


def answer(runner, cmd: dict) -> dict:
    """One command's reply."""
    if cmd["op"] == "rss":
        return {"rss_mb": peak_rss_mb()}
    if cmd["op"] == "generate":
        return runner.generate(cmd["ids"], cmd["new"])
    if cmd["op"] == "reuse":
        return runner.reuse(cmd["doc"], cmd["edited"])
    return runner.cancel(cmd["ids"])


def main() -> None:
    from bench.lib.runners import RUNNERS

    kind, folder, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    reset_peak_rss()
    runner = RUNNERS[kind](folder, threads)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        print(json.dumps(answer(runner, json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
