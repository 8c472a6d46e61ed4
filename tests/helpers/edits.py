"""Reading workspace edits, whichever shape the server gave them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lsprotocol import types

AnyTextEdit = types.TextEdit | types.AnnotatedTextEdit
DocumentChange = types.TextDocumentEdit | types.CreateFile | types.RenameFile | types.DeleteFile


def edits_of(edit: types.WorkspaceEdit) -> dict[str, list[AnyTextEdit]]:
    """uri -> text edits of a workspace edit (documentChanges or the plain changes map)."""
    if edit.document_changes:
        changes = [c for c in edit.document_changes if isinstance(c, types.TextDocumentEdit)]
        return {c.text_document.uri: _text_edits(c.edits) for c in changes}
    return {uri: _text_edits(edits) for uri, edits in (edit.changes or {}).items()}


def _text_edits(edits: Sequence[object]) -> list[AnyTextEdit]:
    """The edits, all text edits (annotated or not): the server sends no snippet edits."""
    text_edits = [e for e in edits if isinstance(e, (types.TextEdit, types.AnnotatedTextEdit))]
    assert len(text_edits) == len(edits), edits
    return text_edits


def single_edit(edits: Sequence[types.WorkspaceEdit], uri: str) -> AnyTextEdit:
    """The one text edit of the one workspace edit applied, in ``uri``."""
    (edit,) = edits
    (text_edit,) = edits_of(edit)[uri]
    return text_edit


def document_changes(edit: types.WorkspaceEdit) -> Sequence[DocumentChange]:
    """The edit's documentChanges: what the server sends a client that supports them (VS Code)."""
    assert edit.document_changes is not None, edit
    return edit.document_changes


def plain_changes(edit: types.WorkspaceEdit) -> Mapping[str, Sequence[types.TextEdit]]:
    """The edit's plain changes map: what the server sends a client without documentChanges (Neovim)."""
    assert edit.document_changes is None and edit.changes is not None, edit
    return edit.changes


def text_document_edit(change: DocumentChange) -> types.TextDocumentEdit:
    """A document change that edits a document's text (not a file operation)."""
    assert isinstance(change, types.TextDocumentEdit), change
    return change
