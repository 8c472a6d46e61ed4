"""Document text and LSP positions.

Lines end at "\\n", "\\r\\n" or "\\r" (as LSP defines them, not as str.splitlines does); a position's
character counts code units of the negotiated encoding: UTF-16 (the default), UTF-8 or UTF-32.
A column past the end of its line means the end of the line (the LSP rule); a column inside one
character (half a surrogate pair, a UTF-8 continuation byte) means the start of that character.
"""

from __future__ import annotations

import re
from functools import cached_property
from itertools import accumulate

from .errors import InvalidParams

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_BREAK = re.compile(r"\r\n|\r|\n")


def char_units(ch: str, encoding: str = UTF16) -> int:
    """How many code units one character takes."""
    if encoding == UTF32:
        return 1
    if encoding == UTF8:
        return len(ch.encode("utf-8", "surrogatepass"))
    return 2 if ord(ch) > 0xFFFF else 1


def units(text: str, encoding: str = UTF16) -> int:
    """The length of text in code units."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def column_to_index(line: str, column: int, encoding: str = UTF16) -> int:
    """The code-point index in ``line`` of an LSP column (clamped to the line, rounded down into a character)."""
    if encoding == UTF32 or line.isascii():
        return max(0, min(column, len(line)))
    count = 0
    for i, ch in enumerate(line):
        count += char_units(ch, encoding)
        if count > column:
            return i
    return len(line)


def _line_table(text: str) -> tuple[list[int], list[int], list[str] | None]:
    """Start and end (before the break) offsets of every line, and the lines when they came for free."""
    crs = text.count("\r")
    if crs and crs != text.count("\r\n"):  # lone "\r" breaks: the general (slower) way
        starts, ends = [0], []
        for match in _BREAK.finditer(text):
            ends.append(match.start())
            starts.append(match.end())
        ends.append(len(text))
        return starts, ends, None
    parts = text.split("\n")  # str.split is fast, even on 10 MB documents
    lengths = [len(part) + 1 for part in parts]
    starts = [0, *accumulate(lengths[:-1])]
    ends = [start + length - 1 for start, length in zip(starts, lengths, strict=False)]
    if not crs:
        return starts, ends, parts
    ends = [end - 1 if end > start and text[end - 1] == "\r" else end for start, end in zip(starts, ends, strict=False)]
    return starts, ends, None


class DocumentText:
    """A document's text with its line table; offsets are code-point indices into ``text``."""

    def __init__(self, text: str):
        self.text = text
        self._starts, self._ends, lines = _line_table(text)
        if lines is not None:
            self.lines = lines

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line(self, i: int) -> str:
        """Line i without its line break."""
        return self.text[self._starts[i] : self._ends[i]]

    @cached_property
    def lines(self) -> list[str]:
        return [self.text[s:e] for s, e in zip(self._starts, self._ends, strict=False)]

    def check_line(self, line: int) -> None:
        if not 0 <= line < self.line_count:
            raise InvalidParams(f"line {line} is outside the document ({self.line_count} lines)")

    def offset_at(self, line: int, column: int, encoding: str = UTF16) -> int:
        """The offset of an LSP position; a line outside the document is an InvalidParams error."""
        self.check_line(line)
        return self._starts[line] + column_to_index(self.line(line), column, encoding)

    def line_end_column(self, line: int, encoding: str = UTF16) -> int:
        """The column of the end of a line."""
        return units(self.line(line), encoding)

    def position_at(self, offset: int, encoding: str = UTF16) -> tuple[int, int]:
        """The (line, column) of an offset (clamped into the document)."""
        offset = max(0, min(offset, len(self.text)))
        lo, hi = 0, self.line_count - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if self._starts[mid] <= offset else (lo, mid - 1)
        start = self._starts[lo]
        within = min(offset, self._ends[lo]) - start
        return lo, units(self.text[start : start + within], encoding)

    def end_position(self, encoding: str = UTF16) -> tuple[int, int]:
        last = self.line_count - 1
        return last, self.line_end_column(last, encoding)
