"""Instruction comments per language, and the code lines they govern."""

from __future__ import annotations

import pytest

from lsp_server.comments import code_range_after_comment, comment_text, find_instruction_comment


@pytest.mark.parametrize(
    "language, line, words",
    [
        ("python", "# make this async", "make this async"),
        ("python", "    #   indented comment  ", "indented comment"),
        ("typescript", "// retry 3 times", "retry 3 times"),
        ("rust", "/// doc comment asks", "doc comment asks"),
        ("go", "//! inner", "inner"),
        ("c", "/* one-line block */", "one-line block"),
        ("cpp", " * continued block line", "continued block line"),
        ("sql", "-- use a join", "use a join"),
        ("lua", "-- memoize this", "memoize this"),
        ("shellscript", "# quote the variables", "quote the variables"),
        ("java", "// add null checks", "add null checks"),
        ("python", "# 🐍 emoji and 漢字", "🐍 emoji and 漢字"),
        ("unknown-lang", "// falls back", "falls back"),
        ("unknown-lang", "# falls back too", "falls back too"),
    ],
)
def test_comment_text_per_language(language, line, words):
    assert comment_text(line, language) == words


@pytest.mark.parametrize(
    "language, line",
    [("python", "x = 1  # trailing"), ("python", "#!/usr/bin/env python"), ("python", "// not python"),
     ("sql", "# not sql"), ("go", "x := 1"), ("python", "")],
)
def test_not_a_comment_line(language, line):
    assert comment_text(line, language) is None


def test_comment_directly_above_the_selection():
    lines = ["import os", "# make this async and retry 3 times", "def fetch(url):", "    return get(url)"]
    comment = find_instruction_comment(lines, 2, 3, "python")
    assert comment is not None and comment.text == "make this async and retry 3 times"
    assert (comment.start_line, comment.end_line) == (1, 1)
    assert code_range_after_comment(lines, 2, 3, comment) == (2, 3)


def test_multi_line_comment_atop_the_selection_is_joined_and_excluded_from_the_code():
    lines = ["", "    // validate the input", "    // and throw on error", "    function f(x) {", "    }", ""]
    comment = find_instruction_comment(lines, 0, 5, "javascript")
    assert comment.text == "validate the input and throw on error"
    assert (comment.start_line, comment.end_line) == (1, 2)
    assert code_range_after_comment(lines, 0, 5, comment) == (3, 4)


def test_a_blank_line_separates_a_comment_from_the_selection():
    lines = ["# unrelated note", "", "def f():", "    pass"]
    assert find_instruction_comment(lines, 2, 3, "python") is None


@pytest.mark.parametrize("pragma", ["# type: ignore", "# noqa: E501", "# pylint: disable=x", "# fmt: off"])
def test_pragmas_are_not_instructions(pragma):
    assert find_instruction_comment([pragma, "x = 1"], 1, 1, "python") is None


def test_selection_of_only_a_comment_has_no_code():
    lines = ["# do something", "", ""]
    comment = find_instruction_comment(lines, 0, 2, "python")
    assert comment is not None
    assert code_range_after_comment(lines, 0, 2, comment) is None


def test_out_of_range_lines_are_clamped_and_empty_documents_answer_none():
    lines = ["# explain", "x = 1"]
    assert find_instruction_comment(lines, 1, 99, "python").text == "explain"
    assert find_instruction_comment([], 0, 0, "python") is None
