"""Errors a request can end with, as JSON-RPC / LSP codes (the protocol layer turns them into responses)."""

from __future__ import annotations


class LspError(Exception):
    """A request that cannot be answered with a result; ``code`` is its JSON-RPC error code."""

    code = -32603  # InternalError

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidParams(LspError):
    code = -32602


class RequestFailed(LspError):
    """LSP RequestFailed: a well-formed request the server could not carry out."""

    code = -32803


class RequestCancelled(LspError):
    code = -32800
