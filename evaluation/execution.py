"""Run untrusted generated programs (a solution followed by HumanEval's tests) each in its own sandboxed subprocess.

A crashing, hanging, forking, flooding or exiting program is an Outcome, never a crash or a hang of the eval.
Per program (the child's side is evaluation/sandbox.py, which documents the rest):

- a fresh temporary directory ``magicoder-eval-*``: ``program.py`` (readable), ``work/`` (the child's cwd, HOME
  and TMPDIR, the only place it may write) and ``out/`` (its stdout and stderr, files the parent opened: a flood
  is capped by RLIMIT_FSIZE in the child, and the parent reads only their tails); always removed afterwards;
- ``sys.executable -I -B -X utf8 sandbox.py …`` with stdin from /dev/null, a minimal environment, its own
  session (``start_new_session``) and a nonce on an inherited pipe; when running as root, as ``nobody`` if that
  user can run this interpreter (checked once; under /root it usually cannot: then the guard stands alone);
- the parent waits on a pidfd up to the timeout, then SIGKILLs the whole process group while the child is still
  a zombie (its pgid cannot be reused before it is reaped), so nothing the program left running survives;
- passed = exit code 0 and the nonce as the last line of stdout: the runner writes it only after the program,
  tests included, ran to its end.

KeyboardInterrupt (or any exception) in the parent kills the running child and removes its directory; Executor's
close(cancel=True), which ``with`` uses when its body raised, does so for all running programs.
"""

from __future__ import annotations

import concurrent.futures
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from .sandbox import EXIT_MEMORY, EXIT_REFUSED, EXIT_SETUP

RUNNER = Path(__file__).with_name("sandbox.py")
DETAIL_LINES, DETAIL_CHARS, TAIL_BYTES = 20, 2000, 8192
_NOBODY = 65534
_user_lock = threading.Lock()
_user: tuple[int, int] | None = None  # (uid, gid) the child drops to; (-1, -1): it stays who we are


@dataclass(frozen=True)
class Outcome:
    status: str  # "passed" | "failed" | "timeout" | "crashed"
    detail: str  # "" when passed; else why (first line: a one-line summary), then the last lines of stderr
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def sandbox_user() -> tuple[int, int]:
    """``nobody``'s (uid, gid) when we are root and nobody can run the runner, else (-1, -1): no drop.

    Not root: the child keeps our user, for which RLIMIT_NPROC holds. Root: RLIMIT_NPROC does not bind root, and
    root may write anywhere, so dropping is worth a probe, once per process: as nobody, start the interpreter on
    the runner, enter a work/ and read a program.py laid out as for a run (an interpreter under /root, mode 700,
    fails this: the guard then stands alone).
    """
    global _user
    with _user_lock:
        if _user is None:
            _user = (-1, -1)
            if os.geteuid() == 0:
                root = Path(tempfile.mkdtemp(prefix="magicoder-eval-"))
                try:
                    _lay_out(root, "", _NOBODY, _NOBODY)
                    probe = subprocess.run(
                        [
                            sys.executable,
                            "-I",
                            "-B",
                            str(RUNNER),
                            "--probe",
                            str(root / "work"),
                            str(root / "program.py"),
                        ],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        user=_NOBODY,
                        group=_NOBODY,
                        extra_groups=[],
                        timeout=30,
                        check=False,
                    )
                    if probe.returncode == 0:
                        _user = (_NOBODY, _NOBODY)
                except (OSError, subprocess.SubprocessError):
                    pass
                finally:
                    _remove(root)
        return _user


def _lay_out(root: Path, program: str, uid: int, gid: int) -> tuple[Path, Path, Path]:
    """root/program.py, root/work (the program's), root/out (ours); with a uid to drop to, nobody gets through root
    to program.py (read) and work/ (its own), and can neither list root nor reach out/."""
    work, out, program_path = root / "work", root / "out", root / "program.py"
    work.mkdir()
    out.mkdir()
    program_path.write_text(program, encoding="utf-8")
    if uid >= 0:
        os.chmod(root, 0o711)
        os.chmod(program_path, 0o644)
        os.chown(work, uid, gid)
    return work, out, program_path


class _Running:
    """An Executor's running children, so that close(cancel=True) can kill them (and any started after)."""

    def __init__(self) -> None:
        self.lock, self.procs, self.cancelled = threading.Lock(), set[subprocess.Popen[bytes]](), False

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        with self.lock:
            self.procs.add(proc)
            if self.cancelled:
                _kill_group(proc)

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self.lock:
            self.procs.discard(proc)

    def kill_all(self) -> None:
        with self.lock:
            self.cancelled = True
            for proc in self.procs:
                _kill_group(proc)


def run_program(program: str, timeout_s: float = 10.0, memory_mb: int = 1024) -> Outcome:
    """Run ``program`` in a fresh sandboxed subprocess; the Outcome says how it ended (never raises for it).

    Raises only when the eval's own side fails (no temporary directory, the interpreter cannot be started).
    """
    return _run(program, timeout_s, memory_mb, None)


def _run(program: str, timeout_s: float, memory_mb: int, running: _Running | None) -> Outcome:
    uid, gid = sandbox_user()
    root = Path(tempfile.mkdtemp(prefix="magicoder-eval-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        work, out, program_path = _lay_out(root, program, uid, gid)
        nonce = secrets.token_hex(16)
        read_end, write_end = os.pipe()
        try:
            with os.fdopen(write_end, "wb") as pipe:  # 32 bytes: the pipe's buffer holds them for the child
                pipe.write(nonce.encode())
            cpu_s = int(timeout_s) + 2
            args = [str(a) for a in (work, program_path, memory_mb, cpu_s, read_end, uid, gid, os.getpid())]
            env = {"HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}
            with open(out / "stdout", "wb") as stdout, open(out / "stderr", "wb") as stderr:
                start = time.monotonic()
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-B", "-X", "utf8", str(RUNNER), *args],
                    stdin=subprocess.DEVNULL,
                    stdout=stdout,
                    stderr=stderr,
                    pass_fds=(read_end,),
                    cwd=work,
                    env=env,
                    start_new_session=True,
                )
        finally:
            os.close(read_end)
        if running is not None:
            running.add(proc)
        exited = _wait(proc, timeout_s)
        _kill_group(proc)  # still unreaped: its pgid is ours to kill, whatever it left behind dies with it
        returncode = proc.wait()
        seconds = time.monotonic() - start
        stdout_tail, stderr_tail = _tail(out / "stdout"), _tail(out / "stderr")
        return _outcome(exited, returncode, stdout_tail, stderr_tail, nonce, timeout_s, seconds, str(root))
    finally:
        if proc is not None:
            if proc.returncode is None:  # interrupted while it ran
                _kill_group(proc)
                proc.wait()
            if running is not None:
                running.discard(proc)
        _remove(root)


def _wait(proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Whether it exited within the timeout, leaving it unreaped (a pidfd wakes us at once; no polling)."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # Linux < 5.3: Popen.wait polls, and reaps (then killpg may miss)
        try:
            proc.wait(timeout_s)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        return bool(select.select([pidfd], [], [], timeout_s)[0])
    finally:
        os.close(pidfd)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path) -> str:
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - TAIL_BYTES))
        data = f.read()
    if size > TAIL_BYTES:
        data = data.split(b"\n", 1)[-1]  # drop the partial first line
    return data.decode("utf-8", "replace")


def _outcome(
    exited: bool, rc: int, stdout: str, stderr: str, nonce: str, timeout_s: float, seconds: float, root: str
) -> Outcome:
    if exited and rc == 0 and stdout.endswith(f"\n{nonce}\n"):
        return Outcome("passed", "", seconds)
    if not exited:
        status, why = "timeout", f"timed out after {timeout_s:g} s"
    elif rc < 0:
        name = signal.Signals(-rc).name if -rc in signal.valid_signals() else str(-rc)
        status = "timeout" if -rc == signal.SIGXCPU else "crashed"
        why = f"killed by {name}" + (" (CPU time limit)" if status == "timeout" else "")
    elif rc == 0:
        status, why = "failed", "exited with code 0 before its tests finished"
    elif rc in (EXIT_MEMORY, EXIT_REFUSED, EXIT_SETUP):
        status = "crashed"
        why = {EXIT_MEMORY: "out of memory", EXIT_REFUSED: "refused by the sandbox", EXIT_SETUP: "sandbox setup"}[rc]
    else:
        status, why = "failed", f"exit code {rc}"
    lines = [line for line in stderr.replace(root + os.sep, "").splitlines() if line.strip()][-DETAIL_LINES:]
    if lines and rc > 0 and exited:  # the runner's last line: the exception, or its own account
        summary, lines = lines[-1], lines[:-1]
    else:
        summary = why
    detail = "\n".join([summary, *lines])
    return Outcome(status, detail[-DETAIL_CHARS:] if len(detail) > DETAIL_CHARS else detail, seconds)


def _remove(root: Path) -> None:
    try:
        shutil.rmtree(root)
    except OSError:  # the program made some of its directories unwritable (not root: permissions bind us)
        for path, dirs, _ in os.walk(root):
            for name in dirs:
                try:
                    os.chmod(os.path.join(path, name), 0o700)
                except OSError:
                    pass
        shutil.rmtree(root, ignore_errors=True)


class Executor:
    """A pool running programs in parallel, each in its own sandboxed subprocess (threads wait on them).

    ``with Executor(...) as ex:`` waits for what was submitted when the body ends normally; when it raises
    (KeyboardInterrupt included) pending programs are cancelled and running ones killed, so nothing leaks.
    """

    def __init__(self, workers: int = 2, timeout_s: float = 10.0, memory_mb: int = 1024):
        self.timeout_s, self.memory_mb = timeout_s, memory_mb
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval-exec")
        self._running, self._closed = _Running(), False

    def submit(self, program: str) -> concurrent.futures.Future[Outcome]:
        return self._pool.submit(_run, program, self.timeout_s, self.memory_mb, self._running)

    def close(self, cancel: bool = False) -> None:
        """Wait for submitted programs; with ``cancel``, drop pending ones and kill the running ones."""
        if self._closed:
            return
        self._closed = True
        if cancel:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._running.kill_all()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(cancel=exc_type is not None)
