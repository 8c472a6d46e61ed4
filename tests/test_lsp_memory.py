"""In process: what the server keeps per message must not grow with the number of keystrokes, nor of commands."""

from __future__ import annotations

import asyncio
import json

from lsp_server.fake_engine import fake_factory
from lsp_server.protocol import create_server
from lsp_server.protocol.server import MagicoderServer
from tests.helpers.waiting import wait_until

URI = "file:///memory/example.py"


class Sink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self) -> None:
        pass


def message(server: MagicoderServer, method: str, params: dict, msg_id: int | None = None):
    data: dict[str, object] = {"jsonrpc": "2.0", "method": method, "params": params}
    if msg_id is not None:
        data["id"] = msg_id
    return server.protocol.structure_message(data)


async def test_notifications_leave_no_futures_behind():
    server = MagicoderServer(engine_factory=fake_factory)
    protocol = server.protocol
    protocol.set_writer(Sink(), include_headers=True)
    protocol.handle_message(message(server, "initialize", {"processId": None, "rootUri": None, "capabilities": {}}, 1))
    protocol.handle_message(message(server, "initialized", {}))
    protocol.handle_message(
        message(
            server,
            "textDocument/didOpen",
            {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": ""}},
        )
    )
    for version in range(2, 502):
        here = {"line": 0, "character": version - 2}
        protocol.handle_message(
            message(
                server,
                "textDocument/didChange",
                {
                    "textDocument": {"uri": URI, "version": version},
                    "contentChanges": [{"range": {"start": here, "end": here}, "text": "x"}],
                },
            )
        )
    await asyncio.sleep(0.05)
    assert server.document(URI).text.text == "x" * 500  # the changes were applied
    assert len(protocol._request_futures) < 5, len(protocol._request_futures)


async def test_commands_leave_no_tasks_behind():
    """pygls runs a command as a step of its workspace/executeCommand generator, under an id of its own that its
    answer never pops: each Ask's task (and a failed or cancelled one's frames, the document with them) stayed."""
    server = create_server(engine_factory=fake_factory)
    protocol, sink = server.protocol, Sink()
    protocol.set_writer(sink, include_headers=True)
    # No workDoneProgress capability: the model's load sends no progress request (this sink would never answer it).
    protocol.handle_message(message(server, "initialize", {"processId": None, "rootUri": None, "capabilities": {}}, 1))
    protocol.handle_message(message(server, "initialized", {}))
    text = "# double it\ndef f(x):\n    return x\n"
    document = {"uri": URI, "languageId": "python", "version": 1, "text": text}
    protocol.handle_message(message(server, "textDocument/didOpen", {"textDocument": document}))
    selection = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 12}}
    for i in range(20):  # explained (no edit to wait on), every third one refused (a stale version)
        argument = {"uri": URI, "version": 1 if i % 3 else 0, "range": selection, "task": "explain"}
        params = {"command": "magicoder.ask", "arguments": [argument], "workDoneToken": f"ask-{i}"}
        protocol.handle_message(message(server, "workspace/executeCommand", params, 100 + i))
        await asyncio.sleep(0.02)

    def answers() -> list[dict]:
        sent = [json.loads(data.split(b"\r\n\r\n", 1)[1]) for data in sink.sent]
        return [m for m in sent if "method" not in m and isinstance(m.get("id"), int) and m["id"] >= 100]

    await wait_until(lambda: len(answers()) == 20, timeout=10, what="the commands' answers")
    await asyncio.sleep(0.05)  # the tasks' done callbacks
    assert sum("error" in m for m in answers()) == 7
    assert dict(protocol._request_futures) == {}
