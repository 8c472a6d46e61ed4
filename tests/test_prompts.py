"""Prompt building: Magicoder's template, the instruction format, FIM token budgets."""

from __future__ import annotations

import pytest

from lsp_server.prompts import (
    MAGICODER_PROMPT_TEMPLATE,
    FimTokens,
    TokenMeasure,
    build_ask_prompt,
    build_fim_prompt,
    build_instruction,
    fence_language,
    fill_template,
    fit_prefix,
    fit_suffix,
    prime_response,
)

EXACT_TEMPLATE = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "responses to user instructions.\n\n@@ Instruction\n{instruction}\n\n@@ Response\n"
)


def words(s: str) -> int:
    """A simple token counter: whitespace-separated words."""
    return len(s.split())


def chars(s: str) -> int:
    return len(s)


WORDS, CHARS = TokenMeasure(words), TokenMeasure(chars)


class CountingCounter:
    """A word counter that records how often it was called."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, s: str) -> int:
        self.calls += 1
        return len(s.split())


def test_template_is_magicoders_exact_text():
    assert MAGICODER_PROMPT_TEMPLATE == EXACT_TEMPLATE
    assert MAGICODER_PROMPT_TEMPLATE.count("{instruction}") == 1
    assert not MAGICODER_PROMPT_TEMPLATE.startswith("<")  # BOS is the tokenizer's job


def test_ask_prompt_is_template_instruction_and_primed_fence():
    prompt = build_ask_prompt(EXACT_TEMPLATE, "make it async", "def f():\n    return {'a': 1}\n\n", "python")
    assert prompt == (
        "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
        "responses to user instructions.\n\n@@ Instruction\nmake it async\n\n```python\ndef f():\n"
        "    return {'a': 1}\n```\n\n@@ Response\n```python\n"
    )


def test_build_instruction_format():
    assert build_instruction("add types", "def f(x):\n    return x\n", "python") == (
        "add types\n\n```python\ndef f(x):\n    return x\n```"
    )
    assert build_instruction("port it", "int main() {}", "cpp") == "port it\n\n```cpp\nint main() {}\n```"


def test_build_instruction_keeps_indentation_and_drops_blank_edges():
    code = "\n\n    if x:\n\t\ty = 1   \n\n\n"
    assert build_instruction("simplify", code, "python") == "simplify\n\n```python\n    if x:\n\t\ty = 1\n```"


@pytest.mark.parametrize("code", ["", "\n", "\n\n  \n"])
def test_instruction_without_code_is_just_the_request(code):
    assert build_instruction("  write a parser  ", code, "python") == "write a parser"


def test_code_containing_a_fence_gets_a_longer_fence():
    code = 'DOC = """\n```python\nx = 1\n```\n"""'
    instruction = build_instruction("explain", code, "python")
    assert instruction == f"explain\n\n````python\n{code}\n````"


def test_unicode_request_and_code_pass_through():
    code = "def 挨拶():\n    return '你好 🌏'"
    assert build_instruction("翻译成英文 🙏", code, "python") == f"翻译成英文 🙏\n\n```python\n{code}\n```"


def test_braces_in_code_are_safe():
    assert fill_template("<{instruction}>", "f = lambda: {x}{y} {instruction} {0}") == (
        "<f = lambda: {x}{y} {instruction} {0}>"
    )
    code = "const o = {a: `${b}`};\nfunction f() { return '{}'.format(1) }"
    prompt = build_ask_prompt(EXACT_TEMPLATE, "use {braces}", code, "javascript")
    assert f"use {{braces}}\n\n```javascript\n{code}\n```" in prompt
    assert prompt.endswith("@@ Response\n```javascript\n")


def test_fill_template_needs_the_placeholder():
    with pytest.raises(ValueError, match="placeholder"):
        fill_template("no placeholder", "x")
    with pytest.raises(ValueError):
        build_ask_prompt("{instr}", "x", "y", "python")


def test_fill_template_uses_the_given_template():
    assert fill_template("### Q\n{instruction}\n### A\n", "hi") == "### Q\nhi\n### A\n"


@pytest.mark.parametrize(
    "language, tag",
    [
        ("python", "python"),
        ("javascript", "javascript"),
        ("javascriptreact", "jsx"),
        ("typescriptreact", "tsx"),
        ("shellscript", "bash"),
        ("cpp", "cpp"),
        ("csharp", "csharp"),
        ("go", "go"),
        ("rust", "rust"),
        ("plaintext", ""),
        ("some-new-lang", "some-new-lang"),
    ],
)
def test_fence_language(language, tag):
    assert fence_language(language) == tag
    assert prime_response(language) == f"```{tag}\n"


def test_plaintext_prompt_has_bare_fences():
    prompt = build_ask_prompt(EXACT_TEMPLATE, "fix typos", "teh cat", "plaintext")
    assert prompt.endswith("fix typos\n\n```\nteh cat\n```\n\n@@ Response\n```\n")


TEXT = "".join(f"line {i} 🐍 漢字 with words\n" for i in range(30))


@pytest.mark.parametrize("count", [words, chars])
@pytest.mark.parametrize("budget", [-5, 0, 1, 3, 10, 40, 1000])
def test_fit_respects_the_budget_and_keeps_the_right_end(count, budget):
    prefix, suffix = fit_prefix(TEXT, TokenMeasure(count), budget), fit_suffix(TEXT, TokenMeasure(count), budget)
    for kept in (prefix, suffix):
        assert count(kept) <= max(budget, 0)
    assert TEXT.endswith(prefix) and TEXT.startswith(suffix)
    if budget <= 0:
        assert prefix == suffix == ""
    if count(TEXT) <= budget:
        assert prefix == suffix == TEXT


@pytest.mark.parametrize(
    "count, budget", [(words, 7), (words, 30), (words, 100), (chars, 30), (chars, 100), (chars, 250)]
)
def test_fit_cuts_at_line_boundaries_when_a_line_fits(count, budget):
    prefix, suffix = fit_prefix(TEXT, TokenMeasure(count), budget), fit_suffix(TEXT, TokenMeasure(count), budget)
    assert prefix and suffix
    assert prefix.startswith("line ")  # the kept end starts at the start of a line
    assert suffix.endswith("\n")  # the kept start ends at the end of a line
    # And it is the most that fits: one more line would not.
    lines = TEXT.splitlines(keepends=True)
    n_prefix, n_suffix = prefix.count("\n"), suffix.count("\n")
    assert count("".join(lines[len(lines) - n_prefix - 1 :])) > budget
    assert count("".join(lines[: n_suffix + 1])) > budget


def test_fit_keeps_the_partial_line_at_the_cursor():
    prefix = "a b\nc d\ne f g"
    assert fit_prefix(prefix, WORDS, 5) == "c d\ne f g"
    suffix = "x y z\nu v\nw"
    assert fit_suffix(suffix, WORDS, 5) == "x y z\nu v\n"


def test_fit_falls_back_to_characters_for_one_huge_line():
    line = "word " * 1000
    prefix = fit_prefix("short\n" + line, WORDS, 10)
    assert words(prefix) <= 10 and prefix.endswith("word ") and words(prefix) >= 9
    suffix = fit_suffix(line + "\nshort", CHARS, 33)
    assert suffix == line[:33]


def test_fit_character_level_with_unicode():
    line = "🐍漢字" * 100
    assert fit_prefix(line, CHARS, 7) == line[-7:]
    assert fit_suffix(line, CHARS, 7) == "🐍漢字🐍漢字🐍"


@pytest.mark.parametrize("fit", [fit_prefix, fit_suffix])
def test_fit_makes_logarithmically_many_counter_calls(fit):
    text = "".join(f"a b c d {i}\n" for i in range(20000))
    counter = CountingCounter()
    kept = fit(text, TokenMeasure(counter), 52)
    assert words(kept) <= 52 and kept.count("\n") == 10
    assert counter.calls < 40


def test_fit_prefix_keeps_exactly_the_last_lines():
    text = "".join(f"a b c d {i}\n" for i in range(2000))
    assert fit_prefix(text, WORDS, 52) == "".join(f"a b c d {i}\n" for i in range(1990, 2000))
    assert fit_suffix(text, WORDS, 52) == "".join(f"a b c d {i}\n" for i in range(10))


def test_fit_handles_crlf_free_and_tab_text():
    text = "\tif x:\n\t\treturn 1\n\treturn 2\n"
    assert fit_prefix(text, CHARS, len("\treturn 2\n")) == "\treturn 2\n"
    assert fit_suffix(text, CHARS, len("\tif x:\n") + 3) == "\tif x:\n"


def test_fit_of_empty_text_is_empty():
    assert fit_prefix("", WORDS, 10) == "" and fit_suffix("", WORDS, 10) == ""


def test_fim_tokens_are_deepseeks() -> None:
    fim = FimTokens()
    assert fim.begin == "<\uff5cfim\u2581begin\uff5c>" == "<｜fim▁begin｜>"
    assert fim.hole == "<\uff5cfim\u2581hole\uff5c>" == "<｜fim▁hole｜>"
    assert fim.end == "<\uff5cfim\u2581end\uff5c>" == "<｜fim▁end｜>"
    assert "|" not in fim.begin + fim.hole + fim.end  # fullwidth bars, not ASCII ones
    with pytest.raises(AttributeError):
        fim.begin = "x"  # type: ignore[misc]


def split_fim(prompt: str, fim: FimTokens) -> tuple[str, str]:
    assert prompt.startswith(fim.begin) and prompt.endswith(fim.end) and prompt.count(fim.hole) == 1
    middle = prompt[len(fim.begin) : -len(fim.end)]
    prefix, suffix = middle.split(fim.hole)
    return prefix, suffix


def test_fim_prompt_layout():
    fim = FimTokens()
    prompt = build_fim_prompt("def f(x):\n    return ", "\n\nprint(f(2))\n", fim, WORDS, 100)
    assert prompt == "<｜fim▁begin｜>def f(x):\n    return <｜fim▁hole｜>\n\nprint(f(2))\n<｜fim▁end｜>"


def test_fim_prompt_with_custom_tokens_and_braces():
    fim = FimTokens("<PRE>", "<MID>", "<SUF>")
    assert build_fim_prompt("x = {", "}", fim, WORDS, 10) == "<PRE>x = {<MID>}<SUF>"


def test_fim_short_suffix_leaves_its_share_to_the_prefix():
    fim = FimTokens()
    long_prefix = "".join(f"x{i} = {i}\n" for i in range(500))
    prefix, suffix = split_fim(build_fim_prompt(long_prefix, "tail = 1\n", fim, WORDS, 40), fim)
    assert suffix == "tail = 1\n"
    assert words(prefix) + words(suffix) <= 40 and words(prefix) >= 36
    assert long_prefix.endswith(prefix)


def test_fim_short_prefix_leaves_its_share_to_the_suffix():
    fim = FimTokens()
    long_suffix = "".join(f"y{i} = {i}\n" for i in range(500))
    prefix, suffix = split_fim(build_fim_prompt("z = ", long_suffix, fim, WORDS, 40), fim)
    assert prefix == "z = "
    assert words(prefix) + words(suffix) <= 40 and words(suffix) >= 36
    assert long_suffix.startswith(suffix)


@pytest.mark.parametrize("count", [words, chars])
@pytest.mark.parametrize("budget", [0, 1, 10, 100, 400])
@pytest.mark.parametrize("share", [0.0, 0.5, 0.75, 1.0])
def test_fim_budget_is_respected_and_shared(count, budget, share):
    fim = FimTokens()
    prefix_text = "".join(f"p{i} = '漢字 {i}'\n" for i in range(300)) + "q = "
    suffix_text = "".join(f"\ns{i} = '🐍 {i}'" for i in range(300))
    prefix, suffix = split_fim(build_fim_prompt(prefix_text, suffix_text, fim, TokenMeasure(count), budget, share), fim)
    assert count(prefix) + count(suffix) <= budget
    assert prefix_text.endswith(prefix) and suffix_text.startswith(suffix)
    if budget >= 100:  # both sides are long: each gets about its share
        assert count(prefix) >= int(budget * share) - 12
        assert count(suffix) >= budget - int(budget * share) - 12


def test_fim_whole_document_fits():
    fim = FimTokens()
    prompt = build_fim_prompt("a\nb ", " c\nd", fim, CHARS, 1000)
    assert split_fim(prompt, fim) == ("a\nb ", " c\nd")


def test_fit_never_tokenizes_far_more_than_the_budget_needs() -> None:
    seen: list[int] = []

    def counter(s: str) -> int:
        seen.append(len(s))
        return len(s.split())

    text = "".join(f"v{i} = compute({i})\n" for i in range(100_000))  # ~2 MB
    kept = fit_prefix(text, TokenMeasure(counter), 100)
    assert max(seen) <= 100 * 16
    assert words(kept) <= 100 and kept.startswith("v") and text.endswith(kept)
    seen.clear()
    kept = fit_suffix(text, TokenMeasure(counter), 100)
    assert max(seen) <= 100 * 16
    assert words(kept) <= 100 and kept.startswith("v0 = ") and kept.endswith("\n")
