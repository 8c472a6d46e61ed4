"""Memory and disk: what this machine has, and what each export phase used (peak RSS, on stderr)."""

from __future__ import annotations

import logging
import os
import resource
import shutil
import threading
import time
from pathlib import Path

log = logging.getLogger("magicoder-export")

GIB = 1024**3


def gib(n_bytes: float) -> str:
    return f"{n_bytes / GIB:.1f} GiB"


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes(statm: Path = Path("/proc/self/statm")) -> int | None:
    try:
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return None


class PhasePeaks:
    """Each phase's own peak RSS, sampled by a daemon thread (the process-wide peak cannot be reset)."""

    def __init__(self, interval_s: float = 0.05):
        self.interval_s = interval_s
        self.peak = current_rss_bytes() or 0
        self._phase = 0  # a sample taken while an older phase ran must not count for the next one
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="rss-sampler", daemon=True).start()

    def _run(self) -> None:
        while True:
            with self._lock:
                phase = self._phase
            rss = current_rss_bytes() or 0
            with self._lock:
                if phase == self._phase:
                    self.peak = max(self.peak, rss)
            time.sleep(self.interval_s)

    def take(self) -> int:
        """The peak since the last call (or since the sampler started); the next phase starts from now."""
        now = current_rss_bytes() or 0
        with self._lock:
            peak, self.peak = max(self.peak, now), now
            self._phase += 1
        return peak


_phases: PhasePeaks | None = None


def track_phases() -> None:
    """Start sampling this process's RSS, so that each phase line reports its own peak."""
    global _phases
    if _phases is None and current_rss_bytes() is not None:
        _phases = PhasePeaks()


def phase_done(phase: str, what: str, start: float) -> None:
    """One line per phase: its time, the process's peak RSS so far and, when tracked, this phase's own peak."""
    own = "" if _phases is None else f", this phase {gib(_phases.take())}"
    log.info(
        "[%s] %s done in %.1fs (peak RSS so far %s%s)",
        phase,
        what,
        time.perf_counter() - start,
        gib(peak_rss_bytes()),
        own,
    )


def available_memory_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable + SwapFree, or None where /proc/meminfo is not readable."""
    try:
        fields = dict(line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line)
        kib = int(fields["MemAvailable"].split()[0]) + int(fields.get("SwapFree", "0 kB").split()[0])
    except (OSError, KeyError, ValueError):
        return None
    return kib * 1024


def free_disk_bytes(path: Path) -> int:
    """Free space on the file system that holds ``path`` (or would, once created)."""
    path = Path(path).expanduser().resolve()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free
