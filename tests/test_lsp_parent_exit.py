"""The server over stdio ends with its editor: initialize's processId names a process that is then killed while the
test still holds the server's pipes (as a wrapper or a grandchild of a crashed editor would). The server exits
within 5 s with status 1, idle or in the middle of an Ask, without a traceback; shutdown + exit still gives 0 and
exit alone 1."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripted_editor.raw import RawServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the editor's process is not watched on Windows")
URI = "file:///work/app.py"
CODE = "# make it async\ndef fetch(url):\n    return get(url)\n"
EXIT_WITHIN_S = 5.0
TOKEN_MS = 1000  # the fake engine's time per token: its Ask answer (~20 tokens) would take ~20 s


@pytest.fixture
def editor() -> Iterator[subprocess.Popen]:
    """The stand-in for the editor's process: initialize's processId."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def stderr_path(tmp_path: Path) -> Path:
    return tmp_path / "stderr.txt"


def start(stderr_path: Path, editor_pid: int, *args: str) -> RawServer:
    with stderr_path.open("wb") as stderr:
        server = RawServer("--fake-engine", "--log-level", "WARNING", *args, stderr=stderr)
    params = {"processId": editor_pid, "rootUri": None, "capabilities": {"workspace": {"applyEdit": True}}}
    assert "result" in server.call("initialize", params)
    server.notify("initialized", {})
    server.wait_ready(timeout_s=60)
    return server


def exit_status(server: RawServer, since: float) -> tuple[int, float]:
    """The server's exit status and the seconds from ``since`` to its exit (the pipes are still held)."""
    try:
        code = server.proc.wait(timeout=EXIT_WITHIN_S + 5)
    finally:
        server.stdin.close()
        server.stdout.close()
    return code, time.monotonic() - since


def kill(editor: subprocess.Popen) -> float:
    editor.kill()
    editor.wait()  # reaped, as the editor's own parent would
    return time.monotonic()


def clean(stderr_path: Path) -> str:
    text = stderr_path.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text and "Exception" not in text, text[-3000:]
    return text


def test_the_server_exits_with_status_1_when_the_editor_dies(editor: subprocess.Popen, stderr_path: Path):
    server = start(stderr_path, editor.pid)
    code, took = exit_status(server, kill(editor))
    assert code == 1 and took < EXIT_WITHIN_S
    text = clean(stderr_path)
    assert f"the editor's process {editor.pid} has ended: exiting" in text and "did not exit within" not in text


def test_the_server_exits_in_time_while_an_ask_is_generating(editor: subprocess.Popen, stderr_path: Path):
    server = start(stderr_path, editor.pid, "--fake-token-ms", str(TOKEN_MS))
    server.notify(
        "textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": CODE}}
    )
    argument = {
        "uri": URI,
        "version": 1,
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}},
    }
    server.request("workspace/executeCommand", {"command": "magicoder.ask", "arguments": [argument]})
    deadline = time.monotonic() + 10
    while not any(
        n["params"].get("state") == "busy" for n in server.notifications if n["method"] == "magicoder/status"
    ):
        assert time.monotonic() < deadline, "the Ask never started generating"
        server._pump(0.05)
    code, took = exit_status(server, kill(editor))
    assert code == 1 and took < EXIT_WITHIN_S
    assert "did not exit within" not in clean(stderr_path)  # an orderly exit: the generation stopped, not cut off


def test_exit_after_shutdown_is_status_0_and_exit_alone_status_1(editor: subprocess.Popen, stderr_path: Path):
    server = start(stderr_path, editor.pid)
    assert server.call("shutdown")["result"] is None
    server.notify("exit")
    assert exit_status(server, time.monotonic())[0] == 0
    clean(stderr_path)
    server = start(stderr_path, editor.pid)
    server.notify("exit")
    assert exit_status(server, time.monotonic())[0] == 1
    clean(stderr_path)
    assert editor.poll() is None  # the editor's process lives on: the watch ended with the server
