"""What the benchmarks read of a running process and of the server's log: memory, threads and open files from
/proc, timings from the server's one log line per answered request."""

from __future__ import annotations

import re
from pathlib import Path

# The server's log line for an answered request, e.g. "... TTFT 12.3 ms, 45.6 tok/s, decode 78.9 ms, total 95.0 ms".
TIMINGS = re.compile(r"TTFT ([\d.]+) ms, [\d.]+ tok/s, decode ([\d.]+) ms, total ([\d.]+) ms")


def status_mb(pid: int | str, field: str) -> float | None:
    """A memory field of /proc/PID/status ("VmRSS", "VmHWM", ...) in MB (``pid`` may be "self"); None if absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


def rss_mb(pid: int) -> float:
    """The process's resident set now."""
    found = status_mb(pid, "VmRSS")
    return float("nan") if found is None else found


def hwm_mb(pid: int) -> float:
    """The process's peak resident set so far (VmHWM)."""
    found = status_mb(pid, "VmHWM")
    if found is None:
        raise LookupError(f"/proc/{pid}/status has no VmHWM")
    return found


def thread_count(pid: int) -> int:
    """The process's threads now (/proc/PID/status: Threads)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise LookupError(f"/proc/{pid}/status has no Threads")


def open_fds(pid: int) -> int:
    """How many file descriptors the process holds open now."""
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


def logged_ms(message: str) -> tuple[float, float] | None:
    """(engine time = TTFT + decode, the server's total) from its one log line per answered request."""
    m = TIMINGS.search(message)
    return (float(m.group(1)) + float(m.group(2)), float(m.group(3))) if m else None
