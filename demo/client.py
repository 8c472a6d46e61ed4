"""A small LSP client session against magicoder-lsp (used by the demo)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from lsprotocol import types
from pygls.lsp.client import LanguageClient


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP text edits (UTF-16 positions, non-overlapping) to a document's text."""
    lines = text.split("\n")

    def offset(pos: types.Position) -> int:
        if pos.line >= len(lines):
            return len(text)
        line = lines[pos.line]
        units, chars = 0, 0
        while chars < len(line) and units < pos.character:
            units += 2 if ord(line[chars]) > 0xFFFF else 1
            chars += 1
        return sum(len(x) + 1 for x in lines[: pos.line]) + chars

    spans = sorted(((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


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
    client = LanguageClient("magicoder-demo", "0.1.0")
    session = EditorSession(client)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        for change in params.edit.document_changes or []:
            doc = session.documents.get(change.text_document.uri)
            if doc is None or change.text_document.version != doc.version:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="stale document version")
            doc.text = apply_text_edits(doc.text, list(change.edits))
            doc.version += 1
            session.applied.append(change)
        return types.ApplyWorkspaceEditResult(applied=True)

    @client.feature("magicoder/status")
    def status(params) -> None:
        session.statuses.append(params if isinstance(params, dict) else client.protocol._converter.unstructure(params))

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
