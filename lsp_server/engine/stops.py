"""Stop strings: where a generation's text ends, matched across the pieces it arrives in."""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    """Cuts the text at the first stop string, matched across token boundaries.

    While streaming, text that could still become the start of a stop string is held back.
    """

    def __init__(self, stop_strings: Sequence[str]):
        self.stops = [s for s in stop_strings if s]

    def find(self, text: str) -> int:
        """Index of the earliest stop string in text, or -1."""
        hits = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        return min(hits) if hits else -1

    def safe_length(self, text: str) -> int:
        """How much of text can be emitted now: all but a suffix that prefixes a stop string."""
        hold = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(text)), 0, -1):
                if text.endswith(stop[:n]):
                    hold = max(hold, n)
                    break
        return len(text) - hold


class StopText:
    """Text pieces in, final pieces out: never past a stop string, holding back what could start one."""

    def __init__(self, stop_strings: Sequence[str]):
        self.stops = StopMatcher(stop_strings)
        self.text = ""
        self.emitted = 0
        self.stopped = False

    def push(self, piece: str) -> str:
        if self.stopped:
            return ""
        self.text += piece
        cut = self.stops.find(self.text)
        if cut >= 0:
            self.text, self.stopped = self.text[:cut], True
        return self._emit(len(self.text) if self.stopped else self.stops.safe_length(self.text))

    def finish(self, tail: str = "") -> str:
        """The rest, once no more text comes (``tail``: what a decoder still held)."""
        if not self.stopped:
            self.text += tail
            cut = self.stops.find(self.text)
            self.text = self.text[:cut] if cut >= 0 else self.text
        return self._emit(len(self.text))

    def _emit(self, upto: int) -> str:
        piece = self.text[self.emitted : upto] if upto > self.emitted else ""
        self.emitted = max(self.emitted, upto)
        return piece
