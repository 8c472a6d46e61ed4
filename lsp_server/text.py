"""Document text and LSP positions.

Lines end at "\\n", "\\r\\n" or "\\r" (as LSP defines them, not as str.splitlines does); a position's
character counts code units of the negotiated encoding: UTF-16 (the default), UTF-8 or UTF-32.
A column past the end of its line means the end of the line (the LSP rule); a column inside one
character (half a surrogate pair, a UTF-8 continuation byte) means the start of that character.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from .chunks import ChunkedText
from .errors import InvalidParams

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


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


class Lines(Sequence[str]):
    """A document's lines without their breaks, read from its chunks (no list of every line is made)."""

    def __init__(self, chunks: ChunkedText):
        self._chunks = chunks

    def __len__(self) -> int:
        return self._chunks.line_count

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        count = self._chunks.line_count
        if isinstance(index, slice):
            first, stop, step = index.indices(count)
            if step != 1:
                return [self[i] for i in range(first, stop, step)]
            return list(self._chunks.lines(first, stop))
        if not -count <= index < count:
            raise IndexError(f"line {index} is outside the document ({count} lines)")
        return self._chunks.line(index % count)

    def __iter__(self) -> Iterator[str]:
        return self._chunks.lines()


class DocumentText:
    """A document's text as it was at one version (immutable); offsets are code-point indices into ``text``.

    ``edited`` makes the next version, sharing all but the edited chunks with this one: a keystroke
    costs the same in a 100,000-line document as in a small one, and so does reading a few lines or a
    window of text (``slice``). Only ``text`` reads the whole document.
    """

    __slots__ = ("_chunks",)

    def __init__(self, text: str | ChunkedText = ""):
        self._chunks = text if isinstance(text, ChunkedText) else ChunkedText.from_text(text)

    @property
    def text(self) -> str:
        """The whole text (joined once per version)."""
        return self._chunks.text

    @property
    def length(self) -> int:
        return self._chunks.length

    def slice(self, start: int, end: int) -> str:
        """The text between two offsets (clamped into the document)."""
        return self._chunks.slice(start, end)

    @property
    def line_count(self) -> int:
        return self._chunks.line_count

    def line(self, i: int) -> str:
        """Line i without its line break."""
        return self._chunks.line(i)

    @property
    def lines(self) -> Lines:
        return Lines(self._chunks)

    def check_line(self, line: int) -> None:
        if not 0 <= line < self.line_count:
            raise InvalidParams(f"line {line} is outside the document ({self.line_count} lines)")

    def offset_at(self, line: int, column: int, encoding: str = UTF16) -> int:
        """The offset of an LSP position; a line outside the document is an InvalidParams error."""
        self.check_line(line)
        return self._chunks.line_span(line)[0] + column_to_index(self.line(line), column, encoding)

    def edit_offset(self, line: int, column: int, encoding: str = UTF16) -> int:
        """The offset of a position in an edit: as offset_at, but a line past the end means the document's end."""
        if line >= self.line_count:
            return self.length
        return self.offset_at(max(0, line), column, encoding)

    def edited(self, start: int, end: int, new: str) -> DocumentText:
        """The next version: the text between two offsets replaced by ``new`` (``end`` before ``start``: none)."""
        return DocumentText(self._chunks.replace(start, end, new))

    def line_end_column(self, line: int, encoding: str = UTF16) -> int:
        """The column of the end of a line."""
        return units(self.line(line), encoding)

    def position_at(self, offset: int, encoding: str = UTF16) -> tuple[int, int]:
        """The (line, column) of an offset (clamped into the document)."""
        offset = max(0, min(offset, self.length))
        line = self._chunks.line_of(offset)
        start, end = self._chunks.line_span(line)
        return line, units(self._chunks.slice(start, min(offset, end)), encoding)

    def end_position(self, encoding: str = UTF16) -> tuple[int, int]:
        last = self.line_count - 1
        return last, self.line_end_column(last, encoding)
