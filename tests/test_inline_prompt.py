"""The inline prompt: a prefix start that stays put while typing (KV cache reuse), snippets of other files."""

from __future__ import annotations

from lsp_server.assist import SNAP_LINES, inline_context, inline_prompt, snap_prefix
from lsp_server.prompts import FimTokens, TokenMeasure, fit_prefix
from lsp_server.snippets import WindowIndex, pick_snippets, query_text, render_snippets

FIM = FimTokens()


def words(text: str) -> int:
    return len(text.split())


WORDS = TokenMeasure(words)


def test_snap_starts_the_prefix_at_a_line_number_multiple_of_16():
    prefix = "".join(f"line {i}\n" for i in range(100))
    kept = fit_prefix(prefix, WORDS, 2 * 40)  # the last 40 lines: 60..99
    snapped = snap_prefix(prefix, kept, first_line=0)
    assert snapped.startswith("line 64\n") and prefix.endswith(snapped)
    assert snap_prefix(prefix, kept, first_line=4).startswith("line 60\n")  # the prefix starts on line 4
    assert snap_prefix(prefix, prefix, 0) == prefix  # nothing cut: nothing to snap
    assert snap_prefix("a" * 50, "a" * 20, 0) == "a" * 20  # cut inside one line: left alone


def test_the_prompt_start_does_not_move_while_typing():
    """Typing line after line: the budget cut moves every line, the snapped start every 16 lines."""
    text = "".join(f"value_{i} = {i}\n" for i in range(200))
    starts, cuts = [], []
    for typed in range(32):
        doc = text + "".join(f"new_{k} = {k}\n" for k in range(typed))
        ctx = inline_context(doc, len(doc))
        first = inline_prompt(ctx, FIM, WORDS, 80)[len(FIM.begin) :].split("\n", 1)[0]
        starts.append(doc.split("\n").index(first))
        cuts.append(fit_prefix(ctx.prefix, WORDS, 60).split("\n", 1)[0])
    assert len(set(cuts)) == 32  # unsnapped, every keystroke's line would shift the whole prompt
    assert len(set(starts)) <= 3
    assert all(start % SNAP_LINES == 0 for start in starts)


def test_header_goes_first_and_counts_against_the_budget():
    ctx = inline_context("a b c\nd e f\n", 12)
    prompt = inline_prompt(ctx, FIM, WORDS, 5, header="# other.py\nx y\n\n")
    assert prompt.startswith(FIM.begin + "# other.py\nx y\n\n") and prompt.endswith(FIM.hole + FIM.end)
    assert words(prompt) <= 5 + 2  # the FIM tokens are words here too


def test_snippets_pick_the_window_sharing_the_most_identifiers():
    others = [
        (
            "models.py",
            "class User:\n    name: str\n    email: str\n\n\ndef load_user(user_id):\n    return db.fetch(user_id)\n",
        ),
        ("colors.py", "RED = 1\nGREEN = 2\nBLUE = 3\n"),
        ("empty.py", ""),
    ]
    indexed = [(path, WindowIndex(text)) for path, text in others]
    query = query_text("from models import load_user\n\nuser = load_user(user_id)\nprint(user.na")
    assert "print" not in query  # the cursor's line is not part of the query
    (best, *rest) = pick_snippets(query, indexed)
    assert best.path == "models.py" and "def load_user" in best.text and rest == []
    rendered = render_snippets([best], "#", WORDS, 1000)
    assert rendered.startswith("# models.py\nclass User:") and rendered.endswith("\n\n")
    assert render_snippets([best], "#", WORDS, 3) == ""  # does not fit: left out whole
    assert pick_snippets("", indexed) == []
