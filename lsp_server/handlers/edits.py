"""Workspace edits for answers, shaped by what the client supports.

- documentChanges: a TextDocumentEdit carrying the document version (the client refuses a stale
  one); otherwise the plain ``changes`` map (the server checked the version itself just before);
- previewEdits: each text edit annotated with a change annotation that needs confirmation (VS Code
  then shows its refactor preview), when the client supports change annotations;
- a new test file: a CreateFile operation before the edit that fills it, when the client supports
  it; otherwise the server creates the empty file on disk and the client fills it.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from ..text import DocumentText

ANNOTATION_ID = "magicoder"


def _workspace_edit_caps(caps: types.ClientCapabilities) -> types.WorkspaceEditClientCapabilities | None:
    return caps.workspace.workspace_edit if caps.workspace else None


def supports_document_changes(caps: types.ClientCapabilities) -> bool:
    edit_caps = _workspace_edit_caps(caps)
    return bool(edit_caps and edit_caps.document_changes)


def supports_create(caps: types.ClientCapabilities) -> bool:
    edit_caps = _workspace_edit_caps(caps)
    operations = (edit_caps.resource_operations or []) if edit_caps else []
    return supports_document_changes(caps) and types.ResourceOperationKind.Create in operations


def supports_annotations(caps: types.ClientCapabilities) -> bool:
    edit_caps = _workspace_edit_caps(caps)
    return supports_document_changes(caps) and bool(edit_caps and edit_caps.change_annotation_support)


def text_edit(
    caps: types.ClientCapabilities,
    uri: str,
    version: int | None,
    edit_range: types.Range,
    new_text: str,
    label: str,
    preview: bool,
    create: bool = False,
) -> types.WorkspaceEdit:
    """One text edit in one document (created first when ``create``), as the client can take it."""
    if not supports_document_changes(caps):
        return types.WorkspaceEdit(changes={uri: [types.TextEdit(edit_range, new_text)]})
    annotate = preview and supports_annotations(caps)
    edit = (
        types.AnnotatedTextEdit(annotation_id=ANNOTATION_ID, range=edit_range, new_text=new_text)
        if annotate
        else types.TextEdit(edit_range, new_text)
    )
    changes: list = []
    if create:
        changes.append(
            types.CreateFile(
                uri=uri,
                options=types.CreateFileOptions(ignore_if_exists=True),
                annotation_id=ANNOTATION_ID if annotate else None,
            )
        )
    changes.append(
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version), edits=[edit]
        )
    )
    annotations = (
        {ANNOTATION_ID: types.ChangeAnnotation(label=label, needs_confirmation=True, description="Magicoder's answer")}
        if annotate
        else None
    )
    return types.WorkspaceEdit(document_changes=changes, change_annotations=annotations)


def append_position(text: DocumentText, encoding: str) -> tuple[types.Position, str]:
    """Where to append to a file, and the separator that puts the new code after a blank line."""
    line, column = text.end_position(encoding)
    if not text.text.strip():
        return types.Position(line, column), ""
    ending = "" if text.text.endswith(("\n", "\r")) else "\n"
    return types.Position(line, column), ending + "\n"


def ensure_file(path: Path) -> None:
    """Create an empty file (and its folders) for clients that cannot create files by an edit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
