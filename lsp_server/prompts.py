"""Prompt building: Magicoder's instruction template and DeepSeek's fill-in-the-middle format.

Pure functions; token budgets are measured by a counter the caller passes (the model's tokenizer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .engine.manifest import MAGICODER_PROMPT_TEMPLATE

TokenCounter = Callable[[str], int]
PLACEHOLDER = "{instruction}"
MAX_CHARS_PER_TOKEN = 16
FENCE_LANGUAGES = {
    "javascriptreact": "jsx",
    "typescriptreact": "tsx",
    "shellscript": "bash",
    "plaintext": "",
    "objective-c": "objectivec",
    "objective-cpp": "objectivec",
    "dockerfile": "dockerfile",
}

__all__ = [
    "MAGICODER_PROMPT_TEMPLATE",
    "FimTokens",
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
    """The markdown fence tag for an LSP languageId."""
    return FENCE_LANGUAGES.get(language_id, language_id)


def build_instruction(request: str, code: str, language_id: str) -> str:
    """Magicoder's training format: the request, then the code in a fenced block."""
    code = code.rstrip("\n")
    if not code.strip():
        return request.strip()
    return f"{request.strip()}\n\n```{fence_language(language_id)}\n{code}\n```"


def fill_template(template: str, instruction: str) -> str:
    """Put the instruction into the template (str.replace: user code is full of braces)."""
    if PLACEHOLDER not in template:
        raise ValueError(f"the prompt template lacks the {PLACEHOLDER} placeholder")
    return template.replace(PLACEHOLDER, instruction, 1)


def prime_response(language_id: str) -> str:
    """The opening fence Magicoder's own evaluation primes the response with."""
    return f"```{fence_language(language_id)}\n"


def build_ask_prompt(template: str, request: str, code: str, language_id: str) -> str:
    return fill_template(template, build_instruction(request, code, language_id)) + prime_response(language_id)


def _fit(text: str, count: TokenCounter, budget: int, keep_end: bool) -> str:
    """The longest end (or start) of text within budget tokens, cut at a line boundary if possible.

    Binary search over line boundaries, then over characters inside the one line that does not
    fit whole: O(log n) calls to the counter.
    """
    if budget <= 0 or not text:
        return ""
    # Never tokenize a whole 10 MB document: no token spans more than MAX_CHARS_PER_TOKEN characters
    # in practice, so a window of that many characters per token of budget loses nothing that fits.
    window = budget * MAX_CHARS_PER_TOKEN
    if len(text) > window:
        text = text[-window:] if keep_end else text[:window]
    if count(text) <= budget:
        return text
    lines = text.splitlines(keepends=True)
    if keep_end:
        lines.reverse()

    def join(n: int) -> str:
        chosen = lines[:n]
        return "".join(reversed(chosen)) if keep_end else "".join(chosen)

    lo, hi = 0, len(lines)  # join(lo) fits, join(hi) does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if count(join(mid)) <= budget else (lo, mid)
    whole = join(lo)
    if lo > 0:
        return whole
    # Not even one line fits: cut inside it by characters.
    line = lines[0]
    lo, hi = 0, len(line)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        part = line[-mid:] if keep_end else line[:mid]
        lo, hi = (mid, hi) if count(part) <= budget else (lo, mid)
    if lo == 0:
        return ""
    return line[-lo:] if keep_end else line[:lo]


def fit_prefix(prefix: str, count: TokenCounter, budget: int) -> str:
    """Keep the end of the text before the cursor within budget tokens."""
    return _fit(prefix, count, budget, keep_end=True)


def fit_suffix(suffix: str, count: TokenCounter, budget: int) -> str:
    """Keep the start of the text after the cursor within budget tokens."""
    return _fit(suffix, count, budget, keep_end=False)


@dataclass(frozen=True)
class FimTokens:
    begin: str = "<\uff5cfim\u2581begin\uff5c>"
    hole: str = "<\uff5cfim\u2581hole\uff5c>"
    end: str = "<\uff5cfim\u2581end\uff5c>"


def build_fim_prompt(
    prefix: str,
    suffix: str,
    fim: FimTokens,
    count: TokenCounter,
    budget: int,
    prefix_share: float = 0.75,
) -> str:
    """begin + prefix + hole + suffix + end, the two sides sharing ``budget`` tokens.

    The prefix gets ``prefix_share`` of the budget; what one side leaves unused goes to the other.
    """
    prefix_budget = int(budget * prefix_share)
    suffix_tokens = count(suffix) if suffix else 0
    if suffix_tokens < budget - prefix_budget:
        prefix_budget = budget - suffix_tokens
    kept_prefix = fit_prefix(prefix, count, prefix_budget)
    kept_suffix = fit_suffix(suffix, count, budget - (count(kept_prefix) if kept_prefix else 0))
    return f"{fim.begin}{kept_prefix}{fim.hole}{kept_suffix}{fim.end}"
