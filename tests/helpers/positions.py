"""LSP positions and ranges, short."""

from __future__ import annotations

from lsprotocol import types


def pos(line: int, character: int) -> types.Position:
    return types.Position(line, character)


def span(start_line: int, start_char: int, end_line: int, end_char: int) -> types.Range:
    return types.Range(pos(start_line, start_char), pos(end_line, end_char))
