"""Turning model output into edits: fenced answers to code, infill to ghost text."""

from __future__ import annotations

import re

CLOSING_FENCE_STOP = "\n```"  # the engine stops here: the answer was primed with the opening fence
_FENCE_LINE = re.compile(r"^\s*```")
MULTILINE_OPENERS = (":", "{", "(", "[", "=>", "->", "do", "then")


def leading_indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def extract_code(response: str) -> str:
    """The code of an answer that was primed with an opening fence: up to the closing fence."""
    lines = response.split("\n")
    if lines and _FENCE_LINE.match(lines[0]):  # the model repeated the opening fence
        lines = lines[1:]
    code: list[str] = []
    for line in lines:
        if _FENCE_LINE.match(line):
            break
        code.append(line)
    else:
        # No closing fence (cut by max tokens): drop a trailing partial fence like "``".
        if code and code[-1].strip() and set(code[-1].strip()) == {"`"}:
            code.pop()
    while code and not code[-1].strip():
        code.pop()
    return "\n".join(line.rstrip() for line in code)


def _common_indent(lines: list[str]) -> str:
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
    """Remove the code's common indentation and indent every non-empty line with ``indent``."""
    lines = code.split("\n")
    common = _common_indent(lines)
    return "\n".join(indent + line[len(common) :] if line.strip() else "" for line in lines)


def is_multiline_context(line_prefix: str, line_suffix: str) -> bool:
    """Multi-line completion at the end of a blank line or after a block opener; else one line."""
    if line_suffix.strip() and line_suffix.strip() not in {")", "]", "}", ");", "];", "};"}:
        return False
    before = line_prefix.rstrip()
    return not before or before.endswith(MULTILINE_OPENERS)


def _overlap(completion: str, suffix_line: str) -> int:
    """Length of the longest end of completion that the text after the cursor starts with."""
    for n in range(min(len(completion), len(suffix_line)), 0, -1):
        if suffix_line.startswith(completion[-n:]):
            return n
    return 0


def trim_completion(completion: str, suffix: str, multiline: bool) -> str:
    """Ghost text: one line unless multiline, no overlap with what follows the cursor."""
    if not multiline:
        completion = completion.split("\n", 1)[0]
    completion = completion.rstrip()
    suffix_line = suffix.split("\n", 1)[0].rstrip("\r").strip()
    if suffix_line:
        completion = completion[: len(completion) - _overlap(completion, suffix_line)].rstrip()
    return completion if completion.strip() else ""
