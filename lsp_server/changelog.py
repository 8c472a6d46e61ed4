"""What changed in each open document since a version: the incremental changes of its didChange notifications.

An answer asked on version N of a document is placed by following the changes after N (rebase.py). The log
keeps, per document, the changes of its recent versions, bounded in count and in characters: older ones are
dropped, and a version before what is kept is unknown. A full-document replacement restarts the log (what
changed where is unknown across it), and so does didOpen; didClose forgets the document.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from lsprotocol import types

MAX_CHANGES = 2000  # per document: far more than the keystrokes of one answer
MAX_CHARS = 1_000_000  # of inserted text per document (a big paste drops what came before it)


@dataclass(frozen=True)
class TextChange:
    """One incremental change: the range it replaced, in the document as it was (LSP lines and columns), and
    the text put there."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int
    text: str


def text_changes(changes: Sequence[types.TextDocumentContentChangeEvent]) -> list[TextChange] | None:
    """A didChange's content changes as TextChanges; None when one of them replaces the whole document."""
    out = []
    for change in changes:
        if not isinstance(change, types.TextDocumentContentChangePartial):
            return None
        start, end = change.range.start, change.range.end
        out.append(TextChange(start.line, start.character, end.line, end.character, change.text))
    return out


@dataclass
class _History:
    base: int  # the oldest version the log knows the changes since
    entries: deque[tuple[int, list[TextChange]]] = field(default_factory=deque)  # (version after, its changes)
    changes: int = 0
    chars: int = 0

    @property
    def latest(self) -> int:
        return self.entries[-1][0] if self.entries else self.base


class ChangeLog:
    """Each open document's recent changes, by the version they led to (URIs percent-decoded, as the document
    store keys them)."""

    def __init__(self, max_changes: int = MAX_CHANGES, max_chars: int = MAX_CHARS):
        self.max_changes, self.max_chars = max_changes, max_chars
        self._docs: dict[str, _History] = {}

    def opened(self, uri: str, version: int) -> None:
        self._docs[unquote(uri)] = _History(version)

    def changed(self, uri: str, version: int, changes: list[TextChange] | None) -> None:
        """A didChange leading to ``version``; ``changes`` None: the whole document was replaced."""
        history = self._docs.get(unquote(uri))
        if history is None:  # not open: the document store ignores it too
            return
        if changes is None:
            self.opened(uri, version)
            return
        history.entries.append((version, changes))
        history.changes += len(changes)
        history.chars += sum(len(change.text) for change in changes)
        while history.entries and (history.changes > self.max_changes or history.chars > self.max_chars):
            history.base, dropped = history.entries.popleft()
            history.changes -= len(dropped)
            history.chars -= sum(len(change.text) for change in dropped)

    def closed(self, uri: str) -> None:
        self._docs.pop(unquote(uri), None)

    def since(self, uri: str, version: int, until: int | None) -> list[TextChange] | None:
        """The changes from ``version`` to ``until`` (the document's version now), in order; None when the log
        does not know them all (a version it never saw or dropped, a full replacement, a document not open)."""
        history = self._docs.get(unquote(uri))
        if history is None or until is None or history.latest != until:
            return None
        collected, found = [], version == history.base
        for after, changes in history.entries:
            if found:
                collected += changes
            found = found or after == version
        return collected if found else None
