"""A document's text as an immutable sequence of chunks of whole lines (pure).

An edit builds a new text that shares every chunk it does not touch with the old one: it costs the
edit, the chunk or two it lands in (a few kB) and one pass over the list of chunks (a pointer per
4 kB), whatever the document's size, and the old text stays as it was (a request holding it is
never disturbed by a keystroke). Line tables are built per chunk, when first asked for.

Lines end at "\\n", "\\r\\n" or "\\r". Every chunk but the last ends with a line break, and a chunk
ending with "\\r" is never followed by one starting with "\\n": no line, and no "\\r\\n", straddles
two chunks.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate

CHUNK_CHARS = 4096  # a chunk's size: split beyond twice this, merged with a neighbour below a quarter of it
BREAK = re.compile(r"\r\n|\r|\n")


def count_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def line_table(text: str) -> tuple[list[int], list[int]]:
    """Start and end (before the break) offsets of every line of ``text``, the one after its last break included."""
    crs = text.count("\r")
    if crs and crs != text.count("\r\n"):  # lone "\r" breaks: the general (slower) way
        starts, ends = [0], []
        for match in BREAK.finditer(text):
            ends.append(match.start())
            starts.append(match.end())
        ends.append(len(text))
        return starts, ends
    lengths = [len(part) + 1 for part in text.split("\n")]  # str.split is fast, even on 10 MB
    starts = [0, *accumulate(lengths[:-1])]
    ends = [start + length - 1 for start, length in zip(starts, lengths, strict=True)]
    if crs:  # "\r\n" breaks only
        ends = [end - (end > start and text[end - 1] == "\r") for start, end in zip(starts, ends, strict=True)]
    return starts, ends


def pieces(text: str) -> list[str]:
    """``text`` cut after line breaks into pieces of about CHUNK_CHARS (a longer line stays whole)."""
    found, pos = [], 0
    while len(text) - pos > 2 * CHUNK_CHARS:
        brk = BREAK.search(text, pos + CHUNK_CHARS)  # "\r\n" is matched whole: never cut between the two
        if brk is None:
            break
        found.append(text[pos : brk.end()])
        pos = brk.end()
    if pos < len(text) or not found:
        found.append(text[pos:])
    return found


class Chunk:
    """Whole lines of text; ``breaks`` line breaks in it."""

    __slots__ = ("_table", "breaks", "text")

    def __init__(self, text: str):
        self.text = text
        self.breaks = count_breaks(text)
        self._table: tuple[list[int], list[int]] | None = None

    def table(self) -> tuple[list[int], list[int]]:
        """line_table() of the chunk, built once."""
        if self._table is None:
            self._table = line_table(self.text)
        return self._table


class ChunkedText:
    """Text as chunks; offsets are code-point indices into the whole text, lines are numbered from 0."""

    __slots__ = ("_first_chars", "_first_lines", "_text", "chunks")

    def __init__(self, chunks: tuple[Chunk, ...]):
        self.chunks = chunks or (Chunk(""),)
        self._first_lines: list[int] | None = None
        self._first_chars: list[int] | None = None
        self._text: str | None = None

    @classmethod
    def from_text(cls, text: str) -> ChunkedText:
        return cls(tuple(Chunk(piece) for piece in pieces(text)))

    def _index(self) -> tuple[list[int], list[int]]:
        """The first line and first offset of every chunk (plus the totals at the end)."""
        if self._first_lines is None or self._first_chars is None:
            self._first_lines = [0, *accumulate(c.breaks for c in self.chunks)]
            self._first_chars = [0, *accumulate(len(c.text) for c in self.chunks)]
        return self._first_lines, self._first_chars

    @property
    def line_count(self) -> int:
        return self._index()[0][-1] + 1

    @property
    def length(self) -> int:
        return self._index()[1][-1]

    @property
    def text(self) -> str:
        """The whole text (joined once; every request reading a document whole pays for it)."""
        if self._text is None:
            self._text = "".join(c.text for c in self.chunks)
        return self._text

    def _chunk_of_line(self, line: int) -> int:
        return min(bisect_right(self._index()[0], line), len(self.chunks)) - 1

    def _chunk_of_offset(self, offset: int) -> int:
        return min(bisect_right(self._index()[1], offset), len(self.chunks)) - 1

    def line_span(self, line: int) -> tuple[int, int]:
        """The offsets of the start of a line and of its end (before its break); 0 <= line < line_count."""
        k = self._chunk_of_line(line)
        first_lines, first_chars = self._index()
        starts, ends = self.chunks[k].table()
        j = line - first_lines[k]
        return first_chars[k] + starts[j], first_chars[k] + ends[j]

    def line(self, line: int) -> str:
        """A line without its break; 0 <= line < line_count."""
        k = self._chunk_of_line(line)
        chunk = self.chunks[k]
        starts, ends = chunk.table()
        j = line - self._index()[0][k]
        return chunk.text[starts[j] : ends[j]]

    def lines(self, first: int = 0, stop: int | None = None) -> Iterator[str]:
        """Lines first..stop-1 without their breaks, chunk by chunk."""
        stop = self.line_count if stop is None else min(stop, self.line_count)
        line, first_lines, last = max(0, first), self._index()[0], len(self.chunks) - 1
        while line < stop:
            k = self._chunk_of_line(line)
            chunk = self.chunks[k]
            starts, ends = chunk.table()
            held = len(starts) if k == last else chunk.breaks  # the line after a chunk's last break is the next's
            for j in range(line - first_lines[k], min(held, stop - first_lines[k])):
                yield chunk.text[starts[j] : ends[j]]
            line = first_lines[k] + held

    def line_of(self, offset: int) -> int:
        """The line holding an offset (its break included); 0 <= offset <= length."""
        k = self._chunk_of_offset(offset)
        first_lines, first_chars = self._index()
        starts = self.chunks[k].table()[0]
        return first_lines[k] + bisect_right(starts, offset - first_chars[k]) - 1

    def slice(self, start: int, end: int) -> str:
        """The text between two offsets (clamped into the text), read from the chunks that hold it."""
        start, end = max(0, start), min(end, self.length)
        if start >= end:
            return ""
        first_chars = self._index()[1]
        first, last = self._chunk_of_offset(start), self._chunk_of_offset(end - 1)
        parts = [c.text for c in self.chunks[first : last + 1]]
        return "".join(parts)[start - first_chars[first] : end - first_chars[first]]

    def replace(self, start: int, end: int, new: str) -> ChunkedText:
        """A new text: this one with the text between two offsets (clamped, ordered) replaced by ``new``."""
        chunks, first_chars = self.chunks, self._index()[1]
        start = max(0, min(start, self.length))
        end = max(start, min(end, self.length))
        lo, hi = self._chunk_of_offset(start), self._chunk_of_offset(end) + 1
        middle = chunks[lo].text[: start - first_chars[lo]] + new + chunks[hi - 1].text[end - first_chars[hi - 1] :]
        lo, hi, middle = _sewn(chunks, lo, hi, middle)
        made = [Chunk(piece) for piece in pieces(middle) if piece]
        edited = ChunkedText((*chunks[:lo], *made, *chunks[hi:]))
        if len(edited.chunks) == len(chunks) - (hi - lo) + len(made):  # not emptied: the index carries over
            edited._first_lines = _shifted(self._index()[0], lo, hi, [c.breaks for c in made])
            edited._first_chars = _shifted(first_chars, lo, hi, [len(c.text) for c in made])
        return edited


def _shifted(firsts: list[int], lo: int, hi: int, sizes: list[int]) -> list[int]:
    """An index (the first line, or offset, of every chunk and the total) after chunks[lo:hi] became chunks of
    ``sizes``: the same before them, accumulated through them, shifted after them."""
    middle = list(accumulate(sizes, initial=firsts[lo]))
    shift = middle[-1] - firsts[hi]
    after = firsts[hi + 1 :]
    return firsts[:lo] + middle + (list(map(shift.__add__, after)) if shift else after)


def _sewn(chunks: tuple[Chunk, ...], lo: int, hi: int, middle: str) -> tuple[int, int, str]:
    """chunks[lo:hi] are to become ``middle``: take in the chunk before where the seam would split a "\r\n", and
    a neighbour where ``middle`` is too small to be a chunk of its own. (The seam after ``middle`` is the old one:
    ``middle`` ends as chunks[hi - 1] did.)"""
    if lo > 0 and chunks[lo - 1].text.endswith("\r") and middle.startswith("\n"):
        lo -= 1
        middle = chunks[lo].text + middle
    if len(middle) < CHUNK_CHARS // 4 and hi < len(chunks):
        middle += chunks[hi].text
        hi += 1
    elif len(middle) < CHUNK_CHARS // 4 and lo > 0:
        lo -= 1
        middle = chunks[lo].text + middle
    return lo, hi, middle
