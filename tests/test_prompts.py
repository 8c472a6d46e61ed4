"""Prompt building: Magicoder's template, the instruction format, FIM token budgets."""

from __future__ import annotations

import pytest

from lsp_server.prompts import (
    MAGICODER_PROMPT_TEMPLATE,
    FimTokens,
    build_ask_prompt,
    build_fim_prompt,
    build_instruction,
    fence_language,
    fill_template,
    fit_prefix,
    fit_suffix,
)

EXACT_TEMPLATE = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "responses to user instructions.\n\n@@ Instruction\n{instruction}\n\n@@ Response\n"
)
words = lambda s: len(s.split())  # noqa: E731 - a simple token counter
chars = len


def test_template_is_magicoders_exact_text():
    assert MAGICODER_PROMPT_TEMPLATE == EXACT_TEMPLATE


def test_ask_prompt_is_template_instruction_and_primed_fence():
    prompt = build_ask_prompt(EXACT_TEMPLATE, "make it async", "def f():\n    return {'a': 1}\n\n", "python")
    assert prompt == (
        EXACT_TEMPLATE.replace("{instruction}", "make it async\n\n```python\ndef f():\n    return {'a': 1}\n```")
        + "```python\n"
    )


def test_braces_in_code_are_safe():
    assert fill_template("<{instruction}>", "f = lambda: {x}{y} {instruction}") == "<f = lambda: {x}{y} {instruction}>"
    with pytest.raises(ValueError, match="placeholder"):
        fill_template("no placeholder", "x")


@pytest.mark.parametrize(
    "language, tag",
    [("python", "python"), ("typescriptreact", "tsx"), ("shellscript", "bash"), ("cpp", "cpp"), ("plaintext", "")],
)
def test_fence_language(language, tag):
    assert fence_language(language) == tag


def test_instruction_without_code_is_just_the_request():
    assert build_instruction("  write a parser  ", "\n\n", "python") == "write a parser"


@pytest.mark.parametrize("count", [words, chars])
@pytest.mark.parametrize("budget", [0, 1, 3, 10, 40, 1000])
def test_fit_respects_the_budget_and_keeps_the_right_end(count, budget):
    text = "".join(f"line {i} 🐍 漢字 with words\n" for i in range(30))
    prefix, suffix = fit_prefix(text, count, budget), fit_suffix(text, count, budget)
    for kept in (prefix, suffix):
        assert (count(kept) if kept else 0) <= budget
    assert text.endswith(prefix) and text.startswith(suffix)
    if count(text) <= budget:
        assert prefix == suffix == text


def test_fit_prefers_whole_lines_and_is_logarithmic():
    calls = []

    def counting(s: str) -> int:
        calls.append(s)
        return len(s.split())

    text = "".join(f"a b c d {i}\n" for i in range(2000))
    kept = fit_prefix(text, counting, 52)
    assert kept == "".join(f"a b c d {i}\n" for i in range(1990, 2000))
    assert len(calls) < 30


def test_fim_prompt_layout_and_budget_sharing():
    fim = FimTokens()
    assert fim.begin == "<｜fim▁begin｜>" and fim.hole == "<｜fim▁hole｜>" and fim.end == "<｜fim▁end｜>"
    prompt = build_fim_prompt("def f(x):\n    return ", "\n\nprint(f(2))\n", fim, words, 100)
    assert prompt == "<｜fim▁begin｜>def f(x):\n    return <｜fim▁hole｜>\n\nprint(f(2))\n<｜fim▁end｜>"
    long_prefix = "".join(f"x{i} = {i}\n" for i in range(500))
    prompt = build_fim_prompt(long_prefix, "tail = 1\n", fim, words, 40)
    kept_prefix = prompt[len(fim.begin) : prompt.index(fim.hole)]
    # The short suffix leaves its unused share to the prefix.
    assert words(kept_prefix) + words("tail = 1\n") <= 40 and words(kept_prefix) > 30
    assert prompt.endswith(f"{fim.hole}tail = 1\n{fim.end}")
