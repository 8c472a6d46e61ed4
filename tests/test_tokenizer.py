"""The engine's tokenizer: piecewise encoding with a memo must give exactly what `tokenizers` gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from lsp_server.engine import tokenizer as tokenizer_mod
from lsp_server.engine.token_memo import MEMO_ENTRIES, LineEncoder, isolates_line_breaks
from lsp_server.engine.tokenizer import IncrementalDecoder, TextTokenizer
from tests.helpers.markers import needs_real_tokenizer
from tests.helpers.paths import SHARED_TOKENIZER

FIM = ("<\uff5cfim\u2581begin\uff5c>", "<\uff5cfim\u2581hole\uff5c>", "<\uff5cfim\u2581end\uff5c>")
CODE = st.lists(st.sampled_from([*"abc xyz_():=\n\r\t\"'#{}é😀中", "    ", "\n\n", "def ", "\r\n"]), max_size=30).map(
    "".join
)


def fim_texts():
    """Texts with added tokens anywhere in them, as prompts have."""
    return st.lists(
        st.one_of(CODE, st.sampled_from([*FIM, "<|EOT|>", "<\uff5cbegin\u2581of\u2581sentence\uff5c>"])), max_size=7
    ).map("".join)


@pytest.fixture(scope="module", params=["tiny", "deepseek"])
def tokenizers(request, tiny_model: Path) -> tuple[TextTokenizer, Tokenizer]:
    """Ours and `tokenizers`' own, over the same file (ours keeps its memo from example to example)."""
    path = tiny_model / "tokenizer.json" if request.param == "tiny" else SHARED_TOKENIZER / "tokenizer.json"
    if not path.is_file():
        pytest.skip(f"the DeepSeek-Coder tokenizer folder {SHARED_TOKENIZER} is not present on this machine")
    return TextTokenizer(path), Tokenizer.from_file(str(path))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=fim_texts(), add_bos=st.booleans())
def test_encoding_in_pieces_equals_encoding_whole(
    tokenizers: tuple[TextTokenizer, Tokenizer], text: str, add_bos: bool
):
    ours, theirs = tokenizers
    expected = theirs.encode(text, add_special_tokens=add_bos).ids
    assert ours.encode(text, add_bos=add_bos) == expected
    assert ours.encode(text, add_bos=add_bos) == expected  # again, from the memo
    assert ours.count(text) == len(theirs.encode(text, add_special_tokens=False).ids)
    assert ours.starts(text) == [start for start, _ in theirs.encode(text, add_special_tokens=False).offsets]


@needs_real_tokenizer
def test_deepseeks_tokenizer_is_tokenized_line_by_line():
    assert isolates_line_breaks(json.loads((SHARED_TOKENIZER / "tokenizer.json").read_text(encoding="utf-8")))


@needs_real_tokenizer
def test_the_memo_keeps_the_latest_pieces_and_stays_exact():
    ours = TextTokenizer(SHARED_TOKENIZER / "tokenizer.json")
    theirs = Tokenizer.from_file(str(SHARED_TOKENIZER / "tokenizer.json"))
    texts = [f"def f{i}(x):\n    return x * {i}\n" for i in range(3 * MEMO_ENTRIES)]
    for text in texts + texts[::-1]:
        prompt = f"{FIM[0]}{text}{FIM[1]}\n{FIM[2]}"
        assert ours.encode(prompt) == theirs.encode(prompt).ids
    assert len(ours._memo) <= MEMO_ENTRIES


def test_a_tokenizer_whose_added_tokens_strip_spaces_is_encoded_whole(tiny_model: Path, tmp_path: Path):
    """An added token with lstrip eats the spaces before it: splitting the text ourselves would keep them."""
    data = json.loads((tiny_model / "tokenizer.json").read_text(encoding="utf-8"))
    for added in data["added_tokens"]:
        if added["content"] == FIM[1]:
            added["lstrip"] = True
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    text = f"x = 1   {FIM[1]}  y"
    expected = Tokenizer.from_file(str(path)).encode(text).ids
    assert expected != Tokenizer.from_file(str(tiny_model / "tokenizer.json")).encode(text).ids  # lstrip matters here
    assert TextTokenizer(path).encode(text) == expected


def test_line_by_line_only_where_no_token_crosses_a_line_break(tiny_model: Path, tmp_path: Path):
    """Without the pre-tokenizer that isolates line breaks, "\\n\\n" or " \\n" may be one token: the text is
    then tokenized whole, and still exactly."""
    data = json.loads((tiny_model / "tokenizer.json").read_text(encoding="utf-8"))
    assert isolates_line_breaks(data)
    data["pre_tokenizer"]["pretokenizers"].pop(0)  # the Split on [\r\n]
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert not isolates_line_breaks(data)
    theirs = Tokenizer.from_file(str(path))
    text = "x = 1\n\n\n  \n    y = 2  \r\n"
    assert TextTokenizer(path).encode(text) == theirs.encode(text).ids
    assert TextTokenizer(path).starts(text) == [
        start for start, _ in theirs.encode(text, add_special_tokens=False).offsets
    ]


def test_a_keystroke_tokenizes_one_line_again(tokenizers: tuple[TextTokenizer, Tokenizer]):
    ours, theirs = tokenizers
    lines = [f"    value_{i} = compute({i}, 'é')\n" for i in range(300)]
    text = "".join(lines)
    assert ours.encode(text) == theirs.encode(text).ids
    line_memo = ours._lines
    assert line_memo is not None  # this tokenizer isolates line breaks: it encodes line by line
    known = len(line_memo)
    lines[150] = lines[150].replace("compute", "compute_x")
    edited = "".join(lines)
    assert ours.encode(edited) == theirs.encode(edited).ids
    assert len(line_memo) == known + 1


def test_remembered_lines_stay_bounded_and_exact(tokenizers: tuple[TextTokenizer, Tokenizer]):
    _, theirs = tokenizers
    lines = LineEncoder(theirs, entries=8)
    text = "".join(f"row_{i} = {i}\n" for i in range(6))
    for keystroke in range(40):  # typing on one line: every keystroke a new version of it
        edited = text + "x" * keystroke + "\n"
        encoding = theirs.encode(edited, add_special_tokens=False)
        assert lines.encode(edited) == (encoding.ids, [start for start, _ in encoding.offsets])
        assert len(lines) <= 2 * 8 + 7


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=fim_texts(), cut=st.integers(min_value=0, max_value=60))
def test_streamed_pieces_are_whole_characters_and_add_up_to_the_decoded_text(
    tokenizers: tuple[TextTokenizer, Tokenizer], text: str, cut: int
):
    ours, _ = tokenizers
    ids = ours.encode(text, add_bos=False)[:cut]  # a generation may stop inside a character
    decoder = IncrementalDecoder(ours)
    pieces = [decoder.push(i) for i in ids]
    assert all("\ufffd" not in p for p in pieces)
    assert "".join(pieces) + decoder.flush() == ours.decode(ids)


class _RefusingStream:
    """A DecodeStream that always raises, as tokenizers' does when a window does not extend its text."""

    def __init__(self, *args, **kwargs):
        pass

    def step(self, tokenizer, token_id):
        raise ValueError("Invalid prefix encountered")


def test_a_refusing_stream_falls_back_to_the_window_and_loses_nothing(tokenizers, monkeypatch):
    ours, _ = tokenizers
    monkeypatch.setattr(tokenizer_mod, "DecodeStream", _RefusingStream)
    ids = ours.encode("s = '🐍 漢字 naïve — ok'\n", add_bos=False)
    decoder = IncrementalDecoder(ours)
    pieces = [decoder.push(i) for i in ids]
    assert all("\ufffd" not in p for p in pieces) and sum(map(bool, pieces)) > 5
    assert "".join(pieces) + decoder.flush() == ours.decode(ids)
