"""In process: what the server keeps per message must not grow with the number of keystrokes."""

from __future__ import annotations

import asyncio

from lsp_server.fake_engine import fake_factory
from lsp_server.protocol.server import MagicoderServer

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
