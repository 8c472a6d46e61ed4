"""A raw JSON-RPC connection to a magicoder-lsp process: frames written and read by hand, for the tests that send
what no client library would and for the typing-storm benchmark, which times every message."""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
SERVER = [sys.executable, "-m", "lsp_server", "--stdio", "--log-level", "ERROR"]
STATUS = "magicoder/status"


def frame(body: bytes) -> bytes:
    """A JSON-RPC body with its Content-Length header."""
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_messages(stream: IO[bytes]) -> Iterator[object]:
    """The JSON messages of a framed stream, until it ends."""
    while True:
        length = None
        while True:
            line = stream.readline()
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        yield json.loads(stream.read() if length is None else stream.read(length))  # no length: to the end


class RawServer:
    """Frames written and read by hand; server-to-client requests are answered with null."""

    def __init__(self, *args: str, stderr: int | IO[bytes] = subprocess.DEVNULL):
        self.proc = subprocess.Popen(
            [*SERVER, *args], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both are pipes
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.responses: dict[object, dict] = {}
        self.notifications: list[dict] = []
        self.unmatched: list[dict] = []  # responses with an id this side never sent (or null)
        self._incoming: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        self._sent: set[object] = set()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for message in read_messages(self.stdout):
            self._incoming.put(message)
        self._incoming.put(None)

    def write(self, body: bytes) -> None:
        self.stdin.write(frame(body))
        self.stdin.flush()

    def send(self, message: object) -> None:
        self.write(json.dumps(message).encode())

    def request(self, method: object, params: object = None, msg_id: object = None) -> object:
        msg_id = next(self._ids) if msg_id is None else msg_id
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self._sent.add(json.dumps(msg_id))
        self.send(message)
        return msg_id

    def notify(self, method: str, params: object = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})})

    def _pump(self, timeout: float) -> bool:
        try:
            message = self._incoming.get(timeout=timeout)
        except queue.Empty:
            return False
        if message is None:
            raise ConnectionError("the server closed its output")
        if "method" in message and "id" in message:  # the server asks something
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": self.answer(message)})
        elif "method" in message:
            self.notified(message)
        elif json.dumps(message.get("id")) in self._sent:
            self.responded(message)
        else:
            self.unmatched.append(message)
        return True

    # What a subclass may change: the answer to the server's requests and where its messages are kept.
    def answer(self, request: dict) -> object:
        """The result for a request from the server (here null, whatever it asks)."""
        return None

    def notified(self, message: dict) -> None:
        self.notifications.append(message)

    def responded(self, message: dict) -> None:
        self.responses[json.dumps(message.get("id"))] = message

    def wait(self, msg_id: object, timeout: float = 10.0) -> dict:
        key, deadline = json.dumps(msg_id), time.monotonic() + timeout
        while key not in self.responses:
            if not self._pump(max(0.0, deadline - time.monotonic())) and time.monotonic() >= deadline:
                raise TimeoutError(f"no response to request {msg_id!r} within {timeout} s")
        return self.responses.pop(key)

    def wait_unmatched(self, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while not self.unmatched:
            if not self._pump(max(0.0, deadline - time.monotonic())) and time.monotonic() >= deadline:
                raise TimeoutError("no response with an unknown id")
        return self.unmatched.pop(0)

    def call(self, method: str, params: object = None, timeout: float = 10.0) -> dict:
        return self.wait(self.request(method, params), timeout)

    def wait_ready(self, timeout_s: float = 300.0, settled_s: float = 0.5) -> None:
        """Until the server's magicoder/status has said "ready" (the model loaded, or the remote server reached) for
        ``settled_s`` with nothing newer (an API key sent after initialize makes it connect again); an "error"
        status raises RuntimeError with its message."""
        deadline = time.monotonic() + timeout_s
        ready_at: float | None = None
        while time.monotonic() < deadline:
            states = [n["params"] for n in self.notifications if n.get("method") == STATUS]
            last = states[-1] if states else {}
            if last.get("state") == "error":
                raise RuntimeError(f"the server reports an error: {last.get('message')}")
            if last.get("state") != "ready":
                ready_at = None
            elif ready_at is None:
                ready_at = time.monotonic()
            elif time.monotonic() - ready_at >= settled_s:
                return
            self._pump(0.05)
        raise TimeoutError(f"the server was not ready within {timeout_s:.0f} s")

    def initialize(self, options: object = None, capabilities: dict | None = None) -> dict:
        params: dict[str, object] = {"processId": None, "rootUri": None, "capabilities": capabilities or {}}
        if options is not None:
            params["initializationOptions"] = options
        response = self.call("initialize", params)
        self.notify("initialized", {})
        return response

    def close(self) -> int | None:
        try:
            if self.proc.poll() is None:
                self.call("shutdown", timeout=5)
                self.notify("exit")
            return self.proc.wait(timeout=10)
        except (OSError, TimeoutError, ConnectionError):
            self.proc.kill()
            return self.proc.wait(timeout=10)
        finally:
            self.stdin.close()
            self.stdout.close()
