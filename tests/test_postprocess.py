"""Model output to edits: fenced answers, re-indentation, ghost-text cleanup; assist's planning on top."""

from __future__ import annotations

import textwrap

import pytest

from lsp_server.assist import answer_to_code, inline_context, plan_ask, plan_selection
from lsp_server.postprocess import (
    CLOSING_FENCE_STOP,
    extract_code,
    is_multiline_context,
    leading_indent,
    reindent,
    trim_completion,
)
from lsp_server.text import units


def test_closing_fence_stop():
    assert CLOSING_FENCE_STOP == "\n```"


@pytest.mark.parametrize(
    "response, code",
    [
        ("def f():\n    return 1\n```\nThis function returns 1.", "def f():\n    return 1"),
        ("```python\ndef f():\n    pass\n```", "def f():\n    pass"),
        ("```\ndef f():\n    pass\n```\nmore\n```\n", "def f():\n    pass"),
        ("x = 1\ny = 2", "x = 1\ny = 2"),  # cut by max tokens: no closing fence
        ("x = 1\n``", "x = 1"),  # a partial closing fence at the cut
        ("x = 1\n`", "x = 1"),
        ("x = 1\n  ```", "x = 1"),  # an indented closing fence
        ("x = 1   \n\n\n   ```", "x = 1"),
        ("x = 1\n```python\ny = 2\n```", "x = 1"),  # a second block is not part of the answer
        ("\n\n    indented()\n```", "    indented()"),
        ("a\r\nb\r\n```\r\n", "a\nb"),
        ("s = '`'\nt = '``'", "s = '`'\nt = '``'"),  # backticks inside code lines stay
        ("```", ""),
        ("", ""),
        ("x = {'a': 1}\n\nprint(x)\n```", "x = {'a': 1}\n\nprint(x)"),  # inner blank lines stay
        ("print('日本語 🎌')\n```", "print('日本語 🎌')"),
    ],
)
def test_extract_code(response, code):
    assert extract_code(response) == code


@pytest.mark.parametrize(
    "line, indent",
    [("    x", "    "), ("\t\tx", "\t\t"), (" \t x", " \t "), ("x", ""), ("   ", "   "), ("", ""), ("\u3000x", "")],
)
def test_leading_indent(line, indent):
    assert leading_indent(line) == indent


def test_reindent_to_the_selection():
    code = "    def f():\n        return {\n\n            'a': 1}\n"
    assert reindent(code, "\t") == "\tdef f():\n\t    return {\n\n\t        'a': 1}\n"
    assert reindent("a\n  b", "") == "a\n  b"
    assert reindent("a\n  b", "  ") == "  a\n    b"


def test_reindent_matches_textwrap_dedent_for_spaces():
    code = "        if x:\n            y()\n   \n        z()\n"
    assert reindent(code, "") == textwrap.dedent(code)


def test_reindent_never_mixes_tabs_and_spaces():
    # A tab and four spaces are different indentation: only the truly common part goes.
    code = "\tif x:\n    \ty()"
    assert reindent(code, "") == code
    assert reindent("\t\ta\n\t\t\tb", "    ") == "    a\n    \tb"


def test_reindent_blank_lines_become_empty_and_unicode_is_kept():
    code = "  # 注释 ✨\n    \n  x = '🐍'"
    assert reindent(code, "\t") == "\t# 注释 ✨\n\n\tx = '🐍'"
    assert reindent("", "    ") == ""
    assert reindent("\n\n", "  ") == "\n\n"


def test_extract_then_reindent_round_trip():
    response = "async def fetch(url):\n    for _ in range(3):\n        pass\n```\nExplanation."
    expected = "    async def fetch(url):\n        for _ in range(3):\n            pass"
    assert reindent(extract_code(response), "    ") == expected


@pytest.mark.parametrize(
    "line_prefix, line_suffix, multi",
    [
        ("", "", True),
        ("    ", "", True),
        ("\t\t", "", True),
        ("def f(x):", "", True),
        ("def f(x):  ", "", True),
        ("x = {", "}", True),
        ("x = [", "];", True),
        ("print(", ")", True),
        ("const f = () =>", "", True),
        ("for x in xs do", "", True),
        ("if [ -f x ]; then", "", True),
        ("    return x +", "", False),
        ("foo(", "bar)", False),
        ("x = 1", "", False),
        ("undo", "", False),  # "do" only as a word
        ("    ", "x = 1", False),
        ("obj->", "", False),
        ("s = '", "'", False),
    ],
)
def test_multiline_context(line_prefix, line_suffix, multi):
    assert is_multiline_context(line_prefix, line_suffix) is multi


@pytest.mark.parametrize(
    "completion, suffix, multiline, expected",
    [
        ("foo(x))\nmore", ")", False, "foo(x)"),  # the spec's example
        ("foo(x)", ")", False, "foo(x)"),  # balanced: the ")" after the cursor closes something else
        ("value]", "]\n", False, "value"),
        ("a, b)", ")", False, "a, b"),
        ("a\n  b\n\n", "", True, "a\n  b"),
        ("a\n  b", "", False, "a"),
        ("   \n", "", True, ""),
        ("\nx = 1", "", False, ""),  # a single-line context gets only the first line
        ("x = 1   ", "", False, "x = 1"),
        ("get_user", "r = 5", False, "get_user"),  # never split a word
        ("return x;", ";", False, "return x"),
        ("x + 1", " + 1", False, "x "),  # the space before the repeated part stays
        ("hello'", "'", False, "hello"),  # an auto-closed quote
        ("'hello'", "'", False, "'hello'"),  # a paired quote stays
        (")", ")", False, ""),  # nothing but the closer the user already has
        ("\n    return 1;\n}", "}\n", True, "\n    return 1;\n"),  # the brace lands on its own line
        ("a = f(x)", "f(x)", False, "a = "),
        ("abc", "xyz", False, "abc"),
        ("x)", "  )", False, "x"),  # the suffix's leading whitespace is ignored
        ("print('你好 🌏'))", ")\r\n", False, "print('你好 🌏')"),
    ],
)
def test_trim_completion(completion, suffix, multiline, expected):
    assert trim_completion(completion, suffix, multiline) == expected


def test_trim_completion_only_compares_the_first_suffix_line():
    assert trim_completion("x)", "\n)", multiline=False) == "x)"


def test_trim_completion_keeps_tabs_and_leading_whitespace():
    assert trim_completion("\tif x {\n\t\ty()\n\t}", "", multiline=True) == "\tif x {\n\t\ty()\n\t}"
    assert trim_completion("  + 1", "", multiline=False) == "  + 1"


# assist.py's pipeline runs on the functions above.


def test_plan_ask_rewrites_the_code_lines_below_the_comment():
    lines = ["class A:", "    # add type hints", "    def f(self, x):", "        return x", ""]
    plan = plan_ask(lines, 1, 4, "python")
    assert plan.request == "add type hints"
    assert (plan.start_line, plan.end_line, plan.indent) == (2, 3, "    ")
    assert plan.code == "    def f(self, x):\n        return x"
    assert answer_to_code("def f(self, x: int) -> int:\n    return x\n```", plan) == (
        "    def f(self, x: int) -> int:\n        return x"
    )


def test_plan_selection_needs_no_comment():
    plan = plan_selection(["x = 1", "y = 2"], 0, 5, "rename x")
    assert (plan.start_line, plan.end_line, plan.request) == (0, 1, "rename x")
    assert plan_selection([], 0, 0, "x") is None
    assert plan_ask(["x = 1"], 0, 0, "python") is None


def test_inline_context_splits_at_the_cursor_and_clamps():
    ctx = inline_context("ab\r\ncd|ef\r\ngh", 7)
    assert ctx.line_prefix == "cd|" and ctx.line_suffix == "ef" and ctx.suffix.startswith("ef\r\n")
    assert inline_context("abc", 99).prefix == "abc"
    assert units("a🐍b") == 4
