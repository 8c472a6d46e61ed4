"""Model output to edits: fenced answers, re-indentation, ghost-text cleanup; assist's planning."""

from __future__ import annotations

import pytest

from lsp_server.assist import answer_to_code, inline_context, plan_ask, plan_selection, utf16_len
from lsp_server.postprocess import extract_code, is_multiline_context, reindent, trim_completion


@pytest.mark.parametrize(
    "response, code",
    [
        ("def f():\n    return 1\n```\nThis function returns 1.", "def f():\n    return 1"),
        ("```python\ndef f():\n    pass\n```", "def f():\n    pass"),
        ("x = 1\ny = 2", "x = 1\ny = 2"),  # cut by max tokens: no closing fence
        ("x = 1\n``", "x = 1"),  # a partial closing fence at the cut
        ("x = 1   \n\n\n   ```", "x = 1"),
        ("", ""),
    ],
)
def test_extract_code(response, code):
    assert extract_code(response) == code


def test_reindent_to_the_selection():
    code = "    def f():\n        return {\n\n            'a': 1}\n"
    assert reindent(code, "\t") == "\tdef f():\n\t    return {\n\n\t        'a': 1}\n"
    assert reindent("a\n  b", "") == "a\n  b"


@pytest.mark.parametrize(
    "line_prefix, line_suffix, multi",
    [("", "", True), ("    ", "", True), ("def f(x):", "", True), ("x = {", "}", True),
     ("    return x +", "", False), ("foo(", "bar)", False), ("print(", ")", True)],
)
def test_multiline_context(line_prefix, line_suffix, multi):
    assert is_multiline_context(line_prefix, line_suffix) is multi


def test_trim_completion():
    assert trim_completion("foo(x))\nmore", ")", multiline=False) == "foo(x)"
    assert trim_completion("a\n  b\n\n", "", multiline=True) == "a\n  b"
    assert trim_completion("   \n", "", multiline=True) == ""
    assert trim_completion("value]", "]\n", multiline=False) == "value"


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
    assert utf16_len("a🐍b") == 4
