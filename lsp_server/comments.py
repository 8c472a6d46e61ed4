"""Finding the instruction comment of an Ask Magicoder request, per language's comment syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass

HASH = ("#",)
SLASH = ("//",)
DASH = ("--",)
LINE_COMMENTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ["python", "shellscript", "ruby", "perl", "r", "yaml", "toml", "dockerfile", "makefile", "powershell",
         "elixir", "julia", "nim", "coffeescript", "cmake", "properties"],
        HASH,
    ),
    **dict.fromkeys(
        ["javascript", "javascriptreact", "typescript", "typescriptreact", "go", "rust", "java", "c", "cpp",
         "csharp", "kotlin", "swift", "scala", "dart", "groovy", "objective-c", "objective-cpp", "zig", "proto",
         "jsonc", "fsharp"],
        SLASH,
    ),
    **dict.fromkeys(["sql", "lua", "haskell", "ada", "elm", "purescript"], DASH),
    "php": ("//", "#"),
    "vb": ("'",),
    "matlab": ("%",),
    "latex": ("%",),
    "erlang": ("%",),
    "clojure": (";",),
    "lisp": (";",),
    "scheme": (";",),
    "bat": ("REM ", "::"),
    "vim": ('"',),
}
BLOCK_COMMENT_LANGUAGES = {lang for lang, marks in LINE_COMMENTS.items() if marks == SLASH} | {"php", "sql", "css"}
FALLBACK = ("#", "//")
PRAGMA = re.compile(
    r"^(type:|noqa\b|pylint:|fmt:|pragma\b|isort:|mypy:|pyright:|ruff:|eslint|prettier-ignore|@ts-|"
    r"nolint\b|#region|#endregion|region\b|endregion\b|-\*-)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InstructionComment:
    text: str  # the comment's words, markers removed, lines joined by a space
    start_line: int  # 0-based, inclusive
    end_line: int  # inclusive


def comment_markers(language_id: str) -> tuple[str, ...]:
    return LINE_COMMENTS.get(language_id, FALLBACK)


def comment_text(line: str, language_id: str) -> str | None:
    """The words of a comment-only line, or None if the line is not (only) a comment."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#!"):
        return None
    for marker in sorted(comment_markers(language_id), key=len, reverse=True):
        if stripped.upper().startswith(marker.upper()):
            body = stripped[len(marker) :]
            return body.lstrip("/!").strip() if marker == "//" else body.lstrip(marker[:1]).strip()
    if language_id in BLOCK_COMMENT_LANGUAGES or language_id not in LINE_COMMENTS:
        match = re.fullmatch(r"/\*+(.*?)\*+/", stripped) or re.fullmatch(r"/\*+(.*)", stripped)
        if match:
            return match.group(1).strip()
        if stripped.startswith("*"):  # inside a block comment: " * more words" or " */"
            return stripped.strip("*/ ").strip()
    return None


def _is_instruction(words: str) -> bool:
    return bool(words) and not PRAGMA.match(words)


def _collect(lines: list[str], indices: range, language_id: str) -> list[tuple[int, str]]:
    found = []
    for i in indices:
        text = comment_text(lines[i], language_id)
        if text is None:
            break
        found.append((i, text))
    return found


def _make(found: list[tuple[int, str]]) -> InstructionComment | None:
    words = " ".join(t for _, t in sorted(found) if t)
    if not found or not _is_instruction(words):
        return None
    lines = [i for i, _ in found]
    return InstructionComment(words, min(lines), max(lines))


def find_instruction_comment(
    lines: list[str], start_line: int, end_line: int, language_id: str
) -> InstructionComment | None:
    """The comment atop the selection (after blank lines), else the one directly above it."""
    if not lines:
        return None
    start_line = max(0, min(start_line, len(lines) - 1))
    end_line = max(start_line, min(end_line, len(lines) - 1))
    first = start_line
    while first <= end_line and not lines[first].strip():
        first += 1
    if first <= end_line:
        atop = _make(_collect(lines, range(first, end_line + 1), language_id))
        if atop is not None:
            return atop
    return _make(_collect(lines, range(start_line - 1, -1, -1), language_id))


def code_range_after_comment(
    lines: list[str], start_line: int, end_line: int, comment: InstructionComment
) -> tuple[int, int] | None:
    """The selection's code lines: below the comment when it sits atop the selection."""
    if not lines:
        return None
    start_line = max(0, min(start_line, len(lines) - 1))
    end_line = max(start_line, min(end_line, len(lines) - 1))
    first = comment.end_line + 1 if comment.start_line >= start_line else start_line
    while first <= end_line and not lines[first].strip():
        first += 1
    last = end_line
    while last >= first and not lines[last].strip():
        last -= 1
    return (first, last) if first <= last else None
