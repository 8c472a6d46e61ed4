"""What the handlers see of the server and the editor (the protocol layer implements it)."""

from __future__ import annotations

from typing import Protocol

from lsprotocol import types

from ..changelog import TextChange
from ..documents import Document
from ..engine.api import CancelToken
from ..errors import InvalidParams
from ..model_host import ModelHost
from ..settings import Settings

__all__ = ["Document", "Host", "Progress", "check_position", "selection_lines"]


class Progress(Protocol):
    def report(self, message: str | None = None, percentage: int | None = None) -> None: ...
    def end(self, message: str | None = None) -> None: ...


class Host(Protocol):
    settings: Settings
    model: ModelHost
    model_override: str | None

    @property
    def encoding(self) -> str:
        """The negotiated position encoding: "utf-16", "utf-8" or "utf-32"."""

    @property
    def client_capabilities(self) -> types.ClientCapabilities: ...

    def document(self, uri: str) -> Document:
        """An open document; InvalidParams when it is not open (never read from disk)."""

    def open_documents(self) -> list[Document]: ...
    def changes_since(self, uri: str, version: int) -> list[TextChange] | None:
        """The changes that led from ``version`` of an open document to its version now (didChange's
        incremental changes, in order); None when they are not known (a full replacement, too long ago)."""

    def show_message(self, kind: types.MessageType, text: str) -> None: ...
    async def show_message_request(self, kind: types.MessageType, text: str, actions: list[str]) -> str | None:
        """A message with action buttons; the title of the one the user chose (None: none, or no answer; an
        editor that cannot show one gets the message without them)."""

    def log_message(self, kind: types.MessageType, text: str) -> None: ...
    def track_request(self, cancel: CancelToken) -> None:
        """Let $/cancelRequest of the request being handled cancel ``cancel``."""

    async def begin_progress(self, title: str, message: str, cancel: CancelToken | None = None) -> Progress:
        """Work-done progress (a no-op when the client has none); with ``cancel`` it is cancellable."""

    async def apply_edit(self, edit: types.WorkspaceEdit, label: str) -> types.ApplyWorkspaceEditResult: ...
    async def show_document(self, uri: str) -> None: ...
    async def configuration(self) -> object:
        """The client's ``magicoder`` configuration section (None when it cannot be asked)."""


def check_position(doc: Document, position: types.Position) -> None:
    doc.text.check_line(position.line)


def selection_lines(doc: Document, selection: types.Range) -> tuple[int, int]:
    """Whole lines covered by a selection (a selection ending at column 0 excludes that line)."""
    check_position(doc, selection.start)
    check_position(doc, selection.end)
    start, end = selection.start.line, selection.end.line
    if end < start:
        raise InvalidParams(f"the range ends (line {end}) before it starts (line {start})")
    if end > start and selection.end.character == 0:
        end -= 1
    return start, end
