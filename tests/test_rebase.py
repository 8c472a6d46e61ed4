"""Following the lines an answer replaces through the user's changes (rebase.py), and the change log that records
them (changelog.py): a property over random edit sequences, then examples."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from lsp_server.changelog import ChangeLog, TextChange, text_changes
from lsp_server.rebase import Placement, follow, place
from lsp_server.text import UTF8, UTF16, UTF32, DocumentText

PIECES = ["a", "b", " ", "é", "😀", "\t", "\n", "\r\n"]  # letters, multi-unit characters, both line breaks
texts = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
lines = st.lists(st.text(alphabet="xyz é😀(", max_size=5), min_size=1, max_size=4)


@dataclass
class Typing:
    """The document as the user edits it: while nothing touched the selected lines, prefix + selection + suffix."""

    prefix: str
    selection: str
    suffix: str
    encoding: str
    changes: list[TextChange] = field(default_factory=list)
    touched: bool = False  # an edit changed a character of the selection, or inserted inside it

    def __post_init__(self) -> None:
        self.text = self.prefix + self.selection + self.suffix

    @property
    def bounds(self) -> tuple[int, int]:
        return len(self.prefix), len(self.prefix) + len(self.selection)

    def offsets(self, lo: int, hi: int) -> list[int]:
        """Offsets in [lo, hi] that LSP positions can name (not between the "\\r" and "\\n" of a line break)."""
        text = self.text
        return [o for o in range(lo, hi + 1) if not (0 < o < len(text) and text[o - 1] == "\r" and text[o] == "\n")]

    def edit(self, i: int, j: int, new: str) -> None:
        doc = DocumentText(self.text)
        (sl, sc), (el, ec) = doc.position_at(i, self.encoding), doc.position_at(j, self.encoding)
        self.changes.append(TextChange(sl, sc, el, ec, new))
        start, end = self.bounds
        if not self.touched:
            if j <= start:
                self.prefix = self.prefix[:i] + new + self.prefix[j:]
            elif i >= end:
                self.suffix = self.suffix[: i - end] + new + self.suffix[j - end :]
            else:
                self.touched = True
        self.text = self.text[:i] + new + self.text[j:]

    @property
    def whole(self) -> bool:
        """The selection is still whole lines: a line break (or nothing) on either side."""
        return (not self.prefix or self.prefix.endswith("\n")) and (
            not self.suffix or self.suffix.startswith(("\n", "\r\n"))
        )


def replace_lines(text: str, first: int, last: int, answer: str, encoding: str) -> str:
    doc = DocumentText(text)
    start, end = doc.offset_at(first, 0, encoding), doc.offset_at(last, doc.line_end_column(last, encoding), encoding)
    return text[:start] + answer + text[end:]


@st.composite
def documents(draw) -> tuple[Typing, int, int]:
    """A document, the selected lines (first, last) in it, and the user's editor on it."""
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    before, selected, after = (
        draw(st.lists(lines.map(" ".join), max_size=4)),
        draw(lines),
        draw(st.lists(lines.map(" ".join), max_size=4)),
    )
    selection = nl.join(selected)
    if not selection:
        selection = "x"
    prefix = "".join(line + nl for line in before)
    suffix = "".join(nl + line for line in after) + draw(st.sampled_from(["", nl]))
    encoding = draw(st.sampled_from([UTF16, UTF8, UTF32]))
    first = len(before)
    return Typing(prefix, selection, suffix, encoding), first, first + selection.count("\n")


@settings(max_examples=400, deadline=None)
@given(documents(), st.data(), texts)
def test_edits_outside_the_selection_commute_with_the_answer_and_edits_inside_stop_it(doc_and_lines, data, answer):
    typing, first, last = doc_and_lines
    original = DocumentText(typing.text)
    for _ in range(data.draw(st.integers(0, 8), "edits")):
        start, end = typing.bounds
        where = data.draw(st.sampled_from(["before", "after", "inside"] if not typing.touched else ["anywhere"]))
        if where == "before":
            i = data.draw(st.sampled_from(typing.offsets(0, start)))
            j = data.draw(st.sampled_from(typing.offsets(i, start)))
        elif where == "after":
            i = data.draw(st.sampled_from(typing.offsets(end, len(typing.text))))
            j = data.draw(st.sampled_from(typing.offsets(i, len(typing.text))))
        elif where == "inside":  # one selected character or more replaced (from anywhere), or an insertion inside
            i = data.draw(st.sampled_from(typing.offsets(0, end - 1)))
            inserting = start < i and data.draw(st.booleans())
            j = i if inserting else data.draw(st.sampled_from(typing.offsets(max(i, start) + 1, len(typing.text))))
        else:
            i = data.draw(st.sampled_from(typing.offsets(0, len(typing.text))))
            j = data.draw(st.sampled_from(typing.offsets(i, len(typing.text))))
        typing.edit(i, j, data.draw(texts))
    now = DocumentText(typing.text)
    end_column = original.line_end_column(last, typing.encoding)
    followed = follow((first, 0), (last, end_column), typing.changes, typing.encoding)
    assert followed is not None and followed[2] is not typing.touched
    if not typing.touched:  # where the selection's first and last characters went
        assert followed[:2] == tuple(now.position_at(offset, typing.encoding) for offset in typing.bounds)
    placement = place(original, first, last, typing.changes, now, typing.encoding)
    if typing.touched or not typing.whole:  # never an automatic edit
        assert placement is None or not placement.intact
        return
    # No answer lost while the user typed elsewhere, no character of theirs lost: the document is what
    # applying the answer first, then their edits, would have made.
    assert placement is not None and placement.intact
    result = replace_lines(typing.text, placement.first, placement.last, answer, typing.encoding)
    assert result == typing.prefix + answer + typing.suffix


SOURCE = "import os\n\ndef f(x):\n    return x\n\nprint(f(1))\n"
F_LINES = (2, 3)


def change(sl: int, sc: int, el: int, ec: int, text: str) -> TextChange:
    return TextChange(sl, sc, el, ec, text)


def apply(text: str, changes: list[TextChange]) -> str:
    for c in changes:
        doc = DocumentText(text)
        text = (
            text[: doc.offset_at(c.start_line, c.start_column)]
            + c.text
            + text[doc.offset_at(c.end_line, c.end_column) :]
        )
    return text


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ([change(0, 0, 0, 0, "import sys\n")], Placement(3, 4, True)),  # a line typed at the top
        ([change(0, 0, 1, 0, "")], Placement(1, 2, True)),  # a line deleted above
        ([change(5, 0, 5, 0, "# the end\n"), change(4, 0, 5, 0, "")], Placement(2, 3, True)),  # below
        ([change(2, 0, 2, 0, "\n")], Placement(3, 4, True)),  # Enter at the start of the first selected line
        ([change(3, 12, 3, 12, "\n    ")], Placement(2, 3, True)),  # Enter at the end of the last one: a line below
        ([change(3, 12, 3, 12, "  # ok")], Placement(2, 3, False)),  # typed at the end of the last one
        ([change(2, 4, 2, 5, "g")], Placement(2, 3, False)),  # renamed inside
        ([change(1, 0, 3, 4, "")], Placement(1, 1, False)),  # deleted from above into the selection
        ([change(3, 4, 5, 0, "")], Placement(2, 3, False)),  # deleted from inside to below
        ([change(3, 4, 3, 4, "x\ny\n")], Placement(2, 5, False)),  # lines inserted inside
        ([change(2, 0, 2, 0, "x"), change(2, 0, 2, 1, "")], Placement(2, 3, True)),  # typed and undone at the start
    ],
)
def test_changes_move_or_touch_the_lines(changes, expected):
    assert place(DocumentText(SOURCE), *F_LINES, changes, DocumentText(apply(SOURCE, changes))) == expected


def test_a_lone_carriage_return_is_not_followed():
    inserted = [change(0, 0, 0, 0, "a\rb\n")]
    assert follow((2, 0), (3, 12), inserted) is None
    assert place(DocumentText(SOURCE), *F_LINES, inserted, DocumentText(apply(SOURCE, inserted))) is None
    old_mac = SOURCE.replace("\n", "\r")
    assert place(DocumentText(old_mac), *F_LINES, [], DocumentText(old_mac)) is None


def test_columns_count_in_the_negotiated_encoding():
    text = "s = '😀'\ndef f():\n    pass\n"
    typed = [change(0, 9, 0, 9, "  # é\n")]  # after the emoji: 9 UTF-16 units, 11 UTF-8 bytes, 8 code points
    assert follow((1, 0), (2, 8), typed, UTF16) == ((2, 0), (3, 8), True)
    assert place(DocumentText(text), 1, 2, typed, DocumentText(apply(text, typed))) == Placement(2, 3, True)


# -- the change log --------------------------------------------------------------------------------------
URI = "file:///work/a.py"


def partial(line: int, text: str) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(types.Range(types.Position(line, 0), types.Position(line, 0)), text)


def test_the_log_gives_the_changes_since_a_version_it_knows():
    log = ChangeLog()
    log.opened(URI, 1)
    for version in (2, 3, 4):
        log.changed(URI, version, text_changes([partial(0, f"v{version}\n")]))
    assert [c.text for c in log.since(URI, 1, 4) or []] == ["v2\n", "v3\n", "v4\n"]
    assert [c.text for c in log.since(URI, 3, 4) or []] == ["v4\n"]
    assert log.since(URI, 4, 4) == []
    assert log.since(URI, 1, 5) is None  # the document is at a version the log has not seen
    assert log.since(URI, 7, 4) is None and log.since("file:///other.py", 1, 4) is None


def test_a_full_replacement_or_a_close_forgets_what_came_before():
    log = ChangeLog()
    log.opened(URI, 1)
    log.changed(URI, 2, text_changes([partial(0, "a")]))
    log.changed(URI, 3, text_changes([types.TextDocumentContentChangeWholeDocument("all new")]))
    assert log.since(URI, 1, 3) is None and log.since(URI, 3, 3) == []
    log.closed(URI)
    assert log.since(URI, 3, 3) is None


def test_the_log_is_bounded_and_then_forgets_the_oldest_versions():
    log = ChangeLog(max_changes=3, max_chars=10)
    log.opened(URI, 1)
    for version in range(2, 7):
        log.changed(URI, version, [change(0, 0, 0, 0, "x")])
    assert log.since(URI, 2, 6) is None and len(log.since(URI, 3, 6) or []) == 3
    log.changed(URI, 7, [change(0, 0, 0, 0, "y" * 11)])  # more text than it keeps: nothing before 7 is known
    assert log.since(URI, 6, 7) is None and log.since(URI, 7, 7) == []
