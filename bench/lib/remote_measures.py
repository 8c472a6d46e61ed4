"""The remote benchmark's measures: the LSP server (backend openai) against an instrumented llama-cpp-python
server (bench.lib.counting_llama), whose /bench/state says what it generated and what it was sent."""

from __future__ import annotations

import json
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.lib.server_watch import logged_ms
from bench.typing_storm import URI, TimedServer, Typist, ready_server, settle, storm
from tests.helpers.llama_server import LlamaServer

REQUEST_CANCELLED = -32800
PAUSE_S = 0.25  # between requests: longer than the server's 150 ms debounce, so none waits for typing to pause
STATE_TIMEOUT_S = 5.0
ANSWER_TIMEOUT_S = 60.0
CANCEL_AFTER_TOKENS = 16  # a generation is cancelled once the server has produced this many tokens
LONG_ANSWER_TOKENS = 400  # inline completions' max_new_tokens while cancelling: longer than any cancel waits


@dataclass(frozen=True)
class Remote:
    """The llama-cpp-python server under test and the settings that point the LSP server at it."""

    server: LlamaServer
    tokenizer: Path

    @property
    def root(self) -> str:
        return self.server.base_url.rsplit("/v1", 1)[0]

    def settings(self, **extra: object) -> dict:
        return {"backend": "openai", "endpoint": self.server.base_url, "tokenizer": str(self.tokenizer), **extra}

    def key_notification(self) -> tuple[str, dict]:
        parts = urlsplit(self.server.base_url)
        return ("magicoder/apiKey", {"origin": f"{parts.scheme}://{parts.netloc}", "key": self.server.api_key})

    def lsp_server(self, **settings: object) -> TimedServer:
        return ready_server((), self.settings(**settings), [self.key_notification()])

    def state(self, http: httpx.Client) -> dict:
        """What the server generated (one record per generation) and the last completion bodies it was sent."""
        return http.get(f"{self.root}/bench/state", timeout=STATE_TIMEOUT_S).json()

    def raw_completion(self, http: httpx.Client, body: bytes) -> float:
        """POST ``body`` to /v1/completions with a bare HTTP client and read the stream to its end: seconds."""
        headers = {"Authorization": f"Bearer {self.server.api_key}", "Content-Type": "application/json"}
        start = time.perf_counter()
        with http.stream("POST", f"{self.server.base_url}/completions", content=body, headers=headers) as response:
            response.raise_for_status()
            for _ in response.iter_bytes():
                pass
        return time.perf_counter() - start


def stdlib_sources(count: int) -> list[tuple[str, str]]:
    """``count`` real modules of the standard library, each split where a new function is begun in its middle:
    (text before the cursor, text after)."""
    sources = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        middle = next((i for i in range(len(lines) // 2, len(lines)) if lines[i].startswith("def ")), None)
        if middle is None or len(lines) < 200:
            continue
        before = "".join(lines[:middle]) + "def helper(items):\n    "
        sources.append((before, "\n\n\n" + "".join(lines[middle:])))
        if len(sources) == count:
            break
    return sources


def open_at_end(server: TimedServer, uri: str, before: str, after: str) -> dict:
    """Open a document and return the inline-completion params at the cursor (the end of ``before``)."""
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": before + after}},
    )
    line, col = before.count("\n"), len(before) - before.rfind("\n") - 1
    return {
        "textDocument": {"uri": uri},
        "position": {"line": line, "character": col},
        "context": {"triggerKind": 1},
    }


def lsp_completion(server: TimedServer, params: dict) -> tuple[float, dict]:
    """One inline completion over LSP: seconds from the request's write to its answer's arrival, and the answer."""
    time.sleep(PAUSE_S)
    at = time.perf_counter()
    reply = server.wait(server.request("textDocument/inlineCompletion", params), timeout=ANSWER_TIMEOUT_S)
    return reply["_received"] - at, reply


def logged_timings(server: TimedServer, since: int) -> tuple[float, float] | None:
    """(the HTTP stream's time as the server measured it: TTFT + decode, the server's total) from its log line for
    the first completion answered after notification number ``since``."""
    server._pump(0.05)
    lines = [n["params"]["message"] for n in server.notifications[since:] if n.get("method") == "window/logMessage"]
    return next(filter(None, map(logged_ms, lines)), None)


def overhead_pairs(remote: Remote, http: httpx.Client, pairs: int) -> dict:
    """Per prompt: the LSP completion once to learn the exact body it sends (and leave the server's prompt cache
    as every later call finds it), then the LSP call and the same body from a bare client, in alternating order.
    Greedy and one request at a time: both calls run the same generation on the same cache state."""
    server = remote.lsp_server()
    lsp_ms, raw_ms, diffs, same_body = [], [], [], 0
    in_server: list[float] = []  # the server's total minus its HTTP stream's time
    outside: list[float] = []  # end to end minus the server's total: stdio, JSON-RPC, the client library
    stream: list[float] = []  # the HTTP stream as the server timed it (TTFT + decode)
    for i, (before, after) in enumerate(stdlib_sources(pairs)):
        params = open_at_end(server, f"file:///remote-bench/m{i}.py", before, after)
        lsp_completion(server, params)
        body = remote.state(http)["bodies"][-1].encode()
        timed: dict[str, float] = {}
        for kind in ("lsp", "raw") if i % 2 == 0 else ("raw", "lsp"):
            if kind == "lsp":
                since = len(server.notifications)
                seconds, reply = lsp_completion(server, params)
                assert "error" not in reply, reply
                timed[kind] = seconds
                logged = logged_timings(server, since)
                if logged is not None:  # where the overhead goes: in the server around the stream, and outside
                    stream_ms, total_ms = logged
                    in_server.append(total_ms - stream_ms)
                    outside.append(seconds * 1000 - total_ms)
                    stream.append(stream_ms)
            else:
                time.sleep(PAUSE_S)
                timed[kind] = remote.raw_completion(http, body)
        same_body += remote.state(http)["bodies"][-2:].count(body.decode())
        lsp_ms.append(timed["lsp"] * 1000)
        raw_ms.append(timed["raw"] * 1000)
        diffs.append((timed["lsp"] - timed["raw"]) * 1000)
    server.close()
    return {
        "lsp_ms": lsp_ms,
        "raw_ms": raw_ms,
        "overhead_ms": diffs,
        "same_body": same_body,
        "pairs": len(diffs),
        "in_server_ms": in_server,
        "outside_ms": outside,
        "stream_ms": stream,
    }


def wait_for_tokens(remote: Remote, http: httpx.Client, generations_before: int, tokens: int) -> dict:
    """The newest generation's record once it has produced ``tokens`` tokens (or has ended)."""
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while time.monotonic() < deadline:
        found = remote.state(http)["generations"]
        if len(found) > generations_before and (found[-1]["tokens"] >= tokens or found[-1]["finished"]):
            return found[-1]
        time.sleep(0.002)
    raise TimeoutError("the server started no generation")


def probe_ms(remote: Remote, http: httpx.Client, body: bytes) -> float:
    return remote.raw_completion(http, body) * 1000


def cancel_trials(remote: Remote, http: httpx.Client, trials: int) -> dict:
    """Inline completions with a long answer, each cancelled ($/cancelRequest) once the server has generated
    CANCEL_AFTER_TOKENS tokens. Per trial: cancel → the LSP answer, cancel → the server's last token, the tokens
    it generated after the cancel, and a one-token request sent right after the answer (it would queue behind a
    generation still running: the server runs one at a time) against the same request on an idle server."""
    server = remote.lsp_server(inlineMaxNewTokens=LONG_ANSWER_TOKENS)
    probe = json.dumps(
        {"model": remote.server.model, "prompt": "def f(x):", "max_tokens": 1, "temperature": 0, "stream": True}
    ).encode()
    rows = []
    for i, (before, after) in enumerate(stdlib_sources(trials)):
        params = open_at_end(server, f"file:///remote-bench/c{i}.py", before, after)
        idle_probe = probe_ms(remote, http, probe)
        time.sleep(PAUSE_S)
        generations_before = len(remote.state(http)["generations"])
        msg_id = server.request("textDocument/inlineCompletion", params)
        seen = wait_for_tokens(remote, http, generations_before, CANCEL_AFTER_TOKENS)
        cancelled_at, cancelled_perf = time.monotonic(), time.perf_counter()
        server.notify("$/cancelRequest", {"id": msg_id})
        reply = server.wait(msg_id, timeout=ANSWER_TIMEOUT_S)
        after_probe = probe_ms(remote, http, probe)
        time.sleep(0.2)
        record = remote.state(http)["generations"][generations_before]
        rows.append(
            {
                "answer_ms": (reply["_received"] - cancelled_perf) * 1000,
                "answer": "cancelled" if reply.get("error", {}).get("code") == REQUEST_CANCELLED else "other",
                "server_stop_ms": max(0.0, (record["last_token"] - cancelled_at) * 1000),
                "tokens_after_cancel": record["tokens"] - seen["tokens"],
                "tokens": record["tokens"],
                "ran_to_end": record["finished"],
                "probe_idle_ms": idle_probe,
                "probe_after_cancel_ms": after_probe,
            }
        )
    server.close()
    return {"trials": rows}


def storm_on_remote(
    remote: Remote, http: httpx.Client, keystrokes: int, rate: float, burst: int, pause_s: float
) -> dict:
    """The typing storm (bench.typing_storm) with backend openai: what the editor saw, and what the server
    generated meanwhile: generations run to their end, abandoned ones (a cancelled request's closed stream)
    and the tokens those produced."""
    server = remote.lsp_server()
    typist = Typist(server)
    generations_before = len(remote.state(http)["generations"])
    seen = storm(typist, keystrokes, rate, burst, pause_s)
    statuses = settle(server)
    time.sleep(0.5)
    generations = remote.state(http)["generations"][generations_before:]
    lsp_alive = server.proc.poll() is None
    server.close()
    abandoned = [g for g in generations if not g["finished"]]
    return {
        **seen,
        "uri": URI,
        "last_status": statuses[-1] if statuses else None,
        "lsp_alive": lsp_alive,
        "generations": len(generations),
        "generations_finished": len(generations) - len(abandoned),
        "generations_abandoned": len(abandoned),
        "tokens_finished": sum(g["tokens"] for g in generations if g["finished"]),
        "tokens_abandoned": sum(g["tokens"] for g in abandoned),
    }
