"""Memory and disk: what this machine has, and what each export phase used (peak RSS, on stderr)."""

from __future__ import annotations

import logging
import resource
import shutil
import time
from pathlib import Path

log = logging.getLogger("magicoder-export")

GIB = 1024**3


def gib(n_bytes: float) -> str:
    return f"{n_bytes / GIB:.1f} GiB"


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def phase_done(phase: str, what: str, start: float) -> None:
    log.info("[%s] %s done in %.1fs (peak RSS so far %s)", phase, what, time.perf_counter() - start, gib(peak_rss_bytes()))


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
