"""The protocol layer: the only part of the server that imports pygls."""

from __future__ import annotations

from ..model_host import EngineFactory, real_engine
from .features import register
from .server import MagicoderServer

__all__ = ["MagicoderServer", "create_server"]


def create_server(model_override: str | None = None, engine_factory: EngineFactory = real_engine) -> MagicoderServer:
    """A server with every feature registered; start it with start_io() or start_tcp()."""
    return register(MagicoderServer(model_override, engine_factory))
