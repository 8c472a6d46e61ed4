"""Token budgets: the longest end (or start) of a text, in whole lines where possible, within a budget.

Pure functions over a ``TokenMeasure``: a token counter and, optionally, where each token of a text
starts. With the starts (from one tokenization) the cut is read off the offsets and checked with one
exact count: two tokenizations instead of a binary search's dozen, which matters on every keystroke.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")  # lines with their "\n" (joined they give back the text)
TokenCounter = Callable[[str], int]
TokenStarts = Callable[[str], Sequence[int]]  # the character offset of each token of a text
Align = Callable[[str], str]  # shortens a kept prefix further (to start at a stable line)


class Tokenizes(Protocol):
    """What measures text in tokens (an inference engine, a tokenizer)."""

    def count_tokens(self, text: str) -> int: ...

    def token_starts(self, text: str) -> Sequence[int]: ...


@dataclass(frozen=True)
class TokenMeasure:
    """How prompt building measures text: a token counter and, optionally, the token starts of a text
    (which make budget cuts cheaper; without them the cuts are found by binary search)."""

    count: TokenCounter
    starts: TokenStarts | None = None

    @classmethod
    def of(cls, source: Tokenizes) -> TokenMeasure:
        """Both measures of an engine (or a tokenizer)."""
        return cls(source.count_tokens, source.token_starts)


# No token spans more than this many characters in practice: a window of budget * this many characters
# around the cursor loses nothing that could fit, and spares tokenizing a whole 10 MB document.
MAX_CHARS_PER_TOKEN = 16
# Code runs 3-4 characters per token: a first window this wide holds the budget nearly always.
FIRST_CHARS_PER_TOKEN = 5


def _window(text: str, limit: int, keep_end: bool) -> str:
    """At most ``limit`` characters of text at its end (or start), cut at a line boundary if it can be."""
    if len(text) <= limit:
        return text
    if keep_end:
        cut = text[-limit:]
        if text[-limit - 1] == "\n":
            return cut
        newline = cut.find("\n")
        return cut[newline + 1 :] if 0 <= newline < len(cut) - 1 else cut
    cut = text[:limit]
    if cut.endswith("\n"):
        return cut
    newline = cut.rfind("\n")
    return cut[: newline + 1] if newline >= 0 else cut


def _longest(n_max: int, fits: Callable[[int], bool]) -> int:
    """The largest n in [0, n_max] with fits(n), fits being monotone and fits(0) assumed: O(log n) calls."""
    lo, hi = 0, n_max + 1  # fits(lo) holds, fits(hi) does not (or hi is past the end)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _cut_inside_line(line: str, count_tokens: TokenCounter, budget: int, keep_end: bool) -> str:
    """Not even the line next to the cursor fits: its end (or start) by characters."""

    def part(k: int) -> str:
        return line[len(line) - k :] if keep_end else line[:k]

    return part(_longest(len(line) - 1, lambda k: count_tokens(part(k)) <= budget))


def _fit_by_search(text: str, count_tokens: TokenCounter, budget: int, keep_end: bool) -> str:
    """Binary search over whole lines: O(log lines) counts."""
    text = _window(text, budget * MAX_CHARS_PER_TOKEN, keep_end)
    if count_tokens(text) <= budget:
        return text
    pieces = LINES.findall(text)
    if keep_end:
        pieces.reverse()

    def take(n: int) -> str:
        return "".join(reversed(pieces[:n])) if keep_end else "".join(pieces[:n])

    n = _longest(len(pieces) - 1, lambda k: count_tokens(take(k)) <= budget)
    return take(n) if n > 0 else _cut_inside_line(pieces[0], count_tokens, budget, keep_end)


def _measured_window(text: str, token_starts: TokenStarts, budget: int, keep_end: bool) -> tuple[str, Sequence[int]]:
    """The narrowest window (widened from ~5 characters per token) holding more than the budget, or all
    the text that could matter; with its token starts."""
    limit = budget * FIRST_CHARS_PER_TOKEN
    while True:
        window = _window(text, limit, keep_end)
        starts = token_starts(window)
        if len(starts) > budget or len(window) == len(text) or limit >= budget * MAX_CHARS_PER_TOKEN:
            return window, starts
        limit = min(limit * 2, budget * MAX_CHARS_PER_TOKEN)


def _shed_line(kept: str, keep_end: bool) -> str | None:
    """One line less, from the side away from the cursor (None when one line is left)."""
    if keep_end:
        newline = kept.find("\n")
        return kept[newline + 1 :] if 0 <= newline < len(kept) - 1 else None
    newline = kept.rfind("\n", 0, len(kept) - 1)
    return kept[: newline + 1] if newline >= 0 else None


def _fit_by_offsets(
    text: str, count_tokens: TokenCounter, token_starts: TokenStarts, budget: int, keep_end: bool, align: Align | None
) -> str:
    window, starts = _measured_window(text, token_starts, budget, keep_end)
    if len(starts) <= budget:
        kept = window
    elif keep_end:
        left_out = starts[len(starts) - budget - 1]  # the last token that does not fit
        line_start = window.find("\n", left_out) + 1  # the first whole line after it
        kept = window[line_start:] if 0 < line_start < len(window) else window[starts[len(starts) - budget] :]
    else:
        beyond = starts[budget]  # the first token that does not fit
        line_end = window.rfind("\n", 0, beyond) + 1
        kept = window[:line_end] if line_end > 0 else window[:beyond]
    if align is not None:
        kept = align(kept)
    # Offsets are an estimate where a cut splits what the tokenizer would merge: check exactly.
    while kept and count_tokens(kept) > budget:
        shorter = _shed_line(kept, keep_end)
        if shorter is None:
            return _cut_inside_line(kept, count_tokens, budget, keep_end)
        kept = align(shorter) if align is not None else shorter
    return kept


def _fit(text: str, measure: TokenMeasure, budget: int, keep_end: bool, align: Align | None = None) -> str:
    if budget <= 0 or not text:
        return ""
    if measure.starts is not None:
        return _fit_by_offsets(text, measure.count, measure.starts, budget, keep_end, align)
    kept = _fit_by_search(text, measure.count, budget, keep_end)
    return align(kept) if align is not None else kept


def fit_prefix(prefix: str, measure: TokenMeasure, budget: int, align: Align | None = None) -> str:
    """Keep the end of the text before the cursor (whole lines where possible) within budget tokens;
    ``align`` may shorten the kept text further (it is applied before the budget is checked)."""
    return _fit(prefix, measure, budget, True, align)


def fit_suffix(suffix: str, measure: TokenMeasure, budget: int) -> str:
    """Keep the start of the text after the cursor (whole lines where possible) within budget tokens."""
    return _fit(suffix, measure, budget, False)
