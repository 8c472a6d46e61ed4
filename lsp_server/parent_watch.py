"""Watching the process that started the server (initialize's processId): when it ends, the server exits.

An editor that crashes or is killed can leave the server's pipes open (a wrapper or a grandchild still
holds them): without this the server would run on, model and all. LSP asks a server to exit when that
process is no longer alive. A daemon thread waits for it: on a pidfd where the OS has them (Linux 5.3+:
woken the moment the process ends, zombie or reaped, and never fooled by a reused pid), else by probing
it with signal 0 every ``interval`` seconds (on Windows: on the process's handle). Then it calls ``on_gone``
on the event loop, and if the process is still running ``deadline_s`` later (the loop blocked on a write
nobody reads, a thread that will not stop), ends it with status 1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0
EXIT_DEADLINE_S = 2.0  # after on_gone, for the orderly exit


def process_alive(pid: int) -> bool:
    """Whether a process exists (signal 0 checks without sending anything; POSIX only)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        return True
    return True


def _pidfd(pid: int) -> int | None:
    """A pidfd for the process, None where there are none; ProcessLookupError when it is already gone."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return opener(pid)
    except ProcessLookupError:
        raise
    except OSError:  # an old kernel, a seccomp filter
        return None


class ParentWatch:
    def __init__(
        self,
        pid: int,
        on_gone: Callable[[], None],
        loop: asyncio.AbstractEventLoop,
        interval: float = CHECK_EVERY_S,
        deadline_s: float | None = EXIT_DEADLINE_S,
    ):
        self.pid, self.on_gone, self.loop = pid, on_gone, loop
        self.interval, self.deadline_s = interval, deadline_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch-{pid}", daemon=True)

    @classmethod
    def start(
        cls,
        pid: int,
        on_gone: Callable[[], None],
        interval: float = CHECK_EVERY_S,
        deadline_s: float | None = EXIT_DEADLINE_S,
    ) -> ParentWatch | None:
        """A running watch on ``pid`` calling ``on_gone`` on the running event loop; None where it cannot watch."""
        watch = cls(pid, on_gone, asyncio.get_running_loop(), interval, deadline_s)
        watch._thread.start()
        return watch

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        if not self._wait():
            return
        log.warning("the editor's process %d has ended: exiting", self.pid)
        self.loop.call_soon_threadsafe(self.on_gone)
        if self.deadline_s is not None and not self._stop.wait(self.deadline_s):
            log.error("the server did not exit within %.0f s of its editor: ending it", self.deadline_s)
            os._exit(1)

    def _wait(self) -> bool:
        """Until the process ends (True) or the watch is stopped (False)."""
        if sys.platform == "win32":  # os.kill(pid, 0) would end the process there: wait on its handle
            return _wait_windows(self.pid, self._stop, self.interval)
        try:
            fd = _pidfd(self.pid)
        except ProcessLookupError:
            return True
        poller = select.poll()
        if fd is not None:
            poller.register(fd, select.POLLIN)  # readable once the process has ended
        try:
            while not self._stop.is_set():
                if fd is not None:
                    if poller.poll(self.interval * 1000):
                        return True
                elif not process_alive(self.pid):
                    return True
                else:
                    self._stop.wait(self.interval)
            return False
        finally:
            if fd is not None:
                os.close(fd)


if sys.platform == "win32":
    import ctypes

    _SYNCHRONIZE = 0x00100000
    _WAIT_OBJECT_0, _WAIT_TIMEOUT = 0, 0x102
    _ERROR_INVALID_PARAMETER = 87  # OpenProcess of a pid that no process has

    def _wait_windows(pid: int, stop: threading.Event, interval: float) -> bool:
        """_wait on Windows: a process handle is signalled when the process ends (a reused pid cannot fool it)."""
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(_SYNCHRONIZE, False, pid)
        if not handle:
            error = ctypes.get_last_error()
            if error == _ERROR_INVALID_PARAMETER:
                return True
            log.info("the editor's process %d cannot be watched (Windows error %d)", pid, error)
            return False
        try:
            while not stop.is_set():
                waited = kernel32.WaitForSingleObject(handle, int(interval * 1000))
                if waited == _WAIT_OBJECT_0:
                    return True
                if waited != _WAIT_TIMEOUT:
                    log.info("waiting for the editor's process %d failed: not watched", pid)
                    return False
            return False
        finally:
            kernel32.CloseHandle(handle)
