"""Positions: LSP columns in UTF-16 / UTF-8 / UTF-32, emoji and surrogate pairs, CRLF and lone CR lines."""

from __future__ import annotations

import pytest

from lsp_server.errors import InvalidParams
from lsp_server.text import UTF8, UTF16, UTF32, DocumentText, column_to_index, units

LINE = "a🐍b漢c"  # 🐍 is 2 UTF-16 units and 4 UTF-8 bytes; 漢 is 1 and 3


@pytest.mark.parametrize("encoding, sizes", [(UTF16, 6), (UTF8, 10), (UTF32, 5)])
def test_units(encoding, sizes):
    assert units(LINE, encoding) == sizes


@pytest.mark.parametrize(
    "encoding, column, index",
    [
        (UTF16, 0, 0),
        (UTF16, 1, 1),
        (UTF16, 2, 1),
        (UTF16, 3, 2),
        (UTF16, 4, 3),
        (UTF16, 5, 4),
        (UTF16, 99, 5),
        (UTF8, 1, 1),
        (UTF8, 3, 1),
        (UTF8, 5, 2),
        (UTF8, 7, 3),
        (UTF8, 8, 3),
        (UTF8, 9, 4),
        (UTF32, 2, 2),
        (UTF32, 99, 5),
    ],
)
def test_a_column_inside_a_character_means_its_start_and_past_the_end_means_the_end(encoding, column, index):
    assert column_to_index(LINE, column, encoding) == index


@pytest.mark.parametrize("text", ["ab\r\ncd\r\n", "ab\ncd\n", "ab\rcd\r", "ab\r\ncd\rx\n"])
def test_lines_end_at_any_lsp_line_break(text):
    doc = DocumentText(text)
    assert doc.lines[:2] == ["ab", "cd"]
    assert doc.line_count == text.count("\n") + text.count("\r") - text.count("\r\n") + 1


def test_unicode_line_separators_are_not_line_breaks():
    """str.splitlines would split at U+2028 and form feeds; LSP does not."""
    doc = DocumentText("a\u2028b\x0cc\nd")
    assert list(doc.lines) == ["a\u2028b\x0cc", "d"]


def test_offsets_and_positions_round_trip_with_emoji_and_crlf():
    text = "x = '😀'\r\ny = 1\r\n"
    doc = DocumentText(text)
    assert doc.offset_at(0, 7, UTF16) == text.index("'", 5)  # after the 2-unit emoji
    assert doc.offset_at(0, 99, UTF16) == text.index("\r")  # a column past the end: the line's end
    assert doc.offset_at(1, 0) == text.index("y")
    for offset in range(len(text) + 1):
        line, column = doc.position_at(offset, UTF16)
        if text[offset - 1 : offset] != "\r":  # inside a CRLF there is no position
            assert doc.offset_at(line, column, UTF16) == min(offset, doc.offset_at(line, 999, UTF16))
    assert doc.end_position(UTF16) == (2, 0)
    assert doc.line_end_column(0, UTF8) == len("x = '😀'".encode())


def test_lines_outside_the_document_are_invalid_params():
    doc = DocumentText("one\ntwo")
    with pytest.raises(InvalidParams, match="outside the document"):
        doc.offset_at(2, 0)
    with pytest.raises(InvalidParams):
        doc.check_line(-1)
    assert list(DocumentText("").lines) == [""] and DocumentText("").offset_at(0, 5) == 0
