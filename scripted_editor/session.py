"""The scripted editor's LSP session against magicoder-lsp: documents, edits, status and logs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from lsp_server.text import DocumentText


def fix_code_action_union(converter: Any) -> None:
    """Make a converter tell a CodeAction that carries a command from a bare Command.

    lsprotocol 2025.0.0 structures any element of a codeAction result that has a "command" key
    as a Command, so a CodeAction{title, kind, command, disabled} loses its kind and disabled
    fields on the client side.  A Command's "command" is a string; a CodeAction's is an object.
    """

    def structure(obj: Any, _: type) -> types.Command | types.CodeAction:
        kind = types.Command if isinstance(obj.get("command"), str) else types.CodeAction
        return converter.structure(obj, kind)

    # lsprotocol's converter keys this hook on typing.Union (not on the X | Y form).
    converter.register_structure_hook(Union[types.Command, types.CodeAction], structure)  # noqa: UP007


def apply_text_edits(text: str, edits: Sequence[types.TextEdit | types.AnnotatedTextEdit]) -> str:
    """Apply LSP text edits (UTF-16 positions, non-overlapping) to a document's text."""
    doc = DocumentText(text)

    def offset(pos: types.Position) -> int:
        return len(text) if pos.line >= doc.line_count else doc.offset_at(pos.line, pos.character)

    spans = sorted(((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def plain_edits(change: types.TextDocumentEdit) -> list[types.TextEdit | types.AnnotatedTextEdit]:
    """A document change's edits: plain text edits, since this client advertises no snippet edit support."""
    edits: list[types.TextEdit | types.AnnotatedTextEdit] = []
    for edit in change.edits:
        assert not isinstance(edit, types.SnippetTextEdit), "the client did not advertise snippetEditSupport"
        edits.append(edit)
    return edits


@dataclass
class Document:
    uri: str
    text: str
    version: int = 1
    language_id: str = "python"


@dataclass
class EditorSession:
    """What an editor keeps: open documents, applied edits, status and log notifications."""

    client: LanguageClient
    documents: dict[str, Document] = field(default_factory=dict)
    applied: list[types.TextDocumentEdit] = field(default_factory=list)
    statuses: list[dict] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)


def make_session() -> EditorSession:
    client = LanguageClient("magicoder-scripted-editor", "0.1.0")
    fix_code_action_union(client.protocol._converter)
    session = EditorSession(client)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        for change in params.edit.document_changes or []:
            # The client advertises no resourceOperations: every change edits a document's text.
            assert isinstance(change, types.TextDocumentEdit), f"unexpected resource operation {change!r}"
            doc = session.documents.get(change.text_document.uri)
            if doc is None or change.text_document.version != doc.version:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="stale document version")
            doc.text = apply_text_edits(doc.text, plain_edits(change))
            doc.version += 1
            session.applied.append(change)
        return types.ApplyWorkspaceEditResult(applied=True)

    @client.feature("magicoder/status")
    def status(params) -> None:
        session.statuses.append(params if isinstance(params, dict) else params._asdict())  # pygls: a namedtuple

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def log_message(params: types.LogMessageParams) -> None:
        session.log_lines.append(params.message)

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        print(f"[server says] {params.message}", file=sys.stderr)

    return session


CLIENT_CAPABILITIES = types.ClientCapabilities(
    workspace=types.WorkspaceClientCapabilities(
        apply_edit=True,
        workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
    ),
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(value_set=[types.CodeActionKind.RefactorRewrite])
            ),
            disabled_support=True,
        ),
        inline_completion=types.InlineCompletionClientCapabilities(),
    ),
)
