"""Cleaning fill-in-the-middle answers: dedent stop, bracket balance, repetitions, the whole pipeline."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lsp_server.assist import inline_context, inline_text
from lsp_server.infill import (
    _scan,
    balance_brackets,
    clean_infill,
    drop_repetition,
    enclosing_scope,
    open_brackets,
    stop_at_dedent,
    stop_before_suffix,
)


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
        # a repeat re-indented (a block header said again as its own body) or after the cursor's unindented line
        ("else:\n        else:", "    if x:\n        y()\n    ", "else:"),
        ("results.append(a)\n        results.append(a)", "        ", "results.append(a)"),
    ],
)
def test_drop_repetition(completion, prefix, expected):
    assert drop_repetition(completion, prefix) == expected


def test_the_whole_pipeline_on_an_inline_context():
    text = "def f(items):\n    total = 0\n    \n    return total\n"
    ctx = inline_context(text, text.index("\n    return") - 0)
    assert ctx.multiline
    answer = "for item in items:\n        total += item\n    return total\nprint(f([1]))"
    assert inline_text(answer, ctx) == "for item in items:\n        total += item"  # "return total" is there already
    assert clean_infill("x))\nmore", "print(foo(", "))\n", "print(foo(", False) == "x"  # then the overlap goes
    assert clean_infill("   \n\n", "", "", "", True) == ""


@pytest.mark.parametrize(
    "completion, suffix, expected",
    [
        # the model wrote the hole's line, then went on with the lines already after it
        ("if x:\n            total += x\n    return total", "\n            total += x\n    return total\n", "if x:"),
        ("if x:\n\n            total += x", "\n            total += x\n    return total\n", "if x:"),
        # it ended on one line that the suffix starts with: that line goes too
        ("a = 1\n    b = 2", "\n    b = 2\n    c = 3\n", "a = 1"),
        # a different line is new code: kept; and so is everything when the suffix has nothing after its line
        ("a = 1\n    b = 3", "\n    b = 2\n    c = 3\n", "a = 1\n    b = 3"),
        ("a = 1\n    b = 2", "", "a = 1\n    b = 2"),
        # indentation counts: the same statement in another block is not the suffix
        ("a = 1\n        b = 2", "\n    b = 2\n", "a = 1\n        b = 2"),
    ],
)
def test_stop_before_suffix(completion, suffix, expected):
    assert stop_before_suffix(completion, suffix) == expected


def test_a_fill_may_dedent_to_the_blocks_around_the_cursor_inside_its_outermost_function():
    nested = "def outer(a):\n    def inner(b):\n        if b:\n            "
    assert enclosing_scope(nested, 12) == {8, 4}  # inner's body, and outer's body after inner
    method = "class C:\n    def m(self):\n        for x in self:\n            "
    assert enclosing_scope(method, 12) == {8}  # m's body; not the class's (the next method)
    assert enclosing_scope("x = 1\nif x:\n    ", 4) is None  # module level: no function
    assert enclosing_scope("function f() {\n  ", 2) is None  # not Python-like


@pytest.mark.parametrize(
    "completion, prefix, expected",
    [
        # a fill that closes a block and goes on in the function's body is kept (the hole may span blocks)...
        ("return True\n\n    return False", "def f(x):\n    if x:\n        ", "return True\n\n    return False"),
        # ...and out of a nested function into the outer one's body
        (
            "return depth\n\n    return [g(x) for x in xs]",
            "def f(xs):\n    def g(s):\n        depth = 0\n        ",
            "return depth\n\n    return [g(x) for x in xs]",
        ),
        # ...but not out of the function: the next function goes
        ("return x\n\n\ndef g():\n    pass", "def f(x):\n    ", "return x"),
        ("pass\n\n    def other(self):", "class C:\n    def m(self):\n        ", "pass"),  # nor the method
        # a dedent to no enclosing block's indentation is not Python: it goes
        ("a()\n   b()", "def f(x):\n    y = 1\n    ", "a()"),
        # ...unless it is the body of a block the fill opened at an enclosing level (an elif after the if's body)
        (
            "n += 1\n        elif b:\n            m += 1\n    return n",
            "def f(xs):\n    for x in xs:\n        if a:\n                ",
            "n += 1\n        elif b:\n            m += 1\n    return n",
        ),
    ],
)
def test_a_fill_may_dedent_within_its_function(completion, prefix, expected):
    line_prefix = prefix[prefix.rfind("\n") + 1 :]
    assert stop_at_dedent(completion, line_prefix, "", prefix) == expected
