"""The HTTP side of the remote engine: an OpenAI-compatible server's /v1/models, /v1/completions (SSE)
and tokenize endpoints, through one keep-alive connection pool, with every fault turned into one
RemoteError whose message names the endpoint and what to fix.

httpx: one API for the server's async pool and for tools that want a plain blocking call, the system
proxies (HTTP(S)_PROXY, NO_PROXY) and any ssl.SSLContext (truststore's, for the system's CAs); SSE events
are parsed by httpx-sse. Redirects are never followed: a redirect must not carry the key elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from .api import EngineError
from .endpoint import ApiKeys, Endpoint

# Why a request failed (RemoteError.cause): one user message per cause.
UNREACHABLE, DNS, TLS, AUTH, NO_MODEL, NOT_FOUND, BAD_REQUEST, BUSY, SERVER, TIMEOUT, CUT, MALFORMED, NOT_API = (
    "unreachable",
    "dns",
    "tls",
    "auth",
    "no-model",
    "not-found",
    "bad-request",
    "busy",
    "server",
    "timeout",
    "cut",
    "malformed",
    "not-api",
)
DNS_SIGNS = (
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo",
)
ERROR_BODY_LIMIT = 4096  # bytes of an error answer read for its message
TOKENIZE_TIMEOUT_S = 10.0


class RemoteError(EngineError):
    """A request to the remote server failed; ``cause`` is one of the causes above."""

    def __init__(self, message: str, cause: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.cause, self.status, self.retry_after = cause, status, retry_after


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 10.0
    read_s: float = 120.0  # the longest wait for the next event (a long prompt's prefill on a busy server)


def _server_message(body: bytes) -> str:
    """The error text an OpenAI-compatible server put in its answer (vLLM, llama.cpp, OpenAI shapes)."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:200]
    if isinstance(data, dict):
        error = data.get("error")
        for found in (
            error.get("message") if isinstance(error, dict) else error,
            data.get("message"),
            data.get("detail"),
        ):
            if isinstance(found, str) and found:
                return found[:300]
            if isinstance(found, list) and found:
                return "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in found)[
                    :300
                ]
    return " ".join(text.split())[:200]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: not worth waiting for


class OpenAIClient:
    """One endpoint, one connection pool. ``key`` is looked up per request: it can change while serving."""

    def __init__(self, endpoint: Endpoint, keys: ApiKeys, tls: ssl.SSLContext, timeouts: Timeouts = Timeouts()):
        self.endpoint, self.keys, self.timeouts = endpoint, keys, timeouts
        timeout = httpx.Timeout(timeouts.read_s, connect=timeouts.connect_s)
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=8, keepalive_expiry=60.0)
        self.http = httpx.AsyncClient(
            verify=tls, timeout=timeout, limits=limits, follow_redirects=False, trust_env=True
        )

    def _headers(self) -> dict[str, str]:
        key = self.keys.for_origin(self.endpoint.origin)
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- faults ----------------------------------------------------------------------------
    def fault(self, exc: Exception) -> RemoteError:
        """A transport exception as the RemoteError the user sees."""
        where = self.endpoint.base
        text = f"{exc} {exc.__cause__ or ''}".lower()
        if isinstance(exc, httpx.ConnectError) and any(sign in text for sign in DNS_SIGNS):
            return RemoteError(
                f"cannot find the host {self.endpoint.host} of {where}: check magicoder.endpoint and your network", DNS
            )
        if isinstance(exc, httpx.ConnectError) and ("certificate" in text or "ssl" in text):
            return RemoteError(
                f"the TLS connection to {where} failed ({exc}): if the server uses your own CA, set magicoder.caBundle "
                "to its certificate",
                TLS,
            )
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError)):
            return RemoteError(
                f"cannot reach {where} ({exc or type(exc).__name__}): is the server running, and is magicoder.endpoint "
                "right?",
                UNREACHABLE,
            )
        if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
            return RemoteError(
                f"{where} sent nothing for {self.timeouts.read_s:g} s: the server may be overloaded; nothing was "
                "changed",
                TIMEOUT,
            )
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return RemoteError(f"the answer from {where} was cut off ({exc}); nothing was changed", CUT)
        return RemoteError(f"the request to {where} failed: {exc or type(exc).__name__}", SERVER)

    async def check(self, response: httpx.Response, model: str = "") -> None:
        """Raise the RemoteError for a response that is not a usable answer."""
        status, where = response.status_code, self.endpoint.base
        if status == 200:
            kind = response.headers.get("content-type", "")
            if "text/html" in kind:
                raise RemoteError(
                    f"{where} answered with a web page, not the OpenAI API: check magicoder.endpoint (it usually ends "
                    "in /v1)",
                    NOT_API,
                    status,
                )
            return
        body = await response.aread() if not response.is_stream_consumed else b""
        message = _server_message(body[:ERROR_BODY_LIMIT])
        if 300 <= status < 400:
            raise RemoteError(
                f"{where} redirects to {response.headers.get('location', '?')} (HTTP {status}): set magicoder.endpoint "
                "to that address (redirects are not followed, so the API key never goes elsewhere)",
                NOT_FOUND,
                status,
            )
        if status in (401, 403):
            has_key = bool(self._headers())
            what = "refused the API key" if has_key else "needs an API key"
            raise RemoteError(
                f"{where} {what} (HTTP {status}): set it with the command Magicoder: Set API Key, or "
                "$MAGICODER_API_KEY",
                AUTH,
                status,
            )
        if status == 404 and model and "model" in message.lower():
            raise RemoteError(
                f"{where} has no model {model!r} (HTTP 404: {message}): set magicoder.remoteModel to one it serves, or "
                "leave it empty",
                NO_MODEL,
                status,
            )
        if status == 404:
            raise RemoteError(
                f"{response.request.url} was not found (HTTP 404): magicoder.endpoint should be the API's base URL, "
                "usually ending in /v1",
                NOT_FOUND,
                status,
            )
        if status in (429, 503):
            after = _retry_after(response)
            wait = f", it asks to retry after {after:g} s" if after is not None else ""
            raise RemoteError(f"{where} is busy (HTTP {status}{wait}): try again shortly", BUSY, status, after)
        if 400 <= status < 500:
            raise RemoteError(f"{where} refused the request (HTTP {status}): {message}", BAD_REQUEST, status)
        raise RemoteError(f"{where} failed (HTTP {status}): {message}", SERVER, status)

    # -- requests --------------------------------------------------------------------------
    async def request_json(self, method: str, path: str, body: dict | None = None, timeout: float | None = None) -> Any:
        """A JSON request to ``path`` below the endpoint (or a full URL on its server); the answer's JSON."""
        url = path if path.startswith("http") else f"{self.endpoint.base}{path}"
        try:
            response = await self.http.request(
                method, url, json=body, headers=self._headers(), timeout=timeout or httpx.USE_CLIENT_DEFAULT
            )
        except httpx.HTTPError as exc:
            raise self.fault(exc) from exc
        await self.check(response)
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteError(
                f"{url} did not answer with JSON: is magicoder.endpoint an OpenAI-compatible API?", NOT_API
            ) from exc

    async def completion_events(self, body: dict) -> AsyncIterator[dict]:
        """POST /completions with stream: true; yields each event's JSON until [DONE] or a finish_reason.

        Leaving the iteration early (or cancelling the task that runs it) closes the connection, which is how
        vLLM and llama.cpp's servers learn to stop generating.
        """
        finished = False
        request = self.http.build_request(
            "POST", f"{self.endpoint.base}/completions", json=body, headers=self._headers()
        )
        try:
            response = await self.http.send(request, stream=True)
            try:
                await self.check(response, body.get("model", ""))
                async for event in EventSource(response).aiter_sse():
                    if event.data.strip() == "[DONE]":
                        break  # complete only after a finish_reason: llama-cpp-python ends a superseded stream so
                    data = self._event_json(event.data)
                    choices = data.get("choices") or [{}]
                    finished = finished or bool(choices[0].get("finish_reason"))
                    yield data  # read on to [DONE] after a finish_reason: the connection goes back to the pool
            finally:
                # Shielded: a second cancellation of the task must not stop the close half-way (httpcore's own
                # shield is anyio's, which a plain asyncio cancel goes through), or the socket stays open and
                # the server goes on generating for nobody.
                await asyncio.shield(response.aclose())
        except httpx.HTTPError as exc:
            raise self.fault(exc) from exc
        except SSEError as exc:
            raise RemoteError(
                f"{self.endpoint.base} did not stream server-sent events ({exc}): is it an OpenAI-compatible server?",
                NOT_API,
            ) from exc
        if not finished:
            raise RemoteError(
                f"the answer from {self.endpoint.base} ended before it was complete (another request may have taken "
                "its place, or the prompt was too long for the server's context); nothing was changed",
                CUT,
            )

    def _event_json(self, data: str) -> dict:
        try:
            event = json.loads(data)
        except ValueError as exc:
            raise RemoteError(
                f"{self.endpoint.base} sent a malformed event ({data[:80]!r}): is it an OpenAI-compatible server?",
                MALFORMED,
            ) from exc
        if not isinstance(event, dict):
            raise RemoteError(f"{self.endpoint.base} sent a malformed event ({data[:80]!r})", MALFORMED)
        if "error" in event:
            raise RemoteError(f"{self.endpoint.base} stopped with an error: {_server_message(data.encode())}", SERVER)
        choices = event.get("choices")
        if not isinstance(choices, list) or (choices and not isinstance(choices[0], dict)):
            raise RemoteError(f"{self.endpoint.base} sent an event without choices ({data[:80]!r})", MALFORMED)
        return event
