"""A small OpenAI-compatible HTTP server that answers from a script and injects faults on demand.

For the remote backend's fault tests (it does not replace the real server the suite also runs). It speaks
HTTP/1.1 with keep-alive and chunked SSE like vLLM: GET /v1/models, POST /v1/completions (stream: true),
POST /tokenize. ``fault`` makes every later request fail in one way (see FAULTS); ``answer`` scripts the
text, which streams one token (``split``) per event and ends like a real server's at ``stop`` or ``max_tokens``
(see ``generate``); every request is recorded with its headers and body, and a stream the client closed is recorded
with the time it was noticed.

Run alone (the editor tests point code-server at it): ``python -m tests.helpers.openai_fake --port P --log F``
(``--key K``: requests without that API key get 401). It prints its base URL, then logs one JSON line per
request to F, the Authorization header included (the key is a test fixture).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODEL = "magicoder-fake"
FAULTS = (
    "401",
    "403",
    "404-model",
    "400",
    "429",
    "503",
    "500",
    "html",
    "cut",
    "malformed",
    "no-done",
    "hang",
    "redirect",
)


def default_answer(prompt: str) -> str:
    return "print('remote')\n"


def three_characters(text: str) -> list[str]:
    """The default tokens: three characters each."""
    return [text[i : i + 3] for i in range(0, len(text), 3)]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None
    at: float = field(default_factory=time.monotonic)
    closed_at: float | None = None  # when the server noticed the client had closed the stream
    events_sent: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that close their streams early are the point of several tests


class FakeOpenAI:
    def __init__(
        self,
        key: str | None = None,
        token_s: float = 0.0,
        answer: Callable[[str], str] = default_answer,
        port: int = 0,
    ):
        self.key, self.token_s, self.answer = key, token_s, answer
        self.split: Callable[[str], list[str]] = three_characters  # the answer's tokens: one streamed event each
        self.fault: str | None = None
        self.retry_after = "1"
        self.models: list[dict] = [{"id": MODEL, "object": "model", "max_model_len": 4096}]
        self.tokenize: Callable[[str], list[int]] | None = None  # None: no tokenize endpoint (404)
        self.seen: list[Seen] = []
        self.log: Path | None = None
        self._server = _Server(("127.0.0.1", port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def completions(self) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith("/completions")]

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def generate(self, body: dict) -> tuple[list[str], str]:
        """The events' texts and the finish reason, as vLLM and llama.cpp's servers end a generation.

        The answer stops before the first of ``stop`` (the stop string is not sent: finish_reason "stop"), or
        after ``max_tokens`` tokens (finish_reason "length"; default 16, null: no limit). Ending needs one more
        token (the end of sequence or the one holding the stop string), so an answer of exactly ``max_tokens``
        tokens is cut too. An empty answer is one event with no text.
        """
        text = self.answer(str(body.get("prompt", "")))
        stops = body.get("stop") or []
        for stop in [stops] if isinstance(stops, str) else stops:
            text = text.split(stop, 1)[0] if stop else text
        pieces = [piece for piece in self.split(text) if piece]
        limit = body.get("max_tokens", 16)
        if limit is not None and len(pieces) >= int(limit):
            return pieces[: int(limit)] or [""], "length"
        return pieces or [""], "stop"

    def record(self, seen: Seen) -> None:
        self.seen.append(seen)
        if self.log is not None:
            body = seen.body or {}
            entry = {
                "method": seen.method,
                "path": seen.path,
                "authorization": seen.headers.get("authorization"),
                "max_tokens": body.get("max_tokens"),
                "prompt": body.get("prompt"),
            }
            with self.log.open("a") as out:
                out.write(json.dumps(entry) + "\n")


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        # -- plumbing ------------------------------------------------------------------------
        def _seen(self) -> Seen:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            fake.record(seen)
            return seen

        def _send(self, status: int, body: bytes, kind: str = "application/json", **headers: str) -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: object, **headers: str) -> None:
            self._send(status, json.dumps(data).encode(), **headers)

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _fault(self) -> bool:
            """Answer with the injected fault; False when there is none (or it is a streaming one)."""
            fault = fake.fault
            statuses = {"401": 401, "403": 403, "400": 400, "500": 500}
            if fault in statuses:
                self._json(statuses[fault], {"error": {"message": f"injected {fault}", "type": "fake"}})
            elif fault == "404-model":
                self._json(404, {"object": "error", "message": "The model `x` does not exist.", "code": 404})
            elif fault in ("429", "503"):
                self._json(int(fault), {"error": {"message": "busy"}}, retry_after=fake.retry_after)
            elif fault == "html":
                self._send(200, b"<!doctype html><html><body>Sign in</body></html>", "text/html; charset=utf-8")
            elif fault == "redirect":
                self._send(302, b"", "text/plain", location="https://elsewhere.example/v1/completions")
            else:
                return False
            if fault in ("429", "503"):
                fake.fault = None  # busy once: a patient client's retry gets through
            return True

        # -- endpoints -----------------------------------------------------------------------
        def do_GET(self) -> None:
            seen = self._seen()
            if fake.key and seen.headers.get("authorization") != f"Bearer {fake.key}":
                return self._json(401, {"error": {"message": "invalid api key"}})
            if seen.path.rstrip("/").endswith("/v1/models"):
                return self._json(200, {"object": "list", "data": fake.models})
            self._json(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            seen = self._seen()
            if fake.key and seen.headers.get("authorization") != f"Bearer {fake.key}":
                return self._json(401, {"error": {"message": "invalid api key"}})
            if seen.path == "/tokenize" and fake.tokenize is not None and seen.body:
                return self._json(200, {"tokens": fake.tokenize(str(seen.body.get("prompt", "")))})
            if not seen.path.endswith("/v1/completions"):
                return self._json(404, {"detail": "Not Found"})
            if self._fault():
                return
            assert seen.body is not None
            if "suffix" in seen.body:
                return self._json(400, {"error": {"message": "suffix is not currently supported"}})
            self._stream(seen)

        def _stream(self, seen: Seen) -> None:
            pieces, finish = fake.generate(seen.body or {})
            model = str((seen.body or {}).get("model") or MODEL)  # as vLLM, the model asked for
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                if fake.fault == "hang":
                    time.sleep(3600)
                for i, piece in enumerate(pieces):
                    if fake.fault == "cut" and i == 2:
                        self.wfile.flush()
                        self.connection.shutdown(2)  # mid-answer, no final chunk
                        return
                    last = i == len(pieces) - 1
                    done = last and fake.fault != "no-done"  # no-done: [DONE] without a finish_reason (superseded)
                    choice = {"index": 0, "text": piece, "finish_reason": finish if done else None}
                    event = {"id": "cmpl-1", "object": "text_completion", "model": model, "choices": [choice]}
                    data = b"data: {not json\n\n" if fake.fault == "malformed" and i == 1 else None
                    self._chunk(data or f"data: {json.dumps(event)}\n\n".encode())
                    seen.events_sent += 1
                    if fake.token_s:
                        time.sleep(fake.token_s)
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")
            except (BrokenPipeError, ConnectionResetError):
                seen.closed_at = time.monotonic()
                self.close_connection = True

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="A scripted OpenAI-compatible server for tests")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--log", type=Path, help="one JSON line per request (method, path, authorization, max_tokens, prompt)"
    )
    parser.add_argument("--key", help="the API key it requires (401 without it); default: none")
    args = parser.parse_args()
    fake = FakeOpenAI(key=args.key, port=args.port)
    fake.log = args.log
    print(fake.url, flush=True)
    fake._server.serve_forever()


if __name__ == "__main__":
    main()
