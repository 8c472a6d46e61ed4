"""Which model the eval asks: a model folder (the local ONNX engine) or an OpenAI-compatible endpoint (the remote
backend), as the server's own settings, so that the eval runs exactly what the editor runs."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import asdict, dataclass, replace
from typing import Any

from lsp_server.engine.api import AsyncStreaming, EngineError, InferenceEngine
from lsp_server.engine.endpoint import ApiKeys
from lsp_server.settings import Settings, option_name


@dataclass(frozen=True)
class Backend:
    model: str | None = None  # a model folder made by magicoder-export
    endpoint: str = ""  # or the base URL of an OpenAI-compatible server
    remote_model: str = ""
    tokenizer: str = ""  # the remote model's tokenizer.json (token budgets); "": the model folder's, the HF cache's
    device: str = "auto"
    threads: int | None = None
    ca_bundle: str = ""
    allow_insecure: bool = False

    def __post_init__(self) -> None:
        if bool(self.model) == bool(self.endpoint):
            raise ValueError("give a model folder (--model) or an endpoint (--endpoint), not both or neither")

    def settings(self, **extra: Any) -> Settings:
        """The server's settings for this backend (``extra``: other fields of Settings)."""
        return replace(Settings(), backend="openai" if self.endpoint else "local", **asdict(self), **extra)

    def initialization_options(self, **extra: Any) -> dict[str, Any]:
        """The same settings as an LSP client sends them (initializationOptions, camelCase keys)."""
        settings = asdict(self.settings(**extra))
        return {option_name(name): value for name, value in settings.items() if value is not None}

    def describe(self) -> str:
        if self.endpoint:
            return f"endpoint {self.endpoint}" + (f" (model {self.remote_model})" if self.remote_model else "")
        return f"model folder {self.model}"


def preflight(backend: Backend) -> None:
    """What can be told before starting: a remote backend needs the model's tokenizer for its token budgets."""
    if backend.endpoint and not backend.tokenizer:
        from lsp_server.engine.remote import find_tokenizer

        try:
            find_tokenizer()
        except EngineError as exc:
            raise SystemExit(
                "magicoder-eval: --endpoint needs the served model's tokenizer for token budgets: give its "
                "tokenizer.json (or folder) with --tokenizer; none is in the Hugging Face cache"
            ) from exc


def open_engine(backend: Backend) -> InferenceEngine:
    """The engine the server would load for these settings; a remote one is connected once to check it (the
    tokenizer agreement warning, an unreachable server, a refused key) before the eval starts."""
    from lsp_server.model_host import real_engine

    try:
        engine = real_engine(backend.settings())
    except EngineError as exc:
        raise SystemExit(f"magicoder-eval: {exc}") from exc
    if isinstance(engine, AsyncStreaming):
        connection = asyncio.run(_connect(engine))
        for warning in connection.warnings:
            print(f"magicoder-eval: {warning}", file=sys.stderr)
        if connection.error:
            raise SystemExit(f"magicoder-eval: {connection.error}")
    return engine


async def _connect(engine: AsyncStreaming) -> Any:
    try:
        return await engine.connect(ApiKeys.from_environment())
    finally:
        await engine.aclose()  # its client belongs to this event loop; generations use their own
