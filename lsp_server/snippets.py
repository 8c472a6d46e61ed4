"""Snippets of other open documents for the inline-completion prompt (pure).

DeepSeek-Coder was pre-trained on repository files concatenated, each headed by its path: a few
lines of other open files of the same language that share identifiers with the code before the
cursor help the model use the right names. The query is the text *above* the cursor's line, so
the choice (and with it the start of the prompt, whose KV cache the engine reuses) does not change
on every keystroke.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .fit import TokenMeasure

WINDOW_LINES = 16
STEP_LINES = 8
MAX_SNIPPETS = 2
MAX_SCAN_CHARS = 200_000  # of each other document
QUERY_CHARS = 2_000  # of the text above the cursor's line
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass(frozen=True)
class Snippet:
    path: str
    text: str
    score: float


def identifiers(text: str) -> set[str]:
    return set(_IDENTIFIER.findall(text))


def query_text(prefix: str) -> str:
    """The text above the cursor's line that snippets are matched against."""
    above = prefix[: prefix.rfind("\n") + 1]
    return above[-QUERY_CHARS:]


def best_window(path: str, text: str, wanted: set[str]) -> Snippet | None:
    """The window of lines of text sharing the most identifiers with ``wanted`` (Jaccard), if any."""
    lines = text[:MAX_SCAN_CHARS].split("\n")
    best: Snippet | None = None
    for start in range(0, max(1, len(lines) - WINDOW_LINES + STEP_LINES), STEP_LINES):
        window = "\n".join(lines[start : start + WINDOW_LINES])
        found = identifiers(window)
        if not found:
            continue
        score = len(found & wanted) / len(found | wanted)
        if score > 0 and (best is None or score > best.score):
            best = Snippet(path, window.strip("\n"), score)
    return best


def pick_snippets(query: str, others: Iterable[tuple[str, str]], limit: int = MAX_SNIPPETS) -> list[Snippet]:
    """The best window of each other document (path, text), the ``limit`` best of them, best first."""
    wanted = identifiers(query)
    if not wanted:
        return []
    found = [s for path, text in others if (s := best_window(path, text, wanted)) is not None]
    return sorted(found, key=lambda s: (-s.score, s.path))[:limit]


def render_snippets(snippets: list[Snippet], comment: str, measure: TokenMeasure, budget: int) -> str:
    """Snippets headed by their path in a comment, as many as fit in ``budget`` tokens."""
    out = ""
    for snippet in snippets:
        block = f"{comment} {snippet.path}\n{snippet.text}\n\n"
        if measure.count(out + block) > budget:
            break
        out += block
    return out
