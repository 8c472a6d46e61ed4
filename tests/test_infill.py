"""Cleaning fill-in-the-middle answers: dedent stop, bracket balance, repetitions, the whole pipeline."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lsp_server.assist import inline_context, inline_text
from lsp_server.infill import _scan, balance_brackets, clean_infill, drop_repetition, open_brackets, stop_at_dedent


@pytest.mark.parametrize(
    "completion, line_prefix, suffix, expected",
    [
        # a blank line in a body: the body's indentation is the limit
        ("x = 1\n    y = 2\nz = 3", "    ", "", "x = 1\n    y = 2"),
        # after an opener: the new block is deeper than the cursor line
        ("\n    return x\n\ndef g():\n    pass", "def f(x):", "", "\n    return x"),
        # a closing line at the cursor line's indentation belongs to the new block...
        ("\n  y();\n}\nz();", "if (x) {", "", "\n  y();\n}"),
        ("\n  y()\nend\nputs 1", "3.times do", "", "\n  y()\nend"),
        # ...unless the text after the cursor already closes it
        ("\n  y();\n}\nz();", "if (x) {", "}\n", "\n  y();"),
        ("\tif x:\n\t\ty()\nz()", "\t", "", "\tif x:\n\t\ty()"),  # tabs count as 4 columns
        ("no newline", "    ", "", "no newline"),
        ("a\n\n        b", "        ", "", "a\n\n        b"),  # blank lines do not end a block
    ],
)
def test_stop_at_dedent(completion, line_prefix, suffix, expected):
    assert stop_at_dedent(completion, line_prefix, suffix) == expected


@pytest.mark.parametrize(
    "prefix, completion, expected",
    [
        ("print(foo(", "x))", "x))"),  # closes what the prefix opened
        ("print(foo(", "x)))\nmore", "x))"),  # one closer too many: cut there
        ("print(", "a[1])", "a[1])"),
        ("print(", "a[1)]", "a[1"),  # the wrong closer
        ("x = ", "1)", "1"),
        ("f(", "')' + x)", "')' + x)"),  # brackets inside strings do not count
        ("f(", '"a\\")" + b)', '"a\\")" + b)'),  # nor escaped quotes
        ("s = ')'\nf(", "x)", "x)"),  # a stray closer in the prefix is ignored
        ("if (a) {\n  b();\n", "}", "}"),
    ],
)
def test_balance_brackets(prefix, completion, expected):
    assert balance_brackets(completion, prefix) == expected


def _scan_every_character(text: str, stack: list[str]) -> int | None:
    """The bracket scan's meaning, one character at a time (the oracle for the regex-driven _scan)."""
    quote, escaped = None, False
    for i, ch in enumerate(text):
        if ch == "\n":
            quote, escaped = None, False
        elif quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in ")]}":
            if not stack or stack[-1] != {")": "(", "]": "[", "}": "{"}[ch]:
                return i
            stack.pop()
    return None


_PIECES = [*"()[]{}\"'`\\\na ", "\\'", '\\"', "\\\\", "'('", '")"']


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join), st.lists(st.sampled_from("([{"), max_size=3))
@example("'\\')", [])  # an escaped quote does not end the string
def test_scan_matches_a_character_by_character_scan(text, opened):
    fast, slow = list(opened), list(opened)
    assert _scan(text, fast) == _scan_every_character(text, slow)
    assert fast == slow


def test_open_brackets_of_the_prefix():
    assert open_brackets("call(a, [b, {c: (") == ["(", "[", "{", "("]
    assert open_brackets("done(x)\n") == []


@pytest.mark.parametrize(
    "completion, prefix, expected",
    [
        ("foo()\nfoo()\nfoo()", "x\n", "foo()"),
        ("x = 1\ny = 2\nx = 1\ny = 2\n", "z\n", "x = 1\ny = 2"),
        ("a = f(1)\nb = f(2)", "z\n", "a = f(1)\nb = f(2)"),  # no repetition
        ("}\n}\n", "z\n", "}\n}\n"),  # closing lines are not a loop
        ("self.assertEqual(self.assertEqual(self.assertEqual(", "", "self.assertEqual("),
        ("[0, 0, 0, 0]", "", "[0, 0, 0, 0]"),  # short repeats are code
        ("result = compute(a)", "result = compute(a)\n", ""),  # the line above, again
        ("result = compute(a)", "result = compute(a)\n    ", ""),  # indented, still a new line
        ("result = compute(a)", "result = compute(a)\nx = ", "result = compute(a)"),  # mid-line: fine
    ],
)
def test_drop_repetition(completion, prefix, expected):
    assert drop_repetition(completion, prefix) == expected


def test_the_whole_pipeline_on_an_inline_context():
    text = "def f(items):\n    total = 0\n    \n    return total\n"
    ctx = inline_context(text, text.index("\n    return") - 0)
    assert ctx.multiline
    answer = "for item in items:\n        total += item\n    return total\nprint(f([1]))"
    assert inline_text(answer, ctx) == "for item in items:\n        total += item\n    return total"
    assert clean_infill("x))\nmore", "print(foo(", "))\n", "print(foo(", False) == "x"  # then the overlap goes
    assert clean_infill("   \n\n", "", "", "", True) == ""
