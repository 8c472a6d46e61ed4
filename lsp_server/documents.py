"""The open documents, kept in sync with the editor's didOpen / didChange / didClose (pure).

Each document is a DocumentText per version: an incremental change makes the next version from
the previous one at the cost of the edit, not of the document (pygls 2.1.1 rewrites the whole text
on every change), and a version handed to a request never changes afterwards.

A change's range is read as the server reads every position: a column past the end of its line
means the line's end and one inside a character that character's start; a line past the end of the
document means its end (pygls clamps the same way); an end before the start deletes nothing. Lines
end at "\\n", "\\r\\n" or "\\r" only (pygls splits at U+2028, form feeds and the like too: LSP does
not, and neither does any editor).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types

from .text import UTF16, DocumentText

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Document:
    """An open document at one version (a new one for every change: a request holding it is never disturbed)."""

    uri: str  # as the editor sent it in didOpen
    language_id: str
    version: int | None
    text: DocumentText
    path: Path | None  # on disk, for file: URIs


def no_path(uri: str) -> Path | None:
    """No URI names a file (a store without a file system: tests, tools)."""
    return None


def apply_change(text: DocumentText, change: types.TextDocumentContentChangeEvent, encoding: str) -> DocumentText:
    """The text after one content change (a range and its new text, or the whole new text)."""
    if not isinstance(change, types.TextDocumentContentChangePartial):
        return DocumentText(change.text)
    start, end = change.range.start, change.range.end
    return text.edited(
        text.edit_offset(start.line, start.character, encoding),
        text.edit_offset(end.line, end.character, encoding),
        change.text,
    )


class DocumentStore:
    """Open documents by URI (percent-decoded, as pygls keys them: an editor may quote a URI either way);
    ``path_of`` tells the file a URI names, once per didOpen."""

    def __init__(self, path_of: Callable[[str], Path | None] = no_path) -> None:
        self._open: dict[str, Document] = {}
        self._path_of = path_of

    def open(self, uri: str, language_id: str, version: int | None, text: str) -> None:
        self._open[unquote(uri)] = Document(uri, language_id or "", version, DocumentText(text), self._path_of(uri))

    def change(
        self,
        uri: str,
        version: int | None,
        changes: Sequence[types.TextDocumentContentChangeEvent],
        encoding: str = UTF16,
    ) -> None:
        key = unquote(uri)
        doc = self._open.get(key)
        if doc is None:
            log.warning("didChange for %s, which is not open: ignored", uri)
            return
        text = doc.text
        for change in changes:
            text = apply_change(text, change, encoding)
        self._open[key] = replace(doc, version=version, text=text)

    def close(self, uri: str) -> None:
        self._open.pop(unquote(uri), None)

    def get(self, uri: str) -> Document | None:
        return self._open.get(unquote(uri))

    def all(self) -> list[Document]:
        return list(self._open.values())
