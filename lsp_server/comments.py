"""Finding the instruction comment of an Ask Magicoder request, per language's comment syntax.

The user writes what they want as a comment directly above the selection or as its first line(s)::

    # make this async and retry 3 times
    def fetch(url):
        return requests.get(url).text

Pure functions over the document's lines (the caller splits on "\\n" and strips a trailing "\\r").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

HASH = ("#",)
SLASH = ("//",)
DASH = ("--",)
C_BLOCK = (("/*", "*/"),)
LINE_COMMENTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        [
            "python",
            "shellscript",
            "ruby",
            "perl",
            "r",
            "yaml",
            "toml",
            "dockerfile",
            "makefile",
            "powershell",
            "elixir",
            "julia",
            "nim",
            "coffeescript",
            "cmake",
            "properties",
            "dockercompose",
            "graphql",
            "terraform",
        ],
        HASH,
    ),
    **dict.fromkeys(
        [
            "javascript",
            "javascriptreact",
            "typescript",
            "typescriptreact",
            "go",
            "rust",
            "java",
            "c",
            "cpp",
            "csharp",
            "kotlin",
            "swift",
            "scala",
            "dart",
            "groovy",
            "objective-c",
            "objective-cpp",
            "zig",
            "proto",
            "jsonc",
            "fsharp",
            "solidity",
            "verilog",
            "scss",
            "less",
        ],
        SLASH,
    ),
    **dict.fromkeys(["sql", "lua", "haskell", "ada", "elm", "purescript", "vhdl"], DASH),
    **dict.fromkeys(["css", "html", "xml", "markdown", "vue", "svelte", "ocaml"], ()),
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
BLOCK_COMMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    **{lang: C_BLOCK for lang, marks in LINE_COMMENTS.items() if marks == SLASH},
    **dict.fromkeys(["php", "sql", "css"], C_BLOCK),
    **dict.fromkeys(["html", "xml", "markdown", "vue", "svelte"], (("<!--", "-->"),)),
    "haskell": (("{-", "-}"),),
    "purescript": (("{-", "-}"),),
    "elm": (("{-", "-}"),),
    "lua": (("--[[", "]]"),),
    "ocaml": (("(*", "*)"),),
    "fsharp": (("(*", "*)"), ("/*", "*/")),
}
FALLBACK_LINE = ("#", "//")
FALLBACK_BLOCK = C_BLOCK
# Tool directives, not requests: type-ignore and noqa comments, "// eslint-disable-next-line", "//go:generate", ...
PRAGMA = re.compile(
    r"^(type:|noqa\b|pylint:|fmt:|pragma\b|isort:|mypy:|pyright:|ruff:|flake8:|coding[:=]|-\*-|vim?:|"
    r"eslint|jshint|prettier-ignore|@ts-|istanbul\b|c8\b|nolint|clang-format\b|rubocop:|"
    r"frozen_string_literal:|shellcheck\b|yamllint\b|swiftlint:|go:\w|\+build\b|syntax=|escape=|"
    r"#?region\b|#?endregion\b|</?editor-fold)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InstructionComment:
    """An instruction comment: its words (markers removed, lines joined by a space) and its lines."""

    text: str
    start_line: int  # 0-based, inclusive
    end_line: int  # inclusive


def comment_markers(language_id: str) -> tuple[str, ...]:
    """The line-comment markers of a language (``#`` and ``//`` for an unknown one)."""
    return LINE_COMMENTS.get(language_id, FALLBACK_LINE)


def block_markers(language_id: str) -> tuple[tuple[str, str], ...]:
    """The (open, close) block-comment pairs of a language (``/* */`` for an unknown one)."""
    if language_id in BLOCK_COMMENTS:
        return BLOCK_COMMENTS[language_id]
    return () if language_id in LINE_COMMENTS else FALLBACK_BLOCK


def _line_comment(stripped: str, language_id: str) -> str | None:
    """The words of a line comment (``stripped`` has no surrounding whitespace), else None."""
    if stripped.startswith("#!") or (language_id == "php" and stripped.startswith("#[")):
        return None  # a shebang, or a PHP attribute
    for marker in sorted(comment_markers(language_id), key=len, reverse=True):
        if stripped[: len(marker)].upper() == marker.upper():
            body = stripped[len(marker) :]
            # "///" and "//!" (Rust/Go docs), "##", "---", ";;", "%%": the extra marker characters go too.
            extra = "/!" if marker == "//" else "" if marker[0].isalnum() else marker[0]
            return body.lstrip(extra).strip()
    return None


def _block_words(text: str, opener: str, closer: str) -> str:
    """The words of one line of a block comment: markers and the leading ``*`` of a Javadoc line removed."""
    text = text.strip()
    if text.startswith(opener):
        text = text[len(opener) :].lstrip(opener[-1] + "!")
    if text.endswith(closer):
        text = text[: -len(closer)].rstrip(closer[0])
    text = text.strip()
    if opener == "--[[" and text.startswith("--"):  # Lua's "--]]"
        text = text[2:]
    if opener == "/*" and text.startswith("*"):
        text = text.lstrip("*")
    return text.strip()


def comment_text(line: str, language_id: str) -> str | None:
    """The words of a line that holds only a comment (a line comment or a one-line block), else None."""
    stripped = line.strip()
    if not stripped:
        return None
    for opener, closer in block_markers(language_id):
        if stripped.startswith(opener):
            inner = stripped[len(opener) : -len(closer)]
            complete = stripped.endswith(closer) and len(stripped) >= len(opener + closer) and closer not in inner
            # An unclosed opener ("/**", "--[[") starts a multi-line block: not a line comment.
            return _block_words(stripped, opener, closer) if complete else None
    words = _line_comment(stripped, language_id)
    if words is not None and any(words == closer for _, closer in block_markers(language_id)):
        return None  # Lua's "--]]" ends a multi-line block
    return words


def _block_down(lines: Sequence[str], i: int, last: int, language_id: str) -> list[tuple[int, str]] | None:
    """A multi-line block comment opening on line i and closing (with nothing after) by line ``last``."""
    stripped = lines[i].strip()
    for opener, closer in block_markers(language_id):
        if not stripped.startswith(opener) or closer in stripped[len(opener) :]:
            continue
        for j in range(i + 1, last + 1):
            end = lines[j].rstrip()
            if closer in end:
                if not end.endswith(closer) or end.index(closer) != len(end) - len(closer):
                    return None  # code follows the comment on its last line
                return [(k, _block_words(lines[k], opener, closer)) for k in range(i, j + 1)]
        return None
    return None


def _block_up(lines: Sequence[str], i: int, language_id: str) -> list[tuple[int, str]] | None:
    """A multi-line block comment closing on line i (nothing after it) and opening alone on an earlier line."""
    stripped = lines[i].strip()
    for opener, closer in block_markers(language_id):
        if not stripped.endswith(closer) or opener in stripped:
            continue
        for j in range(i - 1, -1, -1):
            if closer in lines[j]:
                return None
            if opener in lines[j]:
                if not lines[j].strip().startswith(opener):
                    return None  # code precedes the comment on its first line
                return [(k, _block_words(lines[k], opener, closer)) for k in range(j, i + 1)]
        return None
    return None


def _collect_down(lines: Sequence[str], first: int, last: int, language_id: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    i = first
    while i <= last:
        text = comment_text(lines[i], language_id)
        if text is not None:
            found.append((i, text))
            i += 1
            continue
        block = _block_down(lines, i, last, language_id)
        if block is None:
            break
        found.extend(block)
        i = block[-1][0] + 1
    return found


def _collect_up(lines: Sequence[str], last: int, language_id: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    i = last
    while i >= 0:
        text = comment_text(lines[i], language_id)
        if text is not None:
            found.append((i, text))
            i -= 1
            continue
        block = _block_up(lines, i, language_id)
        if block is None:
            break
        found.extend(block)
        i = block[0][0] - 1
    return sorted(found)


def is_pragma(words: str) -> bool:
    """Whether a comment's words are a tool directive (``type: ignore``, ``noqa``, ...), not a request."""
    return bool(PRAGMA.match(words.strip()))


def _make(found: list[tuple[int, str]]) -> InstructionComment | None:
    if not found:
        return None
    words = " ".join(" ".join(t.split()) for _, t in found if t and not is_pragma(t))
    if not words:
        return None
    return InstructionComment(words, found[0][0], found[-1][0])


def _clamp(lines: Sequence[str], start_line: int, end_line: int) -> tuple[int, int]:
    start_line = max(0, min(start_line, len(lines) - 1))
    return start_line, max(start_line, min(end_line, len(lines) - 1))


def find_instruction_comment(
    lines: Sequence[str], start_line: int, end_line: int, language_id: str
) -> InstructionComment | None:
    """The comment atop the selection (after blank lines), else the one directly above it, else None."""
    if not lines:
        return None
    start_line, end_line = _clamp(lines, start_line, end_line)
    first = start_line
    while first <= end_line and not lines[first].strip():
        first += 1
    if first <= end_line:
        atop = _make(_collect_down(lines, first, end_line, language_id))
        if atop is not None:
            return atop
    if start_line == 0:
        return None
    return _make(_collect_up(lines, start_line - 1, language_id))


def code_range_after_comment(
    lines: Sequence[str], start_line: int, end_line: int, comment: InstructionComment
) -> tuple[int, int] | None:
    """The selection's code lines (blank edges trimmed): below the comment when it sits atop the selection."""
    if not lines:
        return None
    start_line, end_line = _clamp(lines, start_line, end_line)
    first = comment.end_line + 1 if comment.start_line >= start_line else start_line
    while first <= end_line and not lines[first].strip():
        first += 1
    last = end_line
    while last >= first and not lines[last].strip():
        last -= 1
    return (first, last) if first <= last else None
