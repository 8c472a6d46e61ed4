"""Where the lines an answer replaces are now, after the changes the user made while Magicoder was answering.

The lines are followed as a range, from the start of the first to the end of the last, through each change:
a change that ends at or before the range's start moves it (text inserted right at the start goes before
the lines), one that starts at or after the range's end does not matter (text inserted right at the end goes
after them), and one that overlaps the range touches the lines. The answer may replace the lines only if
nothing touched them and they are still whole lines holding what they held: then replacing them now gives
the document that replacing them first and then making the user's changes would have given, and no
character the user typed is lost. A document with a lone "\\r" line break, or a change inserting one, is not
followed (a "\\r" meeting a "\\n" would join two line breaks into one, which positions cannot tell).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .changelog import TextChange
from .text import UTF16, DocumentText, units

Position = tuple[int, int]  # (line, column in the negotiated encoding)
_LONE_CR = re.compile(r"\r(?!\n)")


@dataclass(frozen=True)
class Placement:
    """The lines now: ``intact`` when nothing touched them (replace them), else the lines the user's changes
    to them span (for an edit to review)."""

    first: int
    last: int
    intact: bool


def _inserted_end(change: TextChange, encoding: str) -> Position:
    """Where the change's text ends, in the document after the change."""
    breaks = change.text.count("\n")
    tail = change.text[change.text.rfind("\n") + 1 :]
    column = units(tail, encoding) + (0 if breaks else change.start_column)
    return change.start_line + breaks, column


def _moved(position: Position, change: TextChange, encoding: str) -> Position:
    """A position at or after the change's end, in the document after the change."""
    line, column = position
    if line != change.end_line:
        return line + change.text.count("\n") - (change.end_line - change.start_line), column
    end_line, end_column = _inserted_end(change, encoding)
    return end_line, end_column + column - change.end_column


def follow(
    start: Position, end: Position, changes: Sequence[TextChange], encoding: str = UTF16
) -> tuple[Position, Position, bool] | None:
    """The range [start, end) after the changes, and whether none of them touched it; None when a change
    inserts a lone "\\r"."""
    touched = False
    for change in changes:
        if _LONE_CR.search(change.text):
            return None
        change_start, change_end = (change.start_line, change.start_column), (change.end_line, change.end_column)
        if change_end <= start:  # before (an insertion right at the start goes before the range)
            start, end = _moved(start, change, encoding), _moved(end, change, encoding)
        elif change_start >= end:  # after (an insertion right at the end goes after it)
            continue
        else:
            touched = True
            start = min(start, change_start)
            end = _moved(end, change, encoding) if end >= change_end else _inserted_end(change, encoding)
    return start, end, not touched


def place(
    before: DocumentText,
    first: int,
    last: int,
    changes: Sequence[TextChange],
    now: DocumentText,
    encoding: str = UTF16,
) -> Placement | None:
    """Where lines ``first``..``last`` of ``before`` are in ``now``, the changes between them followed; None
    when they cannot be followed."""
    if _LONE_CR.search(before.text):
        return None
    followed = follow((first, 0), (last, before.line_end_column(last, encoding)), changes, encoding)
    if followed is None:
        return None
    (new_first, _), (new_last, _), untouched = followed
    if not 0 <= new_first <= new_last < now.line_count:
        return None
    was = [before.line(line) for line in range(first, last + 1)]
    intact = untouched and [now.line(line) for line in range(new_first, new_last + 1)] == was
    return Placement(new_first, new_last, intact)
