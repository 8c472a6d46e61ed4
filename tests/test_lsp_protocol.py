"""JSON-RPC / LSP conformance over raw frames: what pygls 2.1.1 alone gets wrong, and --tcp's binding.

pygls 2.1.1 drops a request whose params fail to deserialize (no response: the client waits
forever), ignores requests after shutdown, runs requests before initialize and says nothing
about frames that are not JSON. The server answers all of them.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from lsp_server.cli import DEFAULT_HOST, _parser
from lsp_server.protocol.stdio import HEADER_LIMIT, PipeReader, pipe_readable
from scripted_editor.raw import ROOT, SERVER, RawServer, frame, read_messages

URI = "file:///work/app.py"
VALID = {
    "textDocument": {"uri": URI},
    "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
    "context": {"diagnostics": []},
}


@pytest.fixture
def server():
    raw = RawServer("--fake-engine")
    yield raw
    raw.close()


def error_code(response: dict) -> int | None:
    return response.get("error", {}).get("code")


def open_doc(server: RawServer, text: str = "# double it\ndef f(x):\n    return x\n") -> None:
    server.notify(
        "textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": text}}
    )


def test_before_initialize_requests_get_server_not_initialized(server: RawServer):
    assert error_code(server.call("textDocument/codeAction", VALID)) == -32002
    assert error_code(server.call("textDocument/hover", {})) == -32002  # malformed too: still -32002
    open_doc(server)  # a notification before initialize is dropped
    server.initialize()
    response = server.call("textDocument/codeAction", VALID)
    assert error_code(response) == -32602 and "not open" in response["error"]["message"]


def test_malformed_params_get_invalid_params_and_the_server_keeps_serving(server: RawServer):
    server.initialize()
    open_doc(server)
    bad = [
        {"textDocument": 5},
        [],
        "text",
        {**VALID, "range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}},
        {**VALID, "range": {"start": {"line": 2**40, "character": 0}, "end": {"line": 0, "character": 0}}},
    ]
    for params in bad:
        msg_id = server.request("textDocument/codeAction", params)
        response = server.wait(msg_id)
        assert response["id"] == msg_id and error_code(response) == -32602, response
    assert error_code(server.call("textDocument/inlineCompletion", {"textDocument": {"uri": URI}})) == -32602
    assert error_code(server.call("workspace/executeCommand", {"command": 7})) == -32602
    assert server.call("textDocument/codeAction", VALID)["result"] == []


def test_frames_that_are_not_requests_are_answered_with_id_null(server: RawServer):
    server.initialize()
    server.write(b"{not json")
    response = server.wait_unmatched()
    assert response["id"] is None and error_code(response) == -32700
    server.write(b'{"jsonrpc": "2.0", "id": 1, "method": "x"')
    response = server.wait_unmatched()
    assert response["id"] is None and error_code(response) == -32700
    server.send([1, 2])
    assert error_code(server.wait_unmatched()) == -32600
    server.send({"id": 99, "method": "textDocument/codeAction", "params": VALID})  # no "jsonrpc"
    response = server.wait_unmatched()
    assert response["id"] == 99 and error_code(response) == -32600
    server.send({"jsonrpc": "2.0", "id": {"a": 1}, "method": "textDocument/codeAction", "params": VALID})
    response = server.wait_unmatched()
    assert response["id"] is None and error_code(response) == -32600
    assert error_code(server.call("magicoder/unknown", {})) == -32601
    assert server.call("textDocument/codeAction", VALID)["error"]["message"].endswith("is not open")
    assert server.proc.poll() is None


def test_a_malformed_answer_to_the_servers_request_fails_it_cleanly(server: RawServer):
    """The raw client answers workspace/applyEdit with null, which is not an ApplyWorkspaceEditResult."""
    server.initialize()
    open_doc(server)
    argument = {
        "uri": URI,
        "version": 1,
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 12}},
    }
    response = server.call("workspace/executeCommand", {"command": "magicoder.ask", "arguments": [argument]})
    assert response["result"]["applied"] is False and "the editor answered" in response["result"]["reason"]


def test_after_shutdown_requests_are_refused_and_exit_ends_the_process(server: RawServer):
    server.initialize()
    assert error_code(server.call("initialize", {"capabilities": {}})) == -32600  # only once
    done = server.call("shutdown")
    assert "error" not in done and done["result"] is None
    refused = server.call("textDocument/codeAction", VALID)
    assert error_code(refused) == -32600 and "shutting down" in refused["error"]["message"]
    server.notify("exit")
    assert server.proc.wait(timeout=10) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) listening on a port."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if Path(table).exists():
            for row in Path(table).read_text().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "0A" and int(local.split(":")[1], 16) == port:
                    found.append(local.split(":")[0])
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the listening sockets from Linux's /proc/net/tcp")
def test_tcp_listens_on_the_loopback_address_only_by_default():
    assert _parser().parse_args(["--tcp"]).host == DEFAULT_HOST == "127.0.0.1"
    assert _parser().parse_args(["--tcp", "--host", "0.0.0.0"]).host == "0.0.0.0"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsp_server", "--tcp", "--port", str(port), "--fake-engine"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening_addresses(port):
            assert time.monotonic() < deadline and proc.poll() is None, "the server did not listen"
            time.sleep(0.05)
        assert _listening_addresses(port) == ["0100007F"]  # 127.0.0.1
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            body = b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}'
            conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            assert b'"capabilities"' in conn.recv(65536)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_pipes_and_sockets_are_read_by_the_event_loop_files_and_shared_streams_are_not(tmp_path):
    read_end, unused_write = os.pipe()
    unused_read, write_end = os.pipe()  # another pipe, as an editor starts the server
    os.close(unused_write)
    os.close(unused_read)
    left, right = socket.socketpair()
    with (
        open(read_end, "rb") as pipe_in,
        open(write_end, "wb") as pipe_out,
        left,
        right,
        open(tmp_path / "f", "wb+") as file,
    ):
        assert pipe_readable(pipe_in, pipe_out)
        assert pipe_readable(left.makefile("rb"), pipe_out)  # a socket
        assert not pipe_readable(file, pipe_out)  # asyncio cannot watch a regular file
        assert not pipe_readable(left.makefile("rb"), left.makefile("wb"))  # non-blocking would hit stdout too
        assert not pipe_readable(io.BytesIO(), pipe_out)  # no file behind it


def test_the_pipe_reader_reads_frames_and_skips_an_overlong_header_line():
    read_end, write_end = os.pipe()

    async def read_all() -> list[bytes]:
        reader = PipeReader(open(read_end, "rb"))
        return [
            await reader.readline(),
            await reader.readline(),
            await reader.readline(),
            await reader.readexactly(2),
            await reader.readexactly(5),
            await reader.readline(),
        ]

    def write() -> None:
        with open(write_end, "wb") as out:
            out.write(b"x" * (HEADER_LIMIT + 10) + b"\r\nContent-Length: 2\r\n\r\n{}abc")

    writer = threading.Thread(target=write)
    writer.start()
    lines = asyncio.run(read_all())
    writer.join()
    assert lines[0].startswith(b"X-Skipped") and lines[1] == b"Content-Length: 2\r\n" and lines[2] == b"\r\n"
    assert lines[3:] == [b"{}", b"abc", b""]  # the input ended: a short read, then b"" (as pygls' reader)


def test_stdin_from_a_file_is_served_too():
    """A regular file cannot be watched by asyncio: pygls' own reader serves it, to the end."""
    frames = b"".join(
        frame(json.dumps(m).encode())
        for m in (
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
            {"jsonrpc": "2.0", "method": "initialized", "params": {}},
            {"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": VALID},
            {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"},
        )
    )
    with tempfile.TemporaryFile() as stdin:
        stdin.write(frames)
        stdin.seek(0)
        done = subprocess.run([*SERVER, "--fake-engine"], cwd=ROOT, stdin=stdin, capture_output=True, timeout=60)
    answers = {m.get("id"): m for m in read_messages(io.BytesIO(done.stdout))}
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert "capabilities" in answers[1]["result"] and answers[3]["result"] is None
    assert answers[2]["error"]["message"].endswith("is not open")
