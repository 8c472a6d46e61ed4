"""A real OpenAI-compatible server for tests: llama-cpp-python's (``python -m llama_cpp.server``) on a GGUF.

``start_llama_server(gguf, log_path=...)`` starts it on a free loopback port with an API key, waits until
``GET /v1/models`` answers with that key, yields a ``LlamaServer`` (base URL ``http://127.0.0.1:PORT/v1``, key,
model id) and stops the process at the end (terminate, then kill).  Its output goes to a log file, whose tail
is in the message of any startup failure.

llama-cpp-python[server] is a test dependency: where it is missing, ``require_llama_server()`` fails the test
with the reason, unless MAGICODER_NO_LLAMA_SERVER=1 says to skip the tests that need it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

LLAMA_CPP_VERSION = "0.3.36"
SKIP_ENV = "MAGICODER_NO_LLAMA_SERVER"
MODEL_ID = "magicoder-tiny"
SERVER_MODULE = "llama_cpp.server"
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 4000


@dataclass(frozen=True)
class LlamaServer:
    base_url: str  # http://127.0.0.1:PORT/v1
    api_key: str
    model: str  # the id /v1/models lists
    pid: int
    log_path: Path


def require_llama_server() -> None:
    """Fail the calling test (or skip it, under MAGICODER_NO_LLAMA_SERVER=1) without llama-cpp-python[server]."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: tests against llama-cpp-python's server are switched off")
    try:
        import llama_cpp.server.app  # noqa: F401  (the [server] extra: fastapi, uvicorn, sse-starlette)
    except ImportError as exc:
        missing = str(exc)
    else:
        return
    pytest.fail(
        f"llama-cpp-python[server]=={LLAMA_CPP_VERSION} is not importable ({missing}): run scripts/setup.sh, which "
        f"builds it once into its wheel cache, or set {SKIP_ENV}=1 to skip the tests that need it",
        pytrace=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_environment() -> dict[str, str]:
    """os.environ without what would override the command line: the server's settings are pydantic settings
    read from same-named variables, and it takes HOST, PORT and CONFIG_FILE from the environment over its options."""
    from llama_cpp.server.settings import Settings

    names = {name.upper() for name in Settings.model_fields} | {"HOST", "PORT", "CONFIG_FILE"}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _log_tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return text[-LOG_TAIL_CHARS:]


def _models(base_url: str, api_key: str, timeout: float = 2.0) -> dict:
    request = urllib.request.Request(f"{base_url}/models", headers={"Authorization": f"Bearer {api_key}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def server_command(
    gguf: Path, port: int, api_key: str, n_ctx: int, extra_args: Sequence[str] = (), module: str = SERVER_MODULE
) -> list[str]:
    """The command line (llama-cpp-python 0.3.36's option names: its pydantic settings' field names); ``module``
    runs the server (another one takes the same options, e.g. the benchmarks' instrumented one)."""
    return [
        sys.executable,
        "-m",
        module,
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_ID,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--api_key",
        api_key,
        "--n_ctx",
        str(n_ctx),
        # Deterministic and light: one thread (the same float sums every run), a fixed seed for requests
        # that sample without one, and no per-position logits buffer (n_ctx x vocab floats; logprobs need it).
        "--seed",
        "0",
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
        "--logits_all",
        "false",
        # f32 KV cache (GGML_TYPE_F32): llama.cpp's default f16 cache moves the tiny model's logits by ~3e-4 from
        # transformers', as much as a random model's top-1 margins; with f32 they agree to ~1e-6.
        "--type_k",
        "0",
        "--type_v",
        "0",
        *extra_args,
    ]


@contextlib.contextmanager
def start_llama_server(
    gguf: Path,
    *,
    log_path: Path,
    n_ctx: int = 4096,
    api_key: str | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = STARTUP_TIMEOUT_S,
    module: str = SERVER_MODULE,
) -> Iterator[LlamaServer]:
    """Run llama-cpp-python's server on ``gguf`` for the duration of the ``with`` block."""
    api_key = api_key or f"test-{secrets.token_hex(8)}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = _server_environment()
    for attempt in range(3):  # the free port can be taken between our probe and the server's bind
        port = free_port()
        base_url = f"http://127.0.0.1:{port}/v1"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                server_command(gguf, port, api_key, n_ctx, extra_args, module),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            models = _wait_ready(process, base_url, api_key, log_path, startup_timeout)
        except BaseException:
            _stop(process)
            raise
        if models is None:  # exited: address in use, retry on another port
            if attempt < 2:
                continue
            raise RuntimeError(f"llama-cpp-python's server could not bind a port:\n{_log_tail(log_path)}")
        ids = [m.get("id") for m in models.get("data", [])]
        if ids != [MODEL_ID]:
            _stop(process)
            raise RuntimeError(f"llama-cpp-python's server lists models {ids}, expected [{MODEL_ID!r}]")
        try:
            yield LlamaServer(base_url=base_url, api_key=api_key, model=MODEL_ID, pid=process.pid, log_path=log_path)
        finally:
            _stop(process)
        return


def _wait_ready(process: subprocess.Popen, base_url: str, api_key: str, log_path: Path, timeout: float) -> dict | None:
    """/v1/models's answer once the server is up; None if it exited because its port was taken."""
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            tail = _log_tail(log_path)
            if "address already in use" in tail.lower():
                return None
            raise RuntimeError(f"llama-cpp-python's server exited with {code} while starting; its log ends:\n{tail}")
        try:
            return _models(base_url, api_key)
        except urllib.error.HTTPError as exc:  # up, but refusing: waiting longer will not help
            raise RuntimeError(
                f"llama-cpp-python's server answered GET {base_url}/models with HTTP {exc.code}; "
                f"its log ends:\n{_log_tail(log_path)}"
            ) from exc
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"llama-cpp-python's server did not answer GET {base_url}/models within {timeout:.0f} s; "
                f"its log ends:\n{_log_tail(log_path)}"
            )
        time.sleep(0.1)
