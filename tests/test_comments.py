"""Instruction comments per language, and the code lines they govern."""

from __future__ import annotations

import pytest

from lsp_server.comments import (
    InstructionComment,
    code_range_after_comment,
    comment_text,
    find_instruction_comment,
    is_pragma,
)


@pytest.mark.parametrize(
    "language, line, words",
    [
        ("python", "# make this async", "make this async"),
        ("python", "    #   indented comment  ", "indented comment"),
        ("python", "\t## doubled marker", "doubled marker"),
        ("python", "#", ""),
        ("typescript", "// retry 3 times", "retry 3 times"),
        ("typescriptreact", "  //no space after the marker", "no space after the marker"),
        ("rust", "/// doc comment asks", "doc comment asks"),
        ("rust", "//! inner doc", "inner doc"),
        ("go", "// use a context", "use a context"),
        ("c", "/* one-line block */", "one-line block"),
        ("java", "/** javadoc on one line */", "javadoc on one line"),
        ("cpp", "  /*! doxygen */", "doxygen"),
        ("sql", "-- use a join", "use a join"),
        ("sql", "/* or a block */", "or a block"),
        ("lua", "-- memoize this", "memoize this"),
        ("lua", "--[[ a lua block ]]", "a lua block"),
        ("lua", "-- index t[a[1]]", "index t[a[1]]"),
        ("haskell", "-- point free please", "point free please"),
        ("haskell", "{- a haskell block -}", "a haskell block"),
        ("shellscript", "# quote the variables", "quote the variables"),
        ("yaml", "# add a healthcheck", "add a healthcheck"),
        ("php", "# hash in php", "hash in php"),
        ("php", "// slashes in php", "slashes in php"),
        ("clojure", ";; thread it", "thread it"),
        ("bat", "REM Run it twice", "Run it twice"),
        ("vb", "' add a loop", "add a loop"),
        ("html", "<!-- add alt text -->", "add alt text"),
        ("python", "# 🐍 emoji and 漢字", "🐍 emoji and 漢字"),
        ("unknown-lang", "// falls back", "falls back"),
        ("unknown-lang", "# falls back too", "falls back too"),
        ("unknown-lang", "/* and blocks */", "and blocks"),
    ],
)
def test_comment_text_per_language(language, line, words):
    assert comment_text(line, language) == words


@pytest.mark.parametrize(
    "language, line",
    [
        ("python", "x = 1  # trailing"),
        ("python", "#!/usr/bin/env python"),
        ("python", "// not python"),
        ("python", ""),
        ("python", "   "),
        ("sql", "# not sql"),
        ("go", "x := 1"),
        ("go", "# not go"),
        ("rust", "#[derive(Debug)]"),
        ("php", "#[Route('/')]"),
        ("c", "/* comment */ int x;"),
        ("c", "*p = 5;"),
        ("c", "/* unclosed opener"),
        ("lua", "--[[ unclosed lua block"),
        ("markdown", "# a heading, not a comment"),
        ("javascript", "const url = 'http://x'; // trailing"),
    ],
)
def test_not_a_comment_line(language, line):
    assert comment_text(line, language) is None


def test_comment_directly_above_the_selection():
    lines = ["import os", "# make this async and retry 3 times", "def fetch(url):", "    return get(url)"]
    comment = find_instruction_comment(lines, 2, 3, "python")
    assert comment == InstructionComment("make this async and retry 3 times", 1, 1)
    assert code_range_after_comment(lines, 2, 3, comment) == (2, 3)


def test_consecutive_comment_lines_above_are_joined_with_one_space():
    lines = ["x = 0", "#  first   part ", "#", "#   second part", "def f():", "    pass"]
    comment = find_instruction_comment(lines, 4, 5, "python")
    assert comment == InstructionComment("first part second part", 1, 3)


def test_multi_line_comment_atop_the_selection_is_joined_and_excluded_from_the_code():
    lines = ["", "    // validate the input", "    // and throw on error", "    function f(x) {", "    }", ""]
    comment = find_instruction_comment(lines, 0, 5, "javascript")
    assert comment == InstructionComment("validate the input and throw on error", 1, 2)
    assert code_range_after_comment(lines, 0, 5, comment) == (3, 4)


def test_the_comment_atop_the_selection_wins_over_the_one_above():
    lines = ["# above", "# atop", "x = 1"]
    assert find_instruction_comment(lines, 1, 2, "python") == InstructionComment("atop", 1, 1)


def test_a_comment_atop_stops_at_the_first_code_line():
    lines = ["# rename", "a = 1", "# not part of it", "b = 2"]
    comment = find_instruction_comment(lines, 0, 3, "python")
    assert comment == InstructionComment("rename", 0, 0)
    assert code_range_after_comment(lines, 0, 3, comment) == (1, 3)


@pytest.mark.parametrize("gap", [[""], ["   "], ["", ""]])
def test_a_blank_line_separates_a_comment_from_the_selection(gap):
    lines = ["# unrelated note", *gap, "def f():", "    pass"]
    start = 1 + len(gap)
    assert find_instruction_comment(lines, start, start + 1, "python") is None


def test_blank_lines_inside_the_selection_before_the_comment_are_skipped():
    lines = ["x = 0", "", "", "# sort it", "xs = [3, 1, 2]", "", ""]
    comment = find_instruction_comment(lines, 1, 6, "python")
    assert comment == InstructionComment("sort it", 3, 3)
    assert code_range_after_comment(lines, 1, 6, comment) == (4, 4)


def test_a_selection_starting_with_a_blank_line_looks_directly_above_its_first_line():
    lines = ["# directly above", "", "x = 1"]
    comment = find_instruction_comment(lines, 1, 2, "python")
    assert comment == InstructionComment("directly above", 0, 0)
    assert code_range_after_comment(lines, 1, 2, comment) == (2, 2)


def test_multi_line_block_comment_above():
    lines = ["int g;", "/*", " * make it thread safe", " * with a mutex", " */", "int counter(void) {", "}"]
    comment = find_instruction_comment(lines, 5, 6, "c")
    assert comment == InstructionComment("make it thread safe with a mutex", 1, 4)
    assert code_range_after_comment(lines, 5, 6, comment) == (5, 6)


def test_multi_line_block_comment_atop_without_stars():
    lines = ["/* use streams", "   instead of the loop */", "for (int x : xs) {", "}"]
    comment = find_instruction_comment(lines, 0, 3, "java")
    assert comment == InstructionComment("use streams instead of the loop", 0, 1)
    assert code_range_after_comment(lines, 0, 3, comment) == (2, 3)


def test_javadoc_atop_then_line_comment():
    lines = ["/**", " * add generics", " */", "// and a builder", "class Box {}"]
    comment = find_instruction_comment(lines, 0, 4, "java")
    assert comment == InstructionComment("add generics and a builder", 0, 3)
    assert code_range_after_comment(lines, 0, 4, comment) == (4, 4)


def test_block_comment_followed_by_code_on_its_last_line_is_not_an_instruction():
    lines = ["/* make it", "   faster */ int x = 1;", "int y = 2;"]
    assert find_instruction_comment(lines, 2, 2, "c") is None
    assert find_instruction_comment(lines, 0, 2, "c") is None


def test_block_comment_unclosed_within_the_selection_is_not_an_instruction():
    lines = ["/* make it", "   faster", "int x;", "*/"]
    assert find_instruction_comment(lines, 0, 2, "c") is None


def test_c_dereference_is_code_not_a_comment_continuation():
    lines = ["// swap them", "*p = *q;", "*q = t;"]
    comment = find_instruction_comment(lines, 1, 2, "c")
    assert comment == InstructionComment("swap them", 0, 0)


def test_a_trailing_block_comment_after_code_above_is_not_an_instruction():
    lines = ["/* old */", "int x; /* note */", "int y;"]
    assert find_instruction_comment(lines, 2, 2, "c") is None


def test_lua_multi_line_block():
    lines = ["--[[", "  cache the results", "--]]", "local function f(n)", "end"]
    comment = find_instruction_comment(lines, 3, 4, "lua")
    assert comment == InstructionComment("cache the results", 0, 2)


@pytest.mark.parametrize(
    "pragma",
    [
        "# type: ignore",
        "# noqa: E501",
        "# noqa",
        "# pylint: disable=x",
        "# fmt: off",
        "# -*- coding: utf-8 -*-",
        "# pyright: ignore",
        "# isort: skip",
    ],
)
def test_python_pragmas_are_not_instructions(pragma):
    assert is_pragma(comment_text(pragma, "python"))
    assert find_instruction_comment([pragma, "x = 1"], 1, 1, "python") is None
    assert find_instruction_comment([pragma, "x = 1"], 0, 1, "python") is None


@pytest.mark.parametrize(
    "language, pragma",
    [
        ("typescript", "// @ts-ignore"),
        ("javascript", "// eslint-disable-next-line no-console"),
        ("go", "//go:generate stringer -type=Kind"),
        ("go", "//nolint:errcheck"),
        ("ruby", "# rubocop:disable Style"),
    ],
)
def test_other_tool_directives_are_not_instructions(language, pragma):
    assert find_instruction_comment([pragma, "x"], 1, 1, language) is None


def test_pragma_lines_do_not_hide_the_instruction_above_them():
    lines = ["# make it lazy", "# type: ignore", "x = compute()"]
    assert find_instruction_comment(lines, 2, 2, "python") == InstructionComment("make it lazy", 0, 1)


def test_a_pragma_atop_the_selection_falls_back_to_the_comment_above():
    lines = ["# add logging", "# noqa", "x = 1"]
    comment = find_instruction_comment(lines, 1, 2, "python")
    assert comment == InstructionComment("add logging", 0, 0)
    assert code_range_after_comment(lines, 1, 2, comment) == (1, 2)


def test_words_that_merely_mention_a_pragma_are_instructions():
    assert not is_pragma("remove the type: ignore comments")
    assert not is_pragma("explain what noqa means")
    assert find_instruction_comment(["# typed version please", "x = 1"], 1, 1, "python").text == "typed version please"


def test_shebang_is_not_an_instruction():
    lines = ["#!/usr/bin/env python3", "print('hi')"]
    assert find_instruction_comment(lines, 1, 1, "python") is None
    lines = ["#!/bin/sh", "# be posix", "echo hi"]
    assert find_instruction_comment(lines, 2, 2, "shellscript") == InstructionComment("be posix", 1, 1)


def test_empty_comment_is_not_an_instruction():
    assert find_instruction_comment(["#", "#   ", "x = 1"], 2, 2, "python") is None
    assert find_instruction_comment(["//", "x"], 0, 1, "go") is None


def test_unicode_comment_text_is_kept_exactly():
    lines = ["    # 把这个函数改成异步的 🚀", "    def f():", "        pass"]
    comment = find_instruction_comment(lines, 1, 2, "python")
    assert comment == InstructionComment("把这个函数改成异步的 🚀", 0, 0)


def test_tab_indented_comment_and_code():
    lines = ["\tfunc f() {", "\t\t// return early", "\t\tif x {", "\t\t}", "\t}"]
    comment = find_instruction_comment(lines, 1, 3, "go")
    assert comment == InstructionComment("return early", 1, 1)
    assert code_range_after_comment(lines, 1, 3, comment) == (2, 3)


def test_crlf_stripped_lines():
    text = "// add a test\r\nfn f() {}\r\n"
    lines = [line.rstrip("\r") for line in text.split("\n")]
    comment = find_instruction_comment(lines, 1, 1, "rust")
    assert comment == InstructionComment("add a test", 0, 0)


@pytest.mark.parametrize("language", ["", "unknown-lang", "plaintext"])
def test_unknown_languages_try_hash_and_slashes(language):
    assert find_instruction_comment(["# one", "x"], 1, 1, language).text == "one"
    assert find_instruction_comment(["// two", "x"], 1, 1, language).text == "two"
    assert find_instruction_comment(["-- three", "x"], 1, 1, language) is None


def test_a_known_languages_other_marker_is_not_a_comment():
    assert find_instruction_comment(["# python style", "x := 1"], 1, 1, "go") is None
    assert find_instruction_comment(["// c style", "x = 1"], 1, 1, "python") is None


def test_selection_of_only_a_comment_has_no_code():
    lines = ["# do something", "", ""]
    comment = find_instruction_comment(lines, 0, 2, "python")
    assert comment == InstructionComment("do something", 0, 0)
    assert code_range_after_comment(lines, 0, 2, comment) is None


def test_code_range_trims_blank_edges_of_the_selection():
    lines = ["# comment above", "", "x = 1", "", "y = 2", "", ""]
    comment = InstructionComment("comment above", 0, 0)
    assert code_range_after_comment(lines, 1, 6, comment) == (2, 4)
    assert code_range_after_comment(lines, 5, 6, comment) is None


def test_out_of_range_lines_are_clamped_and_empty_documents_answer_none():
    lines = ["# explain", "x = 1"]
    assert find_instruction_comment(lines, 1, 99, "python") == InstructionComment("explain", 0, 0)
    assert find_instruction_comment(lines, -5, 99, "python") == InstructionComment("explain", 0, 0)
    assert find_instruction_comment(lines, 50, 99, "python") == InstructionComment("explain", 0, 0)
    assert code_range_after_comment(lines, -1, 99, InstructionComment("explain", 0, 0)) == (1, 1)
    assert find_instruction_comment([], 0, 0, "python") is None
    assert code_range_after_comment([], 0, 0, InstructionComment("x", 0, 0)) is None


def test_first_line_selection_without_a_comment():
    assert find_instruction_comment(["x = 1", "y = 2"], 0, 1, "python") is None


def test_instruction_comment_is_frozen() -> None:
    comment = InstructionComment("x", 0, 0)
    with pytest.raises(AttributeError):
        comment.text = "y"  # type: ignore[misc]
