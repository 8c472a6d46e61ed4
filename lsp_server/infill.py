"""Cleaning a fill-in-the-middle answer into ghost text (pure).

On top of postprocess.trim_completion (one line unless multi-line, no overlap with the suffix):
a multi-line answer stops where it starts writing again the lines that follow the cursor (the model went on
past the hole), and at a line that leaves the cursor's scope (in Python-like code the outermost function around
the cursor, whose body a fill may dedent within; otherwise the cursor's block); a bracket that closes nothing
opened before it ends the answer; and repetitions (a block of lines said again right after itself, even
re-indented, a phrase said three times in a row, the line above the cursor said again) go.
"""

from __future__ import annotations

import re

from .postprocess import ends_with_opener, leading_indent, trim_completion

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {close: open_ for open_, close in OPENERS.items()}
QUOTES = "\"'`"
TAB_WIDTH = 4
PREFIX_SCAN_CHARS = 4000  # how much text before the cursor is scanned for open brackets
SCOPE_SCAN_LINES = 200  # how many lines above the cursor are searched for the enclosing definition
SUFFIX_MATCH_LINES = 2  # lines of the text after the cursor that a completion must write again to be cut there
MAX_PERIOD = 8  # the longest block of lines checked for immediate repetition
_CLOSING_LINE = re.compile(r"[)\]}]+[;,]?|end|fi|done|esac")
_PHRASE_LOOP = re.compile(r"(.{8,}?)\1{2,}")
_DEFINITION = re.compile(r"[ \t]*(?:async[ \t]+)?(def|class)[ \t]+\w+.*:[ \t]*(?:#.*)?$")
_SPECIAL = re.compile(r"[\n\\\"'`()\[\]{}]")  # what _scan looks at


def indent_width(line: str) -> int:
    return len(leading_indent(line).expandtabs(TAB_WIDTH))


def enclosing_scope(prefix: str, cursor_indent: int) -> frozenset[int] | None:
    """In Python-like code, the indentations a fill at the cursor may dedent to: those of the lines that enclose
    the cursor (going up, each indented less than the one before) inside the outermost ``def`` around it (a
    method's, in a class), nested ``def`` lines included, the outermost one's not. None when no ``def``
    encloses the cursor."""
    chain: list[tuple[int, bool]] = []  # (indentation, is a def) of the enclosing lines, innermost first
    bound = cursor_indent
    for line in reversed(prefix.split("\n")[-SCOPE_SCAN_LINES:-1]):
        if not line.strip() or indent_width(line) >= bound:
            continue
        bound = indent_width(line)
        header = _DEFINITION.match(line)
        if header and header.group(1) == "class":
            break
        chain.append((bound, bool(header)))
        if bound == 0:
            break
    outermost = max((i for i, (_, is_def) in enumerate(chain) if is_def), default=None)
    return None if outermost is None else frozenset(indent for indent, _ in chain[:outermost])


def stop_at_dedent(completion: str, line_prefix: str, suffix: str, prefix: str = "") -> str:
    """The lines of a multi-line completion up to the first one that leaves the cursor's scope.

    On a new line (only indentation before the cursor) inside a Python-like ``def``, the scope is the body of the
    outermost function around it (a method's, in a class): a fill may close blocks, nested functions included,
    and go on at an outer level of that body (the hole may span them), but not leave it (the next function).
    Elsewhere the scope is the cursor line's block (its indentation is the limit) or, after an opener such as
    ``:`` or ``{``, the new one (deeper than the cursor line). A closing line (``}``, ``end``) at the cursor
    line's indentation still belongs to the new block, unless the suffix already has it.
    """
    lines = completion.split("\n")
    cursor_indent = indent_width(line_prefix)
    new_block = ends_with_opener(line_prefix)
    limit = cursor_indent + 1 if new_block else cursor_indent
    scope = enclosing_scope(prefix, cursor_indent) if not line_prefix.strip() else None
    closer_ahead = bool(_CLOSING_LINE.match(suffix.lstrip()))
    opened: int | None = None  # a block header the fill wrote at an enclosing level: its body is in scope too
    for i in range(1, len(lines)):
        line = lines[i]
        width = indent_width(line)
        if not line.strip() or width >= limit:
            continue
        if scope is not None and width in scope:  # back to a block around the cursor, inside its function
            opened = width if line.rstrip().endswith(":") else None
            continue
        if opened is not None and width > opened:  # in the body of a block the fill opened there
            continue
        if new_block and not closer_ahead and width == cursor_indent and _CLOSING_LINE.fullmatch(line.strip()):
            return "\n".join(lines[: i + 1])
        return "\n".join(lines[:i]).rstrip()
    return completion


def stop_before_suffix(completion: str, suffix: str) -> str:
    """The completion up to the line where it starts writing again the lines that follow the cursor's line
    (a model that went on past the hole into code that is already there): the next SUFFIX_MATCH_LINES
    non-blank lines of the suffix, indentation included (fewer when the completion ends first)."""
    ahead = [line.rstrip() for line in suffix.split("\n")[1:] if line.strip()][:SUFFIX_MATCH_LINES]
    if not ahead:
        return completion
    lines = completion.split("\n")
    for i in range(1, len(lines)):
        if not lines[i].strip():
            continue
        run = [line.rstrip() for line in lines[i:] if line.strip()][: len(ahead)]
        if run == ahead[: len(run)]:
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
    """Where a block of lines first repeats right after itself, even re-indented (the end of its first copy),
    else len(lines)."""
    best = len(lines)
    bare = [line.strip() for line in lines]
    for period in range(1, MAX_PERIOD + 1):
        for i in range(0, len(lines) - 2 * period + 1):
            if i + period >= best:
                break
            block = bare[i : i + period]
            if block == bare[i + period : i + 2 * period] and _meaningful(block):
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
        completion = stop_before_suffix(completion, suffix)
        completion = stop_at_dedent(completion, line_prefix, suffix, prefix)
    else:
        completion = completion.split("\n", 1)[0]
    completion = drop_repetition(completion, prefix[-PREFIX_SCAN_CHARS:])
    completion = balance_brackets(completion, prefix)
    return trim_completion(completion, suffix, multiline)
