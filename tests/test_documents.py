"""Document sync: random edit sequences applied by the store equal a plain string model of LSP's rules and pygls'
own TextDocument; a version handed out never changes; an edit shares the chunks it does not touch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from lsp_server import chunks
from lsp_server.chunks import CHUNK_CHARS
from lsp_server.documents import DocumentStore
from lsp_server.text import UTF8, UTF16, UTF32, DocumentText

URI = "file:///docs/example.py"
BREAK = re.compile(r"\r\n|\r|\n")
# No U+2028, form feed and the like: pygls (str.splitlines) breaks lines there, LSP does not (test below).
ALPHABET = ["a", "b", " ", "é", "漢", "😀", "\n", "\r", "\r\n"]
texts = st.lists(st.sampled_from(ALPHABET), max_size=30).map("".join)
coordinates = st.tuples(st.integers(0, 8), st.one_of(st.just(0), st.integers(0, 8)))  # often a line's start
changes = st.one_of(st.tuples(coordinates, coordinates, texts), texts.map(lambda text: (None, None, text)))


def code_units(ch: str, encoding: str) -> int:
    return {UTF8: len(ch.encode()), UTF16: len(ch.encode("utf-16-le")) // 2, UTF32: 1}[encoding]


class StringModel:
    """LSP's rules on a plain string: lines end at \\n, \\r\\n or \\r; a column past the end of its line means the end,
    one inside a character its start; a line past the end of the document means the document's end."""

    def __init__(self, text: str, encoding: str):
        self.text, self.encoding = text, encoding

    def lines(self) -> list[str]:
        return BREAK.split(self.text)

    def offset(self, line: int, column: int) -> int:
        starts = [0, *(m.end() for m in BREAK.finditer(self.text))]
        if line >= len(starts):
            return len(self.text)
        content, count = self.lines()[line], 0
        for i, ch in enumerate(content):
            count += code_units(ch, self.encoding)
            if count > column:
                return starts[line] + i
        return starts[line] + len(content)

    def position(self, offset: int) -> types.Position:
        """The position of an offset at a character boundary, as an editor would send it."""
        ends = [m.end() for m in BREAK.finditer(self.text) if m.end() <= offset]
        start = ends[-1] if ends else 0
        return types.Position(len(ends), sum(code_units(ch, self.encoding) for ch in self.text[start:offset]))

    def apply(self, start: int, end: int, new: str) -> None:
        self.text = self.text[:start] + new + self.text[max(start, end) :]


def check_chunks(text: DocumentText) -> None:
    """Every chunk but the last ends with a line break; no "\\r\\n" is split between two chunks."""
    found = text._chunks.chunks
    for chunk, following in pairwise(found):
        assert chunk.text and BREAK.search(chunk.text[-1:]), chunk.text
        assert not (chunk.text.endswith("\r") and following.text.startswith("\n"))


@contextmanager
def chunk_size(size: int) -> Iterator[None]:
    with mock.patch.object(chunks, "CHUNK_CHARS", size):
        yield


def lsp_change(model: StringModel, start, end, new: str) -> tuple[types.TextDocumentContentChangeEvent, ...]:
    """A change as the store gets it (the raw coordinates) and as pygls does (the positions an editor would send:
    pygls reads others its own way, see documents.py), applied to the model."""
    if start is None:
        model.text = new
        whole = types.TextDocumentContentChangeWholeDocument(new)
        return whole, whole
    a, b = sorted([model.offset(*start), model.offset(*end)])
    ordered = [start, end] if model.offset(*start) <= model.offset(*end) else [end, start]
    raw = types.Range(types.Position(*ordered[0]), types.Position(*ordered[1]))
    editor = types.Range(model.position(a), model.position(b))
    model.apply(a, b, new)
    return types.TextDocumentContentChangePartial(raw, new), types.TextDocumentContentChangePartial(editor, new)


@settings(max_examples=400, deadline=None)
# "\n" put (or left by a deletion) at the start of a chunk that follows a lone "\r": one "\r\n" across the seam
@example(initial="ab\rcd", edits=[[((1, 0), (1, 0), "\n")]], encoding=UTF16, size=2)
@example(initial="ab\rcd\n\nx", edits=[[((1, 0), (2, 0), "")]], encoding=UTF16, size=2)
# at the very end of the document, after a surrogate pair, then a line past the end, then a whole new text
@example(
    initial="a😀",
    edits=[[((0, 3), (0, 3), "\r\n😀")], [((9, 0), (9, 0), "b")], [(None, None, "x\r")]],
    encoding=UTF16,
    size=2,
)
@given(
    initial=texts,
    edits=st.lists(st.lists(changes, min_size=1, max_size=3), max_size=10),  # didChange notifications
    encoding=st.sampled_from([UTF16, UTF8, UTF32]),
    size=st.sampled_from([2, 3, 8, CHUNK_CHARS]),
)
def test_random_edits_give_the_string_models_text_and_pygls_text(initial, edits, encoding, size):
    with chunk_size(size):
        store, model = DocumentStore(), StringModel(initial, encoding)
        pygls_doc = TextDocument(URI, initial, version=1, position_codec=PositionCodec(encoding))
        store.open(URI, "python", 1, initial)
        versions = [(store.get(URI), initial)]
        for version, notification in enumerate(edits, start=2):
            ours, theirs = zip(*(lsp_change(model, *change) for change in notification), strict=True)
            store.change(URI, version, ours, encoding)  # the changes in order, each on the text the one before left
            for change in theirs:
                pygls_doc.apply_change(change)
            doc = store.get(URI)
            assert doc is not None and doc.version == version
            assert doc.text.text == model.text == pygls_doc.source
            assert list(doc.text.lines) == model.lines() and doc.text.length == len(model.text)
            check_chunks(doc.text)
            versions.append((doc, model.text))
        for old, text in versions:  # every version handed out is still what it was
            assert old is not None and old.text.text == text


@settings(max_examples=200, deadline=None)
@given(text=texts, encoding=st.sampled_from([UTF16, UTF8, UTF32]), size=st.sampled_from([2, 5, CHUNK_CHARS]))
def test_positions_and_offsets_agree_with_the_string_model(text, encoding, size):
    with chunk_size(size):
        doc, model = DocumentText(text), StringModel(text, encoding)
        assert doc.line_count == len(model.lines()) and doc.length == len(text)
        for line in range(doc.line_count):
            for column in range(6):
                assert doc.offset_at(line, column, encoding) == model.offset(line, column)
        for offset in range(len(text) + 1):
            if text[offset - 1 : offset + 1] != "\r\n":  # inside a CRLF there is no position
                at = model.position(offset)
                assert doc.position_at(offset, encoding) == (at.line, at.character)
            for end in range(offset, len(text) + 1):
                assert doc.slice(offset, end) == text[offset:end]
        assert doc.lines[1:3] == model.lines()[1:3] and doc.lines[-1] == model.lines()[-1]


def test_pygls_splits_lines_where_lsp_does_not_and_the_store_follows_lsp():
    text = "a\u2028b\x0cc\nd"
    assert TextDocument(URI, text).lines[:2] == ("a\u2028", "b\x0c")
    store = DocumentStore()
    store.open(URI, "python", 1, text)
    at = types.Position(1, 0)
    store.change(URI, 2, [types.TextDocumentContentChangePartial(types.Range(at, at), "X")])
    doc = store.get(URI)
    assert doc is not None and doc.text.text == "a\u2028b\x0cc\nXd"


def test_a_range_ending_before_it_starts_deletes_nothing():
    store = DocumentStore()
    store.open(URI, "python", 1, "abc\ndef\n")
    backwards = types.Range(types.Position(1, 2), types.Position(0, 1))
    store.change(URI, 2, [types.TextDocumentContentChangePartial(backwards, "X")])
    doc = store.get(URI)
    assert doc is not None and doc.text.text == "abc\ndeXf\n"


def test_an_edit_shares_every_chunk_it_does_not_touch():
    text = "".join(f"line {i} = {i * i}\n" for i in range(100_000))
    doc = DocumentText(text)
    before = doc._chunks.chunks
    assert len(before) > 300
    at = doc.offset_at(50_000, 4)
    after = doc.edited(at, at, "x")._chunks.chunks
    assert len({id(c) for c in after} - {id(c) for c in before}) <= 2  # the edited chunk, maybe split in two
    assert doc.text == text  # the old version is untouched


def test_changes_to_unknown_documents_and_closed_ones_are_ignored():
    store = DocumentStore()
    at = types.Position(0, 0)
    store.change(URI, 2, [types.TextDocumentContentChangePartial(types.Range(at, at), "x")])
    assert store.get(URI) is None
    store.open(URI.replace("/docs/", "/d%6Fcs/"), "python", 1, "x")  # a URI quoted another way is the same
    assert [d.text.text for d in store.all()] == ["x"] and store.get(URI) is not None
    store.close(URI)
    assert store.all() == []


def test_typing_a_long_run_then_deleting_it_keeps_the_chunks_whole_lines_of_about_their_size():
    text = "".join(f"line {i} = {i * i}\n" for i in range(20_000))
    doc = original = DocumentText(text)
    count = len(doc._chunks.chunks)
    at = doc.offset_at(10_000, 2)
    typed = "".join(f"x{i}\n" if i % 30 == 29 else "y" for i in range(12_000))
    for i, ch in enumerate(typed):  # one character a keystroke, as an editor sends them
        doc = doc.edited(at + i, at + i, ch)
    sizes = [len(c.text) for c in doc._chunks.chunks]
    assert max(sizes) <= 2 * CHUNK_CHARS + 40  # split once past twice the size (at a line break)
    assert len(sizes) <= count + len(typed) // CHUNK_CHARS + 2
    for i in range(len(typed), 0, -1):  # and deleted again, backwards
        doc = doc.edited(at + i - 1, at + i, "")
    assert doc.text == text and len(doc._chunks.chunks) <= count + 2
    assert min(len(c.text) for c in doc._chunks.chunks[:-1]) >= CHUNK_CHARS // 4  # small chunks were merged
    check_chunks(doc)
    assert original.text == text
