"""One `magicoder-export build` as a child process, measured: wall time and time per phase, whole-process
and conversion peak RSS, the model folder's size and the peak extra disk it used while it ran.

Phase lines are the exporter's `[phase] what done in Xs (peak RSS so far Y GiB)` (``PHASE``);
the whole-process peak comes from /usr/bin/time -v, or where that is missing from wait4's rusage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.lib.paths import ROOT

BUILD = [sys.executable, "-m", "export.cli", "build"]
TIME_V = "/usr/bin/time"
NO_STREAMING = "--no-streaming"
# The exporter's phase lines: "[convert] builder export, ... done in 157.8s (peak RSS so far 2.1 GiB)".
PHASE = re.compile(
    r"^\[(\w+)\] (.+?) done in ([\d.]+)s \(peak RSS so far ([\d.]+) GiB(?:, this phase ([\d.]+) GiB)?\)", re.M
)
KIB_PER_GIB = 2**20
STREAMED = re.compile(r"^\[convert\] streaming .* module by module", re.M)  # the streaming converter's first line
TIME_FIELDS = {
    "peak_rss_kib": r"Maximum resident set size \(kbytes\): (\d+)",
    "user_s": r"User time \(seconds\): ([\d.]+)",
    "sys_s": r"System time \(seconds\): ([\d.]+)",
}


class DiskSampler:
    """Sampled in a thread: the free bytes of a folder's file system (everything written there, other
    writers included) and the bytes of the files under the folder (this run's own, deleted-but-open
    files excepted); the peak extra use of each since the start."""

    def __init__(self, folder: Path, interval_s: float = 0.5):
        self.folder, self.interval_s = folder, interval_s
        self.start_free = self.min_free = shutil.disk_usage(folder).free
        self.start_files = self.max_files = folder_bytes(folder)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.min_free = min(self.min_free, shutil.disk_usage(self.folder).free)
        self.max_files = max(self.max_files, folder_bytes(self.folder))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> DiskSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def peak_extra_bytes(self) -> int:
        return self.start_free - self.min_free

    @property
    def peak_files_bytes(self) -> int:
        return self.max_files - self.start_files


def folder_bytes(folder: Path) -> int:
    """Apparent size of the files under ``folder`` (files that vanish while it is summed count 0)."""
    total = 0
    for path in Path(folder).rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except FileNotFoundError:
            pass
    return total


def build_command(ckpt: Path, out: Path, precision: str, target: str, extra: list[str]) -> list[str]:
    return [
        *BUILD,
        str(ckpt),
        "--output",
        str(out),
        "--precision",
        precision,
        "--target",
        target,
        "--parity-gate",
        "report",
        *extra,
    ]


def shown(cmd: list[str]) -> str:
    """The command as a user types it."""
    return " ".join(["magicoder-export", *cmd[len(BUILD) - 1 :]])


def supports_no_streaming() -> bool:
    proc = subprocess.run([*BUILD, "--help"], capture_output=True, text=True, cwd=ROOT)
    return NO_STREAMING in proc.stdout


def run_child(cmd: list[str], log: Path) -> tuple[int, str, dict]:
    """Run ``cmd`` (under /usr/bin/time -v where present) with stderr to ``log``: (status, stderr, rusage)."""
    timed = Path(TIME_V).is_file()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as err:
        proc = subprocess.Popen(([TIME_V, "-v"] if timed else []) + cmd, cwd=ROOT, stdout=err, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4: the child's own rusage, its descendants included
        proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = log.read_text(errors="replace")
    fields = {k: float(m[1]) for k, rx in TIME_FIELDS.items() if (m := re.search(rx, stderr))} if timed else {}
    if "peak_rss_kib" not in fields:
        fields.update(peak_rss_kib=usage.ru_maxrss, user_s=usage.ru_utime, sys_s=usage.ru_stime)
    return proc.returncode, stderr, fields


def phases(stderr: str) -> list[dict]:
    """Each `done in` line: its phase, what was done, seconds, the peak RSS so far and the phase's own (GiB)."""
    return [
        {
            "phase": m[1],
            "what": m[2].split(",")[0],
            "s": float(m[3]),
            "peak_gib": float(m[4]),
            "phase_peak_gib": float(m[5]) if m[5] else None,
        }
        for m in PHASE.finditer(stderr)
    ]


def conversion_peak(steps: list[dict]) -> float | None:
    """Peak RSS before the parity gate: the largest 'so far' of the phases that are not [validate]."""
    before = [s["peak_gib"] for s in steps if s["phase"] != "validate"]
    return max(before) if before else None


def converter(stderr: str) -> str:
    """Which converter ran: "streaming" (module by module) or "in-memory" (the stock builder)."""
    return "streaming" if STREAMED.search(stderr) else "in-memory"


def gate_status(out: Path) -> str:
    """passed / failed / pending (the gate did not run here, e.g. a cuda graph on a CPU machine) / absent."""
    report = out / "parity.json"
    if not report.is_file():
        return "absent"
    data = json.loads(report.read_text())
    if "status" in data:
        return str(data["status"])
    return {True: "passed", False: "failed", None: "pending"}[data.get("passed")]


def gate_fidelity(out: Path) -> dict | None:
    """The quantized gate's held-out measures (top-1 agreement, perplexity ratio, mean KL), when it ran."""
    report = out / "parity.json"
    fidelity = json.loads(report.read_text()).get("fidelity") if report.is_file() else None
    if not fidelity:
        return None
    return {k: round(fidelity[k], 4) for k in ("top1_agreement", "perplexity_ratio", "mean_kl")}


def digests(out: Path) -> dict[str, str]:
    """sha256 of the graph and its weights: streaming and in-memory exports must be byte-identical."""
    found = {}
    for name in ("model.onnx", "model.onnx.data"):
        sha = hashlib.sha256()
        with open(out / name, "rb") as f:
            while chunk := f.read(1 << 24):
                sha.update(chunk)
        found[name] = sha.hexdigest()
    return found


def measure_build(ckpt: Path, out: Path, precision: str, target: str, log: Path, extra: list[str]) -> dict:
    """Run one export and return what it cost; a failure is recorded with the end of its stderr."""
    cmd = build_command(ckpt, out, precision, target, extra)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with DiskSampler(out.parent) as disk:
        status, stderr, usage = run_child(cmd, log)
    steps = phases(stderr)
    result = {
        "command": shown(cmd),
        "returncode": status,
        "wall_s": round(time.perf_counter() - start, 1),
        "user_s": usage.get("user_s"),
        "sys_s": usage.get("sys_s"),
        "peak_rss_gib": round(usage["peak_rss_kib"] / KIB_PER_GIB, 2),
        "convert_peak_gib": conversion_peak(steps),
        "converter": converter(stderr),
        "phases": steps,
        "gate": gate_status(out),
        "fidelity": gate_fidelity(out),
        "published": (out / "manifest.json").is_file(),
        "sha256": digests(out) if (out / "manifest.json").is_file() else None,
        "output_bytes": folder_bytes(out) if out.is_dir() else 0,
        "disk_peak_extra_bytes": disk.peak_extra_bytes,
        "disk_peak_files_bytes": disk.peak_files_bytes,
        "log": str(log),
    }
    if status != 0:
        result["stderr_tail"] = stderr[-3000:]
    return result
