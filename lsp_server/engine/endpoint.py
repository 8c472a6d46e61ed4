"""Where a remote engine sends prompts, and with which key: the endpoint URL, its origin, the API keys
by origin and the TLS settings. Pure (no HTTP here).

Code near the cursor and the key go to the endpoint, so: plain http:// only to this machine unless the
user allows it, and a key is only ever sent to the origin it was given for.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

KEY_ENV = "MAGICODER_API_KEY"
KEY_ORIGIN_ENV = "MAGICODER_API_KEY_ORIGIN"  # optional: the only origin $MAGICODER_API_KEY may go to
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class EndpointError(ValueError):
    """The endpoint settings cannot be used; the message says what to change."""


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL (default ports left out), as browsers and VS Code compare them."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port is not None and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an API key (None: it can)."""
    if not key:
        return "the API key is empty"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        return "the API key contains a line break or another control character"
    if not key.isascii():
        return "the API key contains characters that cannot go into an HTTP header"
    return None


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible API's base URL (``.../v1``), checked."""

    base: str  # without a trailing slash
    origin: str
    host: str
    secure: bool  # https

    @classmethod
    def parse(cls, url: str, allow_insecure: bool = False) -> Endpoint:
        url = url.strip()
        if not url:
            raise EndpointError(
                "no endpoint is set: set magicoder.endpoint to the server's API, e.g. http://gpu-box:8000/v1"
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointError(f"the endpoint {url!r} is not an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise EndpointError("the endpoint URL must not carry credentials: use the API key")
        if parts.query or parts.fragment:
            raise EndpointError(f"the endpoint {url!r} has a query or fragment")
        endpoint = cls(base=url.rstrip("/"), origin=origin_of(url), host=parts.hostname, secure=parts.scheme == "https")
        if not endpoint.secure and not is_loopback(endpoint.host) and not allow_insecure:
            raise EndpointError(
                f"the endpoint {url} is plain http:// to another machine: your code and the API key would cross the "
                "network unencrypted. Use https://, or set magicoder.allowInsecure to true if that network is yours"
            )
        return endpoint

    @property
    def root(self) -> str:
        """The server's root (the base without its trailing /v1): where /tokenize lives."""
        return self.base[: -len("/v1")] if self.base.endswith("/v1") else self.base


class ApiKeys:
    """API keys by endpoint origin: from the editor (magicoder/apiKey) and from $MAGICODER_API_KEY."""

    def __init__(self, env_key: str | None = None, env_origin: str | None = None, env_problem: str | None = None):
        self._lock = threading.Lock()
        self._by_origin: dict[str, str] = {}
        self._env_key = env_key or None
        self._env_origin = origin_of(env_origin) if env_origin else None
        self.env_problem = env_problem  # why $MAGICODER_API_KEY is not used (RemoteEngine.connect says so)

    @classmethod
    def from_environment(cls) -> ApiKeys:
        key = os.environ.get(KEY_ENV, "").strip()
        problem = key_problem(key) if key else None
        if problem:
            return cls(env_problem=f"${KEY_ENV} is not used: {problem}")  # a broken key is never sent
        return cls(key or None, os.environ.get(KEY_ORIGIN_ENV) or None)

    def set(self, origin: str, key: str | None) -> None:
        """The editor's key for ``origin`` (None: forget it). Raises ValueError for a key that cannot be sent."""
        if key is not None:
            problem = key_problem(key)
            if problem:
                raise ValueError(problem)
        with self._lock:
            if key is None:
                self._by_origin.pop(origin_of(origin), None)
            else:
                self._by_origin[origin_of(origin)] = key

    def for_origin(self, origin: str) -> str | None:
        """The key to send to ``origin``: the editor's for that origin, else the environment's (when allowed)."""
        with self._lock:
            key = self._by_origin.get(origin)
        if key is not None:
            return key
        if self._env_key and (self._env_origin is None or self._env_origin == origin):
            return self._env_key
        return None


def tls_context(ca_bundle: str = "") -> ssl.SSLContext:
    """The system's certificate store (truststore), plus the PEM bundle ``ca_bundle`` when set."""
    import truststore

    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_bundle:
        path = Path(ca_bundle).expanduser()
        if not path.is_file():
            raise EndpointError(f"magicoder.caBundle {ca_bundle!r} is not a file")
        try:
            context.load_verify_locations(cafile=str(path))
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise EndpointError(f"magicoder.caBundle {ca_bundle!r} holds no usable PEM certificates ({exc})") from exc
    return context
