"""Settings: from initializationOptions at start, from workspace/didChangeConfiguration live.

Invalid values fall back to their defaults with one message naming them all. Cheap settings
apply at once; a new model folder, device or thread count reloads the engine (with progress).
"""

from __future__ import annotations

import logging

from lsprotocol import types

from ..settings import Settings, endpoint_problem, needs_reload, parse_settings, problems_message, update_settings
from .host import Host

log = logging.getLogger(__name__)
LOGGER = "lsp_server"


def _apply(host: Host, settings: Settings, problems: list[str]) -> None:
    host.settings = settings
    if settings.log_level:
        logging.getLogger(LOGGER).setLevel(settings.log_level.upper())
    message = problems_message(problems)
    if message:
        log.warning("%s", message)
        host.show_message(types.MessageType.Warning, message)


def _field(params: object, name: str) -> object:
    return params.get(name) if isinstance(params, dict) else getattr(params, name, None)


def api_key(host: Host, params: object) -> None:
    """magicoder/apiKey {origin, key | null}: the editor's API key for an endpoint origin (a secret: never logged)."""
    origin, key = _field(params, "origin"), _field(params, "key")
    if not isinstance(origin, str) or endpoint_problem(origin) or not (key is None or isinstance(key, str)):
        host.show_message(types.MessageType.Error, "Magicoder: ignored an API key without a valid endpoint origin")
        return
    try:
        host.model.set_api_key(origin, key or None)
    except ValueError as exc:  # a key with a line break or other control characters
        host.show_message(types.MessageType.Error, f"Magicoder: ignored the API key for {origin}: {exc}")


def initialize(host: Host, options: object) -> None:
    _apply(host, *parse_settings(options, host.model_override))


def start(host: Host) -> None:
    """After `initialized`: load the model."""
    host.model.start_loading(host.settings)


async def did_change_configuration(host: Host, settings: object) -> None:
    """New settings; an empty notification means "ask me" (workspace/configuration, when the client can)."""
    pushed = not (settings is None or settings == {})
    if not pushed:
        settings = await host.configuration()
        if settings is None:
            return
    old = host.settings
    _apply(host, *update_settings(old, settings, host.model_override, trusted=pushed))
    if needs_reload(old, host.settings) and host.model.loading is not None:
        log.info("model settings changed: reloading")
        host.model.start_loading(host.settings)
