"""Machine-readable progress for editors and scripts: ``--progress json``.

With ``--progress json`` the command writes one JSON object per line on stdout and nothing else there
(anything a library prints to stdout goes to stderr, with the log). Every object has ``event``; those
of a running command have ``fraction``, the share of the whole command done (0 to 1, never going back):

* ``{"event": "start", "command": "build", "phases": ["preflight", "download", "load", "convert", "validate",
  "publish"], "fraction": 0}`` — first, with the phases this run will go through, in order;
* ``{"event": "preflight", ...}`` — what the export needs and what this machine has (``preflight.report``);
* ``{"event": "phase", "phase": "convert", "message": "...", "fraction": 0.41}`` — a phase begins;
* ``{"event": "step", "phase": "convert", "done": 3, "total": 32, "unit": "layers", "message": "layer 3 of 32",
  "fraction": 0.47}`` — a step within a phase (bytes downloaded, layers converted, parity prompts and
  reference layers checked);
* ``{"event": "done", "output": "/path", "parity": "passed", "fraction": 1}`` — last, on success;
* ``{"event": "error", "message": "...", "exit_code": 2}`` — last, on failure (3: parity gate failed,
  130: interrupted; a ``kind`` says which: ``preflight``, ``parity``, ``disk_full``, ``interrupted``, ``error``).

Without ``--progress json`` (``--progress log``, the default) the functions here do nothing: the log lines
on stderr are the progress.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

# How much of a run each phase is, roughly (a Hub download dominates; then conversion and the parity gate).
WEIGHTS = {
    "preflight": 1.0,
    "download": 40.0,
    "load": 3.0,
    "describe": 5.0,
    "convert": 30.0,
    "validate": 30.0,
    "publish": 1.0,
}
MODES = ("log", "json")


class Reporter:
    """Writes the events of one command to ``out``; fractions from the planned phases' weights."""

    def __init__(self, out: IO[str], command: str, phases: list[str]):
        self.out = out
        self.phases = list(phases)
        self.total = sum(WEIGHTS.get(p, 1.0) for p in self.phases) or 1.0
        self.current: str | None = None
        self.fraction = 0.0
        self._lock = threading.Lock()
        self.emit("start", command=command, phases=self.phases, fraction=0.0)

    def _overall(self, phase: str, within: float) -> float:
        if phase not in self.phases:
            return self.fraction
        index = self.phases.index(phase)
        before = sum(WEIGHTS.get(p, 1.0) for p in self.phases[:index])
        share = before + WEIGHTS.get(phase, 1.0) * min(max(within, 0.0), 1.0)
        return max(self.fraction, min(share / self.total, 1.0))

    def emit(self, event: str, **fields: Any) -> None:
        with self._lock:
            self.out.write(json.dumps({"event": event, **fields}, default=str) + "\n")
            self.out.flush()

    def phase(self, name: str, message: str = "") -> None:
        self.current = name
        self.fraction = self._overall(name, 0.0)
        self.emit("phase", phase=name, message=message, fraction=round(self.fraction, 4))

    def step(self, phase: str, done: float, total: float, unit: str = "", message: str = "") -> None:
        within = done / total if total else 0.0
        self.fraction = self._overall(phase, within)
        self.emit(
            "step", phase=phase, done=done, total=total, unit=unit, message=message, fraction=round(self.fraction, 4)
        )


_reporter: Reporter | None = None


def active() -> bool:
    return _reporter is not None


def phase(name: str, message: str = "") -> None:
    """A phase begins (nothing without --progress json)."""
    if _reporter is not None:
        _reporter.phase(name, message)


def step(phase: str, done: float, total: float, unit: str = "", message: str = "") -> None:
    """A step of ``phase``: ``done`` of ``total`` (nothing without --progress json)."""
    if _reporter is not None:
        _reporter.step(phase, done, total, unit, message)


def event(name: str, **fields: Any) -> None:
    """Any other event (preflight, done, error)."""
    if _reporter is not None:
        _reporter.emit(name, **fields)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def json_progress(command: str, phases: list[str]) -> Iterator[Reporter]:
    """JSON events on stdout for the duration; stdout's other writers (print, C libraries) go to stderr.

    SIGTERM stops the command as Ctrl-C does (unfinished output removed), so that an editor's Cancel is clean.
    """
    global _reporter
    sys.stdout.flush()
    events = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    saved = os.dup(1)
    os.dup2(2, 1)
    previous_term = signal.signal(signal.SIGTERM, _interrupt) if _main_thread() else None
    _reporter = Reporter(events, command, phases)
    try:
        yield _reporter
    finally:
        _reporter = None
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        events.close()


@contextlib.contextmanager
def maybe_json(mode: str, command: str, phases: list[str]) -> Iterator[Reporter | None]:
    if mode == "json":
        with json_progress(command, phases) as reporter:
            yield reporter
    else:
        yield None


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (0 when it does not exist); files vanishing meanwhile are skipped."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


class DownloadWatch:
    """While a download runs, steps of the ``download`` phase: the bytes under ``folder`` against ``total``.

    Reads the files the downloader writes (huggingface_hub's ``blobs`` folder of the repository, with the
    .incomplete parts), so it does not depend on the downloader's own progress bars.
    """

    def __init__(self, folder: Path, total: int, interval_s: float = 1.0):
        self.folder, self.total, self.interval_s = Path(folder), total, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="download-watch", daemon=True)

    def sample(self) -> int:
        done = min(folder_bytes(self.folder), self.total)  # a resumed download starts where it stopped
        step("download", done, self.total, "bytes", f"{done / 1e9:.2f} of {self.total / 1e9:.2f} GB")
        return done

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> DownloadWatch:
        if active() and self.total > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
