"""Cleaning a fill-in-the-middle answer into ghost text (pure).

On top of postprocess.trim_completion (one line unless multi-line, no overlap with the suffix):
a multi-line answer stops at a line indented less than the cursor's block, a bracket that closes
nothing opened before it ends the answer, and repetitions (a block of lines said again right
after itself, a phrase said three times in a row, the line above the cursor said again) go.
"""

from __future__ import annotations

import re

from .postprocess import ends_with_opener, leading_indent, trim_completion

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {close: open_ for open_, close in OPENERS.items()}
QUOTES = "\"'`"
TAB_WIDTH = 4
PREFIX_SCAN_CHARS = 4000  # how much text before the cursor is scanned for open brackets
MAX_PERIOD = 8  # the longest block of lines checked for immediate repetition
_CLOSING_LINE = re.compile(r"[)\]}]+[;,]?|end|fi|done|esac")
_PHRASE_LOOP = re.compile(r"(.{8,}?)\1{2,}")
_SPECIAL = re.compile(r"[\n\\\"'`()\[\]{}]")  # what _scan looks at


def indent_width(line: str) -> int:
    return len(leading_indent(line).expandtabs(TAB_WIDTH))


def stop_at_dedent(completion: str, line_prefix: str, suffix: str) -> str:
    """The lines of a multi-line completion up to the first one indented below the cursor's block.

    The block is the cursor line's (its indentation is the limit) or, after an opener such as
    ``:`` or ``{``, the new one (deeper than the cursor line). A closing line (``}``, ``end``) at
    the cursor line's indentation still belongs to the new block, unless the suffix already has it.
    """
    lines = completion.split("\n")
    cursor_indent = indent_width(line_prefix)
    new_block = ends_with_opener(line_prefix)
    limit = cursor_indent + 1 if new_block else cursor_indent
    closer_ahead = bool(_CLOSING_LINE.match(suffix.lstrip()))
    for i in range(1, len(lines)):
        line = lines[i]
        if not line.strip() or indent_width(line) >= limit:
            continue
        if (
            new_block
            and not closer_ahead
            and indent_width(line) == cursor_indent
            and _CLOSING_LINE.fullmatch(line.strip())
        ):
            return "\n".join(lines[: i + 1])
        return "\n".join(lines[:i]).rstrip()
    return completion


def _scan(text: str, stack: list[str]) -> int | None:
    """Push and pop brackets of text (quoted strings skipped, a quote ends at the line's end).

    Returns the index of the first closer that matches nothing on the stack, else None. Only the
    characters that matter are visited (a regex finds them): this runs on every completion.
    """
    quote = None
    escaped = -1  # the index of the character after a backslash inside a quote
    for match in _SPECIAL.finditer(text):
        i, ch = match.start(), match.group()
        if ch == "\n":
            quote = None
        elif quote:
            if i == escaped:
                continue
            if ch == "\\":
                escaped = i + 1
            elif ch == quote:
                quote = None
        elif ch in QUOTES:
            quote = ch
        elif ch in OPENERS:
            stack.append(ch)
        elif ch in CLOSERS:
            if not stack or stack[-1] != CLOSERS[ch]:
                return i
            stack.pop()
    return None


def open_brackets(prefix: str) -> list[str]:
    """The brackets still open at the end of the text before the cursor (its last few thousand characters)."""
    stack: list[str] = []
    text = prefix[-PREFIX_SCAN_CHARS:]
    while (i := _scan(text, stack)) is not None:  # a stray closer in the prefix: ignore it
        text = text[i + 1 :]
    return stack


def balance_brackets(completion: str, prefix: str) -> str:
    """The completion up to (not including) the first bracket that closes nothing opened before it."""
    cut = _scan(completion, open_brackets(prefix))
    return completion if cut is None else completion[:cut].rstrip(" \t")


def _meaningful(lines: list[str]) -> bool:
    return any(sum(ch.isalnum() for ch in line) >= 2 for line in lines)


def _repeat_cut(lines: list[str]) -> int:
    """Where a block of lines first repeats right after itself (the end of its first copy), else len(lines)."""
    best = len(lines)
    for period in range(1, MAX_PERIOD + 1):
        for i in range(0, len(lines) - 2 * period + 1):
            if i + period >= best:
                break
            block = lines[i : i + period]
            if block == lines[i + period : i + 2 * period] and _meaningful(block):
                best = i + period
                break
    return best


def drop_repetition(completion: str, prefix: str) -> str:
    """The completion without loops: a repeated block of lines or phrase is kept once, and
    an answer that starts a new line by repeating the previous line is dropped."""
    lines = completion.split("\n")
    lines = lines[: _repeat_cut(lines)]
    text = "\n".join(lines)
    loop = _PHRASE_LOOP.search(text)
    if loop:
        text = text[: loop.start() + len(loop.group(1))]
    line_prefix = prefix[prefix.rfind("\n") + 1 :]
    previous = next((line.strip() for line in reversed(prefix.split("\n")[-20:-1]) if line.strip()), "")
    first = text.strip().split("\n", 1)[0].strip()
    if not line_prefix.strip() and first and first == previous and _meaningful([first]):
        return ""
    return text


def clean_infill(completion: str, prefix: str, suffix: str, line_prefix: str, multiline: bool) -> str:
    """Ghost text from the model's infill ("" when nothing useful is left)."""
    if multiline:
        completion = stop_at_dedent(completion, line_prefix, suffix)
    else:
        completion = completion.split("\n", 1)[0]
    completion = drop_repetition(completion, prefix[-PREFIX_SCAN_CHARS:])
    completion = balance_brackets(completion, prefix)
    return trim_completion(completion, suffix, multiline)
