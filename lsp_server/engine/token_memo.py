"""Tokenizing nearly the same text again and again, cheaply and exactly: what an editor's requests do.

Two layers:
- LineEncoder: where the tokenizer's first pre-tokenizer isolates every line break (DeepSeek-Coder's
  does: Split on ``[\\r\\n]``, isolated), no token spans a line break, so a text's tokens are its
  lines' tokens one after another. Each line is tokenized once and remembered: after a keystroke
  one line is tokenized again, not the whole context.
- Memo: the last few whole texts' ids and token starts (prompt building counts a text, then the
  engine encodes the same text).
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from itertools import accumulate, chain
from typing import overload

from tokenizers import Encoding, Tokenizer

LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")  # lines with their "\n" (joined they give back the text)
MEMO_ENTRIES = 16
LINE_ENTRIES = 2048  # lines per generation (see LineEncoder)
Encoded = tuple[list[int], Sequence[int]]  # token ids, and the character offset where each token starts
_LINE_BREAK_PROBES = ("a\nb", "\n\n", " \n ", "\r\n", "x\n\ty", "é\n😀", "  \n\n  z")


class Memo:
    """The last few texts' ids and token starts, least recently used out."""

    def __init__(self, entries: int = MEMO_ENTRIES):
        self.entries = entries
        self._items: OrderedDict[str, Encoded] = OrderedDict()
        self._lock = threading.Lock()  # prompt building and generation tokenize in different threads

    def get(self, text: str) -> Encoded | None:
        with self._lock:
            item = self._items.get(text)
            if item is not None:
                self._items.move_to_end(text)
            return item

    def put(self, text: str, encoded: Encoded) -> None:
        with self._lock:
            self._items[text] = encoded
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def isolates_line_breaks(config: dict) -> bool:
    """Whether a tokenizer.json's pipeline (its parsed contents) makes every "\\n" a boundary no token
    crosses: no normalizer, no truncation, and a first pre-tokenizer that splits off each line break alone."""
    if config.get("normalizer") or config.get("truncation"):
        return False
    pre = config.get("pre_tokenizer") or {}
    first = (pre.get("pretokenizers") or [{}])[0] if pre.get("type") == "Sequence" else pre
    if first.get("type") != "Split" or first.get("behavior") != "Isolated" or first.get("invert"):
        return False
    pattern = first.get("pattern") or {}
    if "String" in pattern:
        return pattern["String"] == "\n"
    try:
        regex = re.compile(pattern.get("Regex", ""))
    except re.error:
        return False
    for probe in _LINE_BREAK_PROBES:  # every match one character, every "\n" matched on its own
        spans = [m.span() for m in regex.finditer(probe)]
        if any(end - start != 1 for start, end in spans):
            return False
        if {i for i, ch in enumerate(probe) if ch == "\n"} - {start for start, _ in spans}:
            return False
    return True


class LineEncoder:
    """Tokenizes a text (without added tokens) line by line, each distinct line once.

    Lines are remembered in two generations: when the current one holds ``entries`` lines it becomes
    the old one and the lines used since are carried over from it on use; so the lines of the text
    being edited stay, the versions of a line typed over keystroke after keystroke go, and memory
    stays bounded (two generations of ~1.3 kB lines).
    """

    def __init__(self, tokenizer: Tokenizer, entries: int = LINE_ENTRIES):
        self._tok = tokenizer
        self.entries = entries
        self._current: dict[str, Encoded] = {}
        self._old: dict[str, Encoded] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._current) + len(self._old)

    def _lookup(self, lines: list[str]) -> dict[str, Encoded]:
        current, old = self._current, self._old
        missing = []
        for line in set(lines):
            if line not in current:
                if line in old:
                    current[line] = old[line]
                else:
                    missing.append(line)
        for line, encoding in zip(missing, self._tok.encode_batch(missing, add_special_tokens=False), strict=False):
            current[line] = _encoded(encoding)
        if len(current) > self.entries:
            self._old, self._current = current, {}
        return current

    def encode(self, text: str) -> Encoded:
        lines = LINES.findall(text)
        with self._lock:
            known = self._lookup(lines)
        if not lines:
            return [], []
        id_lists, start_lists = zip(*map(known.__getitem__, lines), strict=False)
        ids = list(chain.from_iterable(id_lists))
        return ids, LineStarts(lines, id_lists, start_lists, len(ids))


class LineStarts(Sequence[int]):
    """A text's token starts, read off its lines' (no list of thousands of offsets built per text:
    prompt building looks up a few of them)."""

    def __init__(
        self, lines: list[str], id_lists: Sequence[list[int]], start_lists: Sequence[Sequence[int]], total: int
    ):
        self._total = total
        self._line_at = list(accumulate(map(len, lines), initial=0))  # [lines + 1]: where each line starts
        self._first_token = list(accumulate(map(len, id_lists), initial=0))  # [lines + 1]: its first token
        self._line_starts = start_lists  # [lines][its tokens]: token starts within the line

    def __len__(self) -> int:
        return self._total

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._total))]
        if index < 0:
            index += self._total
        if not 0 <= index < self._total:
            raise IndexError("token index out of range")
        line = bisect_right(self._first_token, index) - 1
        return self._line_at[line] + self._line_starts[line][index - self._first_token[line]]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(other) == self._total and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # compares by value, like the list it stands for


def _encoded(encoding: Encoding) -> Encoded:
    return encoding.ids, [start for start, _ in encoding.offsets]


def whole(tokenizer: Tokenizer, text: str) -> Encoded:
    return _encoded(tokenizer.encode(text, add_special_tokens=False))
