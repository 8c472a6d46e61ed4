"""Turning model output into edits: fenced answers to code, fill-in-the-middle answers to ghost text."""

from __future__ import annotations

import re

CLOSING_FENCE_STOP = "\n```"  # a stop string for the engine: the answer was primed with the opening fence
_FENCE_LINE = re.compile(r"^[ \t]*```")
_NOTHING_MEANINGFUL = re.compile(r"[\s)\]};,]*")  # after the cursor: only auto-closed brackets and the like
_OPENER_WORD = re.compile(r"(?:^|\W)(?:do|then)$")  # Ruby, Lua, shell blocks
MULTILINE_OPENERS = (":", "{", "(", "[", "=>")
_PAIRS = {")": "(", "]": "[", "}": "{"}
_QUOTES = "'\"`"


def leading_indent(line: str) -> str:
    """The spaces and tabs a line starts with."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def extract_code(response: str) -> str:
    """The code of an answer primed with an opening fence: everything up to the closing fence line.

    A repeated opening fence on the first line is dropped; without a closing fence (the answer was cut
    by max tokens) a last line of only backticks (a fence cut short) is dropped. Blank edges go.
    """
    lines = [line.rstrip("\r") for line in response.split("\n")]
    if _FENCE_LINE.match(lines[0]):  # the model repeated the opening fence
        lines = lines[1:]
    code: list[str] = []
    for line in lines:
        if _FENCE_LINE.match(line):
            break
        code.append(line)
    else:
        if code and code[-1].strip() and not code[-1].strip().strip("`"):
            code.pop()
    while code and not code[0].strip():
        code.pop(0)
    return "\n".join(code).rstrip()


def _common_indent(lines: list[str]) -> str:
    """The longest indentation every non-blank line starts with, character for character."""
    indents = [leading_indent(line) for line in lines if line.strip()]
    if not indents:
        return ""
    common = indents[0]
    for indent in indents[1:]:
        n = 0
        while n < min(len(common), len(indent)) and common[n] == indent[n]:
            n += 1
        common = common[:n]
    return common


def reindent(code: str, indent: str) -> str:
    """Remove the code's common indentation (tabs and spaces never mixed up) and prefix non-blank lines with ``indent``.

    Whitespace-only lines become empty, like textwrap.dedent makes them.
    """
    lines = code.split("\n")
    common = _common_indent(lines)
    return "\n".join(indent + line[len(common) :] if line.strip() else "" for line in lines)


def is_multiline_context(line_prefix: str, line_suffix: str) -> bool:
    """Whether an inline completion may span lines.

    Yes at the end of a blank line or after a block opener (``:`` ``{`` ``(`` ``[`` ``=>``, ``do``,
    ``then``), with nothing but closing brackets, ``;`` or ``,`` after the cursor; one line otherwise.
    """
    if not _NOTHING_MEANINGFUL.fullmatch(line_suffix):
        return False
    return not line_prefix.strip() or ends_with_opener(line_prefix)


def ends_with_opener(line_prefix: str) -> bool:
    """Whether the text before the cursor ends by opening a block (``:`` ``{`` ``(`` ``[`` ``=>``, ``do``, ``then``)."""
    before = line_prefix.rstrip()
    return bool(before) and (before.endswith(MULTILINE_OPENERS) or bool(_OPENER_WORD.search(before)))


def _unmatched_closers(text: str) -> dict[str, int]:
    """How many of each closing bracket in text close nothing opened before them in text."""
    unmatched = dict.fromkeys(_PAIRS, 0)
    for closer, opener in _PAIRS.items():
        depth = 0
        for ch in text:
            if ch == opener:
                depth += 1
            elif ch == closer:
                if depth:
                    depth -= 1
                else:
                    unmatched[closer] += 1
    return unmatched


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _droppable(completion: str, n: int) -> bool:
    """Whether the last n characters may go: no word is split, no bracket or quote is left unpaired."""
    tail = completion[-n:]
    if n < len(completion) and _is_word(completion[-n - 1]) and _is_word(tail[0]):
        return False
    whole, own = _unmatched_closers(completion), _unmatched_closers(tail)
    if any(own[c] > whole[c] for c in _PAIRS):
        return False
    return all(completion.count(q) % 2 == 1 for q in _QUOTES if q in tail)


def _overlap(completion: str, suffix_line: str) -> int:
    """Length of the longest end of the completion that the text after the cursor repeats."""
    for n in range(min(len(completion), len(suffix_line)), 0, -1):
        if suffix_line.startswith(completion[-n:]) and _droppable(completion, n):
            return n
    return 0


def trim_completion(completion: str, suffix: str, multiline: bool) -> str:
    """Ghost text from the model's infill: one line unless multiline, no overlap with what follows.

    Trailing whitespace goes; so does an end of the completion that repeats the start of the line after
    the cursor (``foo(x))`` before ``)`` gives ``foo(x)``). "" when nothing but whitespace is left.
    """
    if not multiline:
        completion = completion.split("\n", 1)[0]
    completion = completion.rstrip()
    suffix_line = suffix.split("\n", 1)[0].rstrip("\r").strip()
    if suffix_line:
        # What came before the repeated part stays as it is: "x " before "+ 1" keeps its space.
        completion = completion[: len(completion) - _overlap(completion, suffix_line)]
    return completion if completion.strip() else ""
