"""Snippets of other open documents for the inline-completion prompt (pure).

DeepSeek-Coder was pre-trained on repository files concatenated, each headed by its path: a few
lines of other open files of the same language that share identifiers with the code before the
cursor help the model use the right names. The query is the text *above* the cursor's line, so
the choice (and with it the start of the prompt, whose KV cache the engine reuses) does not change
on every keystroke.

A document's candidates are its windows of WINDOW_LINES lines, one every STEP_LINES lines, in its
first MAX_SCAN_CHARS characters; the best one shares the most identifiers with the query (Jaccard
index; the first of equals). A WindowIndex holds each window's identifiers, inverted (identifier ->
the windows holding it), built once per version of a document; a Corpus of them scores a query by
the windows that share identifiers with it, and remembers its answer to the last query, which stays
the same while the user types on one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate, chain, repeat

import numpy as np

from .fit import TokenMeasure

WINDOW_LINES = 16
STEP_LINES = 8  # WINDOW_LINES is a whole number of steps: a window is the union of consecutive steps' lines
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


class WindowIndex:
    """The windows of one document's text (lines split at "\\n") and the identifiers each holds (immutable)."""

    __slots__ = ("_codes", "_offsets", "_starts", "_windows", "sizes", "text")

    def __init__(self, text: str):
        self.text = text = text[:MAX_SCAN_CHARS]
        lengths = [len(line) + 1 for line in text.split("\n")]
        self._starts = [0, *accumulate(lengths)]  # of every line, and one past the text's end
        lines = len(lengths)
        steps = [  # the identifiers of each STEP_LINES lines
            identifiers(text[self._starts[k] : self._starts[min(k + STEP_LINES, lines)]])
            for k in range(0, lines, STEP_LINES)
        ]
        count = len(range(0, max(1, lines - WINDOW_LINES + STEP_LINES), STEP_LINES))  # window w starts at step w
        self._codes = {name: code for code, name in enumerate(set().union(*steps))}
        codes = np.fromiter(chain.from_iterable(map(self._codes.__getitem__, found) for found in steps), np.intp)
        at = np.fromiter(chain.from_iterable(repeat(k, len(found)) for k, found in enumerate(steps)), np.intp)
        span = WINDOW_LINES // STEP_LINES  # step k lies in windows k - span + 1 .. k
        windows = np.concatenate([at - back for back in range(span)])
        codes, keep = np.tile(codes, span), (windows >= 0) & (windows < count)
        pairs = np.unique(codes[keep] * count + windows[keep])  # (identifier, window) once each, by identifier
        self._windows = pairs % count
        self._offsets = np.searchsorted(pairs // count, np.arange(len(self._codes) + 1))
        self.sizes = np.bincount(self._windows, minlength=count).astype(np.float64)  # identifiers per window

    def posting(self, name: str) -> np.ndarray | None:
        """The windows holding an identifier, in order (None: none does)."""
        code = self._codes.get(name)
        return None if code is None else self._windows[self._offsets[code] : self._offsets[code + 1]]

    def window(self, w: int) -> str:
        """The text of window ``w`` (without blank lines' breaks at its edges)."""
        first = w * STEP_LINES
        last = min(first + WINDOW_LINES, len(self._starts) - 1)
        return self.text[self._starts[first] : self._starts[last] - 1].strip("\n")


class Corpus:
    """Other documents' WindowIndexes as one list of windows: a query is scored in one pass over the windows that
    share its identifiers, whatever the number of documents. Remembers its last answer, and each identifier's
    windows once asked for."""

    __slots__ = ("_firsts", "_last", "_postings", "_sizes", "documents")

    def __init__(self, documents: Iterable[tuple[str, WindowIndex]]):
        self.documents = list(documents)  # (path, index)
        counts = [len(index.sizes) for _, index in self.documents]
        self._firsts = [0, *accumulate(counts)]  # each document's first window, and the total
        self._sizes = np.concatenate([index.sizes for _, index in self.documents] or [np.zeros(0)])
        self._postings: dict[str, np.ndarray] = {}
        self._last: tuple[str, int, list[Snippet]] | None = None

    def _posting(self, name: str) -> np.ndarray:
        """The windows holding an identifier."""
        found = self._postings.get(name)
        if found is None:
            parts = [
                posting + first
                for (_, index), first in zip(self.documents, self._firsts, strict=False)
                if (posting := index.posting(name)) is not None
            ]
            found = self._postings[name] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
        return found

    def pick(self, query: str, limit: int = MAX_SNIPPETS) -> list[Snippet]:
        """The best window of each document for ``query``, the ``limit`` best of them, best first."""
        last = self._last
        if last is None or last[0] != query or last[1] != limit:
            last = self._last = (query, limit, self._pick(frozenset(identifiers(query)), limit))
        return last[2]

    def _pick(self, wanted: frozenset[str], limit: int) -> list[Snippet]:
        hits = [found for name in wanted if len(found := self._posting(name))]
        if not hits:
            return []
        counts = np.bincount(np.concatenate(hits), minlength=len(self._sizes))
        scores = counts / (self._sizes + (len(wanted) - counts))  # |found & wanted| / |found | wanted| per window
        best = np.maximum.reduceat(scores, self._firsts[:-1]).tolist()
        chosen = sorted(
            (d for d, score in enumerate(best) if score > 0), key=lambda d: (-best[d], self.documents[d][0])
        )
        picked = []
        for d in chosen[:limit]:
            path, index = self.documents[d]
            w = int(scores[self._firsts[d] : self._firsts[d + 1]].argmax())  # the first of the best
            picked.append(Snippet(path, index.window(w), best[d]))
        return picked


def pick_snippets(query: str, others: Iterable[tuple[str, WindowIndex]], limit: int = MAX_SNIPPETS) -> list[Snippet]:
    """The best window of each other document (path, index of its text), the ``limit`` best of them, best first."""
    return Corpus(others).pick(query, limit)


def render_snippets(snippets: list[Snippet], comment: str, measure: TokenMeasure, budget: int) -> str:
    """Snippets headed by their path in a comment, as many as fit in ``budget`` tokens."""
    out = ""
    for snippet in snippets:
        block = f"{comment} {snippet.path}\n{snippet.text}\n\n"
        if measure.count(out + block) > budget:
            break
        out += block
    return out
