"""Token budgets read off token offsets: the same cuts as the binary search, with far fewer tokenizations."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.engine.tokenizer import TextTokenizer
from lsp_server.fake_engine import FakeEngine
from lsp_server.fit import TokenMeasure, fit_prefix, fit_suffix


def words(text: str) -> int:
    return len(text.split())


def word_starts(text: str) -> list[int]:
    return [m.start() for m in re.finditer(r"\S+", text)]


def chars(text: str) -> int:
    return len(text)


def char_starts(text: str) -> list[int]:
    return list(range(len(text)))


COUNTERS = [(words, word_starts), (chars, char_starts)]
LINES = st.lists(st.text(alphabet=st.sampled_from(list("ab c\t🐍漢")), max_size=12), max_size=40)


@settings(max_examples=300, deadline=None)
@given(lines=LINES, tail=st.booleans(), budget=st.integers(-2, 60), which=st.sampled_from([0, 1]))
def test_offsets_give_the_cuts_the_search_gives(lines: list[str], tail: bool, budget: int, which: int):
    """With a counter whose tokens never span a line break, both ways keep the same whole lines; inside
    one line (none fits whole) the offsets cut at a token start, the search at any character."""
    count, starts = COUNTERS[which]
    text = "\n".join(lines) + ("\n" if tail else "")
    for fit, at_line_break in (
        (fit_prefix, lambda kept: kept == text or text[: len(text) - len(kept)].endswith("\n")),
        (fit_suffix, lambda kept: kept == text or kept.endswith("\n")),
    ):
        by_offsets, by_search = fit(text, TokenMeasure(count, starts), budget), fit(text, TokenMeasure(count), budget)
        if budget <= 0 or (by_search and at_line_break(by_search)):
            assert by_offsets == by_search
        else:
            assert count(by_offsets) <= budget and len(by_offsets) <= len(by_search)
            assert text.endswith(by_offsets) if fit is fit_prefix else text.startswith(by_offsets)


def test_align_is_applied_before_the_budget_is_checked():
    text = "".join(f"w{i} x\n" for i in range(40))
    dropped = []

    def align(kept: str) -> str:
        dropped.append(kept)
        return kept.split("\n", 2)[2]  # always two lines shorter

    kept = fit_prefix(text, TokenMeasure(words, word_starts), 10, align)
    assert kept == "".join(f"w{i} x\n" for i in range(37, 40)) and words(kept) <= 10


class Counted:
    """The tiny model's tokenizer, counting how often each way of tokenizing is used."""

    def __init__(self, path: Path):
        self.tok = TextTokenizer(path)
        self.counts = self.starts = 0

    def count(self, text: str) -> int:
        self.counts += 1
        return len(self.tok._tok.encode(text, add_special_tokens=False).ids)  # no memo: exact cost

    def token_starts(self, text: str) -> Sequence[int]:
        self.starts += 1
        return self.tok.starts(text)


@pytest.mark.parametrize("budget", [1, 64, 256, 768, 2000])
def test_with_a_real_tokenizer_the_cut_fits_and_takes_few_tokenizations(tiny_model: Path, budget: int):
    source = Path(textwrap.__file__).read_text(encoding="utf-8")
    middle = len(source) // 2
    prefix, suffix = source[:middle], source[middle:]
    for fit, text in ((fit_prefix, prefix), (fit_suffix, suffix)):
        counted = Counted(tiny_model / "tokenizer.json")
        kept = fit(text, TokenMeasure(counted.count, counted.token_starts), budget)
        assert counted.tok.count(kept) <= budget
        assert (text.endswith(kept) if fit is fit_prefix else text.startswith(kept)) and kept
        assert counted.counts + counted.starts <= 4, (counted.counts, counted.starts)
        searched = fit(text, TokenMeasure(counted.tok.count), budget)
        # The estimate may stop a line short of the search where a cut splits merged tokens, never more.
        assert len(kept) <= len(searched) and (kept == searched or searched.count("\n") - kept.count("\n") <= 1)


def test_a_measure_of_an_engine_is_its_counter_and_its_token_starts():
    engine = FakeEngine()
    measure = TokenMeasure.of(engine)
    assert measure == TokenMeasure(engine.count_tokens, engine.token_starts)
    assert measure.count("abcdefgh") == engine.count_tokens("abcdefgh") and measure.starts is not None
    assert TokenMeasure(words).starts is None  # no starts: the cuts are found by binary search
