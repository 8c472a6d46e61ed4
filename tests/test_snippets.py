"""Snippets of other documents: the indexed choice is the one a scan of every window makes; a repeated query is
answered from the memo."""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server import snippets
from lsp_server.snippets import (
    STEP_LINES,
    WINDOW_LINES,
    Corpus,
    Snippet,
    WindowIndex,
    identifiers,
    pick_snippets,
    query_text,
)

NAMES = ["user", "load_user", "user_id", "db", "fetch", "name", "_cache", "x1", "value", "self", "return"]
words = st.sampled_from([*NAMES, " ", "  ", "(", ")", ".", "9ab", "é", "\n", "\n", "\r\n", "\n\n"])
texts = st.lists(words, max_size=400).map("".join)


def scanned_best(path: str, text: str, wanted: set[str]) -> Snippet | None:
    """Every window scanned in turn: the first with the highest Jaccard index, if any shares an identifier."""
    lines = text[: snippets.MAX_SCAN_CHARS].split("\n")
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


def scanned_pick(query: str, others: list[tuple[str, str]], limit: int = snippets.MAX_SNIPPETS) -> list[Snippet]:
    wanted = identifiers(query)
    if not wanted:
        return []
    found = [s for path, text in others if (s := scanned_best(path, text, wanted)) is not None]
    return sorted(found, key=lambda s: (-s.score, s.path))[:limit]


@settings(max_examples=300, deadline=None)
@given(
    query=texts,
    others=st.lists(st.tuples(st.sampled_from(["a.py", "b.py", "c.py"]), texts), max_size=5),
    limit=st.integers(1, 4),
    scan=st.sampled_from([50, 300, snippets.MAX_SCAN_CHARS]),
)
def test_the_indexed_choice_is_the_scanned_choice(query, others, limit, scan):
    with mock.patch.object(snippets, "MAX_SCAN_CHARS", scan):
        corpus = Corpus((path, WindowIndex(text)) for path, text in others)
        assert corpus.pick(query, limit) == scanned_pick(query, others, limit)
        assert corpus.pick(query, limit) == scanned_pick(query, others, limit)  # from the memo: the same
        assert corpus.pick(query + "\nload_user", limit) == scanned_pick(query + "\nload_user", others, limit)


def test_ties_go_to_the_first_window_and_then_to_the_path():
    block = "".join(f"load_user = {i}\n" for i in range(STEP_LINES))
    text = block * 6
    chosen = pick_snippets("load_user()\n", [("b.py", WindowIndex(text)), ("a.py", WindowIndex(text))])
    assert [s.path for s in chosen] == ["a.py", "b.py"] and chosen[0].text == (block * 2).strip("\n")
    assert chosen[0].score == 1.0


def test_a_repeated_query_is_answered_from_the_memo_and_a_new_one_scored_once():
    corpus = Corpus([("users.py", WindowIndex("def load_user(user_id):\n    return db.fetch(user_id)\n"))])
    (first,) = corpus.pick("load_user(user_id)\n")
    assert first.score == 2 / 5  # 2 shared of {def, load_user, user_id, return, fetch} ("db" is too short)
    with mock.patch.object(snippets.np, "bincount", side_effect=AssertionError("scored again")):
        assert corpus.pick("load_user(user_id)\n") == [first]
    assert corpus.pick("nowhere_else\n") == [] and corpus.pick("") == []
    assert Corpus([]).pick("load_user\n") == []


def test_windows_come_from_the_first_characters_only():
    text = "alpha_one = 1\n" * 40 + "needle_name = 2\n"
    with mock.patch.object(snippets, "MAX_SCAN_CHARS", 14 * 40):
        assert pick_snippets("needle_name\n", [("a.py", WindowIndex(text))]) == []
    (found,) = pick_snippets("needle_name\n", [("a.py", WindowIndex(text))])
    assert found.text == "alpha_one = 1\n" * 8 + "needle_name = 2"  # the last window: lines 32 to the end


def test_the_query_is_the_text_above_the_cursors_line():
    prefix = "a = 1\n" * 1000 + "print(user.na"
    query = query_text(prefix)
    assert "print" not in query and len(query) == snippets.QUERY_CHARS and query.endswith("a = 1\n")
