"""Prompt building: Magicoder's instruction template and DeepSeek's fill-in-the-middle format.

Pure functions; token budgets are measured by a ``TokenMeasure`` the caller passes (the model's tokenizer).
The BOS token is the tokenizer's business, not these functions'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .fit import MAX_CHARS_PER_TOKEN, Align, TokenCounter, TokenMeasure, TokenStarts, fit_prefix, fit_suffix
from .magicoder import FIM_BEGIN, FIM_END, FIM_HOLE, INSTRUCTION_PLACEHOLDER, MAGICODER_PROMPT_TEMPLATE

FENCE_LANGUAGES = {
    "plaintext": "",
    "javascriptreact": "jsx",
    "typescriptreact": "tsx",
    "shellscript": "bash",
    "objective-c": "objectivec",
    "objective-cpp": "objectivec",
    "bat": "batch",
    "vb": "vbnet",
    "dockercompose": "yaml",
    "jsonc": "json",
}

__all__ = [
    "MAGICODER_PROMPT_TEMPLATE",
    "MAX_CHARS_PER_TOKEN",
    "FimTokens",
    "TokenCounter",
    "TokenMeasure",
    "TokenStarts",
    "build_ask_prompt",
    "build_fim_prompt",
    "build_instruction",
    "fence_language",
    "fill_template",
    "fit_prefix",
    "fit_suffix",
    "prime_response",
]


def fence_language(language_id: str) -> str:
    """The markdown fence tag for an LSP languageId (unknown ids pass through, plaintext has none)."""
    return FENCE_LANGUAGES.get(language_id, language_id)


def _fence_for(code: str) -> str:
    """Three backticks, or more when the code itself holds a run of three or more (CommonMark)."""
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=0)
    return "`" * max(3, longest + 1)


def _trim_blank_edges(code: str) -> str:
    """Drop leading blank lines and trailing whitespace, keeping the first line's indentation."""
    lines = code.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip()


def build_instruction(request: str, code: str, language_id: str) -> str:
    """Magicoder's training format: the request, a blank line, then the code in a fenced block."""
    request = request.strip()
    code = _trim_blank_edges(code)
    if not code:
        return request
    fence = _fence_for(code)
    return f"{request}\n\n{fence}{fence_language(language_id)}\n{code}\n{fence}"


def fill_template(template: str, instruction: str) -> str:
    """Put the instruction into the template (str.replace, not str.format: user code is full of braces)."""
    if INSTRUCTION_PLACEHOLDER not in template:
        raise ValueError(f"the prompt template lacks the {INSTRUCTION_PLACEHOLDER} placeholder")
    return template.replace(INSTRUCTION_PLACEHOLDER, instruction)


def prime_response(language_id: str) -> str:
    """The opening fence Magicoder's own evaluation primes the response with."""
    return f"```{fence_language(language_id)}\n"


def build_ask_prompt(template: str, request: str, code: str, language_id: str) -> str:
    """The whole Ask Magicoder prompt: the filled template, primed with the opening fence."""
    return fill_template(template, build_instruction(request, code, language_id)) + prime_response(language_id)


@dataclass(frozen=True)
class FimTokens:
    """The fill-in-the-middle special tokens (DeepSeek-Coder's by default)."""

    begin: str = FIM_BEGIN
    hole: str = FIM_HOLE
    end: str = FIM_END


def _tokens(text: str, measure: TokenMeasure) -> int:
    return measure.count(text) if text else 0


def build_fim_prompt(
    prefix: str,
    suffix: str,
    fim: FimTokens,
    measure: TokenMeasure,
    budget: int,
    prefix_share: float = 0.75,
    header: str = "",
    align_prefix: Align | None = None,
) -> str:
    """begin + header + prefix + hole + suffix + end, prefix and suffix sharing ``budget`` tokens.

    The prefix gets ``prefix_share`` of the budget and the suffix the rest; what one side leaves
    unused goes to the other. ``header`` (e.g. snippets of other files) counts against the budget;
    ``align_prefix`` may shorten the kept prefix further (e.g. to start at a stable line); the
    ``measure``'s token starts, where it has them, make the cuts cheaper (see fit.py).
    """
    budget = max(0, budget - _tokens(header, measure))
    share = min(1.0, max(0.0, prefix_share))
    suffix_share = budget - int(budget * share)
    kept_suffix = fit_suffix(suffix, measure, suffix_share)
    kept_prefix = fit_prefix(prefix, measure, budget - _tokens(kept_suffix, measure), align_prefix)
    left_for_suffix = budget - _tokens(kept_prefix, measure)
    if left_for_suffix > suffix_share and len(kept_suffix) < len(suffix):
        kept_suffix = fit_suffix(suffix, measure, left_for_suffix)
    return f"{fim.begin}{header}{kept_prefix}{fim.hole}{kept_suffix}{fim.end}"
