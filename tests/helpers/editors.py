"""The editors under test (the VS Code extension in code-server, Neovim): where they and their runs are, commands
run in their own session (their process trees stopped), and code-server scenarios (e2e/*.mjs) run to their
results. The fixtures they use (npm_ready, vsix, editor_model) are in tests/conftest.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

CLIENT = ROOT / "editor-client"
CACHE = Path(
    os.environ.get("MAGICODER_EDITOR_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "magicoder-lsp"
)
CODE_SERVER = CACHE / "code-server" / "node_modules" / ".bin" / "code-server"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
ARTIFACTS = ROOT / ".cache" / "artifacts"
# The editors' run folders ($MAGICODER_TEST_CACHE: beside the tiny model, for test runs side by side).
RUNS = Path(os.environ.get("MAGICODER_TEST_CACHE") or ROOT / ".cache") / "editor-tests"
VSIX = CLIENT / "dist" / "magicoder-lsp.vsix"
SETUP = "run `bash scripts/setup-editor.sh` first (scripts/test.sh does)"


def require(*things: str | Path) -> None:
    for thing in things:
        found = Path(thing).exists() if isinstance(thing, Path) else shutil.which(thing)
        if not found:
            pytest.skip(f"{thing} is not installed: {SETUP}")


# -- processes -------------------------------------------------------------------------------------------
def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def stop_tree(pid: int) -> None:
    """SIGKILL a process and everything it started, listed first (by pid), then its process group."""
    for target in [pid, *descendants(pid)]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(cmd: list[str], *, cwd: Path = ROOT, timeout: float, env: dict | None = None) -> str:
    """Run a command in its own session; fail with its output when it fails or times out."""
    proc = subprocess.Popen(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_tree(proc.pid)
        out, _ = proc.communicate()
        pytest.fail(f"{' '.join(map(str, cmd))} timed out after {timeout} s:\n{out}")
    finally:
        stop_tree(proc.pid)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited with {proc.returncode}:\n{out}")
    return out


def live_processes_under(folder: Path) -> list[str]:
    """Processes (not zombies) whose command line or working directory is inside `folder`."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if str(folder) in cmdline or cwd.startswith(str(folder)):
            found.append(f"{entry}: {cmdline[:200]}")
    return found


def code_server_scenario(
    script: str, vsix: Path, model: Path, name: str, timeout: float, extra: dict[str, object] | None = None
) -> dict:
    """Runs an e2e/ scenario in code-server (its run folder: RUNS/name); its results.json, which says it passed.
    `extra`: the scenario's own options."""
    require(CODE_SERVER, "chromium", VENV_PYTHON)
    artifacts, run_dir = ARTIFACTS / f"editor-{name}", RUNS / name
    options = {
        "model": model,
        "python": VENV_PYTHON,
        "vsix": vsix,
        "code-server": CODE_SERVER,
        "run-dir": run_dir,
        "artifacts": artifacts,
        **(extra or {}),
    }
    cmd = ["node", f"e2e/{script}"]
    for option, value in options.items():
        cmd += [f"--{option}", str(value)]
    try:
        out = run(cmd, cwd=CLIENT, timeout=timeout)
    finally:
        leftovers = live_processes_under(run_dir)
    print(out)
    assert not leftovers, f"processes left running: {leftovers}"
    results = json.loads((artifacts / "results.json").read_text())
    assert results["ok"], results.get("error")
    for shot in results["screenshots"]:
        assert Path(shot).stat().st_size > 1000, shot
    return results
