"""Watching the editor's process (ParentWatch): a process that ends, or had already ended, is noticed at once
(pidfd) or within one probe (signal 0, where there are no pidfds); stop() ends the watch; a server that does not
exit in time is ended with status 1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest

from lsp_server import parent_watch
from lsp_server.parent_watch import ParentWatch, process_alive
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the editor's process is not watched on Windows")
INTERVAL = 0.05
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@contextmanager
def sleeper() -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(SLEEPER)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(params=["pidfd", "probe"])
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test runs with pidfds (where the OS has them) and with signal-0 probes."""
    if request.param == "pidfd":
        if getattr(parent_watch.os, "pidfd_open", None) is None:
            pytest.skip("this OS has no pidfds (Linux 5.3+)")
        yield "pidfd"
    else:
        with mock.patch.object(parent_watch, "_pidfd", return_value=None):
            yield "probe"


async def watch(pid: int) -> tuple[ParentWatch, asyncio.Event]:
    gone = asyncio.Event()
    started = ParentWatch.start(pid, gone.set, interval=INTERVAL, deadline_s=None)
    assert started is not None
    return started, gone


async def test_a_process_that_ends_is_noticed_promptly(mode: str):
    with sleeper() as proc:
        watcher, gone = await watch(proc.pid)
        await asyncio.sleep(3 * INTERVAL)
        assert not gone.is_set() and watcher._thread.is_alive()
        proc.kill()
        proc.wait()  # reaped, as the editor's own parent would
        ended = time.monotonic()
        await asyncio.wait_for(gone.wait(), timeout=2)
        assert time.monotonic() - ended < 1
    watcher._thread.join(timeout=2)
    assert not watcher._thread.is_alive()


async def test_a_process_already_gone_is_noticed_at_once(mode: str):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not process_alive(proc.pid)
    _, gone = await watch(proc.pid)
    await asyncio.wait_for(gone.wait(), timeout=1)


async def test_stop_ends_the_watch_without_calling_on_gone(mode: str):
    with sleeper() as proc:
        watcher, gone = await watch(proc.pid)
        watcher.stop()
        watcher._thread.join(timeout=1 + INTERVAL)
        assert not watcher._thread.is_alive()
    await asyncio.sleep(3 * INTERVAL)  # the process has ended meanwhile: nobody is told
    assert not gone.is_set()


def test_a_server_that_does_not_exit_in_time_is_ended_with_status_1():
    """on_gone does nothing here (as a loop stuck on a write nobody reads): the process ends all the same."""
    script = (
        "import asyncio, subprocess, sys\n"
        "from lsp_server.parent_watch import ParentWatch\n"
        "async def main():\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'pass'])\n"
        "    child.wait()\n"
        "    ParentWatch.start(child.pid, lambda: print('told', flush=True), interval=0.05, deadline_s=0.3)\n"
        "    await asyncio.sleep(30)\n"
        "asyncio.run(main())\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and done.stdout == "told\n", done.stderr
    assert time.monotonic() - started < 10 and "did not exit within" in done.stderr


def test_process_alive():
    assert process_alive(1) and process_alive(parent_watch.os.getpid())
