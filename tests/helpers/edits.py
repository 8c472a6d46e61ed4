"""Reading workspace edits, whichever shape the server gave them."""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

AnyTextEdit = types.TextEdit | types.AnnotatedTextEdit


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
