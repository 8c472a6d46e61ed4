"""llama-cpp-python's OpenAI-compatible server, instrumented for the remote benchmark.

  python -m bench.lib.counting_llama <the options of python -m llama_cpp.server>

The same server (its own command line, app and routes), with two things a client cannot see from outside:

- every generation's tokens: when it started, how many tokens it produced and when the last one came
  (``time.monotonic()``: the clock every process on the machine shares), and whether it ran to its end
  (a stop, EOS or max_tokens) or was abandoned (its client closed the stream);
- the exact bytes of each POST …/completions body, so that a benchmark can replay the request an editor's
  server sent with a bare HTTP client.

``GET /bench/state`` answers ``{"generations": [...], "bodies": [...]}`` (the last BODIES_KEPT bodies, as text).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import llama_cpp
import llama_cpp.server.__main__ as server_main

BODIES_KEPT = 64
STATE_PATH = "/bench/state"

_lock = threading.Lock()
_generations: list[dict] = []
_bodies: deque[str] = deque(maxlen=BODIES_KEPT)


def _count_tokens(generate: Callable[..., Iterator[int]]) -> Callable[..., Iterator[int]]:
    """Llama.generate, recording each generation's start, token count and last token time."""

    def counting(self: llama_cpp.Llama, *args: Any, **kwargs: Any) -> Iterator[int]:
        record: dict[str, Any] = {"started": time.monotonic(), "tokens": 0, "last_token": None, "finished": False}
        with _lock:
            _generations.append(record)
        for token in generate(self, *args, **kwargs):
            record["tokens"] += 1
            record["last_token"] = time.monotonic()
            yield token

    return counting


def _mark_finished(create: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Llama._create_completion, marking its generation finished when it runs to its end (the client got
    the last chunk): one abandoned by a closed stream is never advanced again and stays unfinished."""

    def marking(self: llama_cpp.Llama, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from create(self, *args, **kwargs)
        with _lock:
            if _generations:
                _generations[-1]["finished"] = True  # generations run one at a time (the server's lock)

    return marking


Asgi = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def _recording(app: Asgi) -> Asgi:
    """The server's ASGI app, keeping the bodies of completion requests and answering STATE_PATH."""

    async def wrapped(scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]):
        if scope.get("type") != "http":
            return await app(scope, receive, send)
        if scope.get("path") == STATE_PATH:
            with _lock:
                state = json.dumps({"generations": list(_generations), "bodies": list(_bodies)}).encode()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": state})
            return None
        if not str(scope.get("path", "")).endswith("/completions"):
            return await app(scope, receive, send)
        chunks: list[bytes] = []

        async def receive_and_keep() -> dict:
            message = await receive()
            if message.get("type") == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    _bodies.append(b"".join(chunks).decode("utf-8", "replace"))
            return message

        return await app(scope, receive_and_keep, send)

    return wrapped


def main() -> None:
    llama_cpp.Llama.generate = _count_tokens(llama_cpp.Llama.generate)  # type: ignore[method-assign,assignment]
    llama_cpp.Llama._create_completion = _mark_finished(llama_cpp.Llama._create_completion)  # type: ignore[method-assign]
    create_app = server_main.create_app
    server_main.create_app = lambda **kwargs: _recording(create_app(**kwargs))
    server_main.main()


if __name__ == "__main__":
    main()
