"""An editor in memory for the handlers: lsp_server.handlers.host.Host (and the model host's Client) over
documents the test opens, recording all that the handlers tell or ask the editor. No pygls, no subprocess.

    host = await start_host()                    # VS Code's capabilities, the FakeEngine loaded
    host.open(URI, "# add one\\ndef f(x):\\n    return x\\n")
    await execute_ask(host, [argument])          # then look at host.applied, host.messages, host.progress
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from lsprotocol import types

from lsp_server.changelog import ChangeLog, TextChange
from lsp_server.engine import CancelToken
from lsp_server.errors import InvalidParams
from lsp_server.fake_engine import fake_factory
from lsp_server.handlers.host import Document
from lsp_server.model_host import STATUS_NOTIFICATION, EngineFactory, ModelHost
from lsp_server.settings import Settings
from lsp_server.text import DocumentText

from .clients import ENCODINGS, VSCODE, capabilities

Message = tuple[types.MessageType, str]


@dataclass
class RecordedProgress:
    """One work-done progress: its begin, its reports (message, percentage) and its end message."""

    title: str
    message: str
    cancel: CancelToken | None
    reports: list[tuple[str | None, int | None]] = field(default_factory=list)
    ended: bool = False
    end_message: str | None = None

    def report(self, message: str | None = None, percentage: int | None = None) -> None:
        assert not self.ended, f"a report after the end of {self.title!r}"
        self.reports.append((message, percentage))

    def end(self, message: str | None = None) -> None:
        assert not self.ended, f"{self.title!r} ended twice"
        self.ended, self.end_message = True, message


@dataclass(frozen=True)
class AppliedEdit:
    """A workspace/applyEdit the handlers sent."""

    edit: types.WorkspaceEdit
    label: str


def _path(uri: str) -> Path | None:
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else None


class RecordingHost:
    """Host for the handlers; ``apply_result`` and ``configuration_answer`` are what the editor answers."""

    def __init__(
        self,
        caps: types.ClientCapabilities,
        encoding: str = "utf-16",
        factory: EngineFactory = fake_factory,
        model_override: str | None = None,
    ):
        self.settings = Settings()
        self.model_override = model_override
        self.model = ModelHost(self, factory)
        self._caps, self._encoding = caps, encoding
        self._documents: dict[str, Document] = {}
        self.messages: list[Message] = []
        self.logs: list[Message] = []
        self.statuses: list[dict] = []
        self.progress: list[RecordedProgress] = []
        self.tracked: list[CancelToken] = []
        self.applied: list[AppliedEdit] = []
        self.shown_documents: list[str] = []
        self.configuration_requests = 0
        self.apply_result = types.ApplyWorkspaceEditResult(applied=True)
        self.configuration_answer: object = None
        self.change_log = ChangeLog()
        self.typing: list[Callable[[], None]] = []  # one for each coming workspace/applyEdit, first first
        self.message_requests: list[tuple[types.MessageType, str, list[str]]] = []
        self.message_choice: str | None = None  # the action the user picks in window/showMessageRequest

    # -- documents, as the test's editor has them ------------------------------------------
    def open(self, uri: str, text: str, language: str = "python", version: int | None = 1) -> Document:
        self._documents[uri] = Document(uri, language, version, DocumentText(text), _path(uri))
        if version is not None:
            self.change_log.opened(uri, version)
        return self._documents[uri]

    def change(self, uri: str, text: str, version: int) -> None:
        old = self._documents[uri]
        self._documents[uri] = Document(uri, old.language_id, version, DocumentText(text), old.path)
        self.change_log.changed(uri, version, None)

    def edit(self, uri: str, edit_range: types.Range, new_text: str) -> Document:
        """Replace a range of an open document (positions in the host's encoding): its next version."""
        old = self._documents[uri]
        assert old.version is not None, "an edit needs a versioned document"
        text, (start, end) = old.text, (edit_range.start, edit_range.end)
        begin, stop = (
            text.offset_at(start.line, start.character, self._encoding),
            text.offset_at(end.line, end.character, self._encoding),
        )
        self._documents[uri] = Document(
            uri,
            old.language_id,
            old.version + 1,
            DocumentText(text.text[:begin] + new_text + text.text[stop:]),
            old.path,
        )
        change = TextChange(start.line, start.character, end.line, end.character, new_text)
        self.change_log.changed(uri, old.version + 1, [change])
        return self._documents[uri]

    def close(self, uri: str) -> None:
        del self._documents[uri]

    # -- Host --------------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        return self._encoding

    @property
    def client_capabilities(self) -> types.ClientCapabilities:
        return self._caps

    def document(self, uri: str) -> Document:
        if uri not in self._documents:
            raise InvalidParams(f"document {uri} is not open")
        return self._documents[uri]

    def open_documents(self) -> list[Document]:
        return list(self._documents.values())

    def changes_since(self, uri: str, version: int) -> list[TextChange] | None:
        now = self._documents.get(uri)
        return self.change_log.since(uri, version, now.version) if now else None

    def show_message(self, kind: types.MessageType, text: str) -> None:
        self.messages.append((kind, text))

    async def show_message_request(self, kind: types.MessageType, text: str, actions: list[str]) -> str | None:
        self.message_requests.append((kind, text, actions))
        assert self.message_choice is None or self.message_choice in actions, (self.message_choice, actions)
        return self.message_choice

    def log_message(self, kind: types.MessageType, text: str) -> None:
        self.logs.append((kind, text))

    def track_request(self, cancel: CancelToken) -> None:
        self.tracked.append(cancel)

    async def begin_progress(self, title: str, message: str, cancel: CancelToken | None = None) -> RecordedProgress:
        self.progress.append(RecordedProgress(title, message, cancel))
        return self.progress[-1]

    async def apply_edit(self, edit: types.WorkspaceEdit, label: str) -> types.ApplyWorkspaceEditResult:
        self.applied.append(AppliedEdit(edit, label))
        if self.typing:
            self.typing.pop(0)()
        for change in edit.document_changes or []:
            if not isinstance(change, types.TextDocumentEdit):
                continue
            doc = self._documents.get(change.text_document.uri)
            if doc is not None and change.text_document.version not in (None, doc.version):
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="the document changed")
        return self.apply_result

    async def show_document(self, uri: str) -> None:
        self.shown_documents.append(uri)

    async def configuration(self) -> object:
        self.configuration_requests += 1
        return self.configuration_answer

    # -- the model host's Client ---------------------------------------------------------------
    def notify(self, method: str, params: dict) -> None:
        assert method == STATUS_NOTIFICATION, method
        self.statuses.append(params)

    # -- reading the record ------------------------------------------------------------------
    @property
    def states(self) -> list[str]:
        return [status["state"] for status in self.statuses]

    def texts(self, kind: types.MessageType | None = None) -> list[str]:
        """The texts of the messages shown to the user (of one kind)."""
        return [text for k, text in self.messages if kind is None or k == kind]

    def log_lines(self, prefix: str) -> list[str]:
        return [text for _, text in self.logs if text.startswith(prefix)]


ClientSpec = str | types.ClientCapabilities  # a client's name (clients.CLIENTS), or capabilities (UTF-16 positions)


def make_host(client: ClientSpec = VSCODE, factory: EngineFactory = fake_factory, **settings: Any) -> RecordingHost:
    """A host with a client's capabilities and negotiated encoding; the model is not loaded yet."""
    if isinstance(client, str):
        host = RecordingHost(capabilities(client), ENCODINGS[client], factory)
    else:
        host = RecordingHost(client, factory=factory)
    host.settings = Settings(**settings)
    return host


async def start_host(
    client: ClientSpec = VSCODE, factory: EngineFactory = fake_factory, **settings: Any
) -> RecordingHost:
    """make_host, with its engine loaded (as after `initialized`); the load's statuses and progress are cleared."""
    host = make_host(client, factory, **settings)
    await host.model.start_loading(host.settings)
    assert host.states == ["loading", "ready"], host.statuses
    host.statuses.clear()
    host.progress.clear()
    return host


def while_answering(host: RecordingHost, monkeypatch: pytest.MonkeyPatch, act: Callable[[], object]) -> None:
    """Do ``act`` at the end of each generation, before the answer is delivered (the user typing meanwhile)."""
    generate = host.model.generate

    async def then(*args: Any, **kwargs: Any) -> Any:
        result = await generate(*args, **kwargs)
        act()
        return result

    monkeypatch.setattr(host.model, "generate", then)


def fake(mode: str = "echo", token_ms: float = 0.0) -> EngineFactory:
    """The FakeEngine factory in a mode ("echo", "fail"), each token taking ``token_ms``."""
    return lambda settings: fake_factory(settings, mode=mode, token_ms=token_ms)
