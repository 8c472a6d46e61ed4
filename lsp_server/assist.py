"""What the assistant does with a document, as pure functions (no LSP, no engine).

Ask Magicoder:   plan_ask -> ask_prompt -> (engine) -> answer_to_code
Inline:          inline_context -> inline_prompt -> (engine) -> inline_text
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .comments import code_range_after_comment, find_instruction_comment
from .infill import clean_infill
from .postprocess import (
    CLOSING_FENCE_STOP,
    extract_code,
    is_multiline_context,
    leading_indent,
    reindent,
)
from .prompts import (
    FimTokens,
    TokenMeasure,
    build_ask_prompt,
    build_fim_prompt,
    build_instruction,
    fill_template,
)

SNAP_LINES = 16
ASK_STOPS = (CLOSING_FENCE_STOP,)


@dataclass(frozen=True)
class AskPlan:
    """An Ask Magicoder request: the instruction and the whole lines of code it rewrites."""

    request: str
    start_line: int  # first line replaced (0-based)
    end_line: int  # last line replaced, inclusive
    code: str
    indent: str


def _clamp_lines(lines: Sequence[str], start_line: int, end_line: int) -> tuple[int, int]:
    start_line = max(0, min(start_line, len(lines) - 1))
    return start_line, max(start_line, min(end_line, len(lines) - 1))


def _plan(lines: Sequence[str], first: int, last: int, request: str) -> AskPlan:
    code_lines = lines[first : last + 1]
    indent = next((leading_indent(line) for line in code_lines if line.strip()), "")
    return AskPlan(request, first, last, "\n".join(code_lines), indent)


def plan_ask(lines: Sequence[str], start_line: int, end_line: int, language_id: str) -> AskPlan | None:
    """The instruction comment above or atop the selection and the code lines below it."""
    if not lines:
        return None
    start_line, end_line = _clamp_lines(lines, start_line, end_line)
    comment = find_instruction_comment(lines, start_line, end_line, language_id)
    if comment is None:
        return None
    code_range = code_range_after_comment(lines, start_line, end_line, comment)
    if code_range is None:
        return None
    return _plan(lines, *code_range, comment.text)


def plan_selection(lines: Sequence[str], start_line: int, end_line: int, request: str) -> AskPlan | None:
    """A free-text request (no comment needed) about the selection's whole lines."""
    if not lines:
        return None
    return _plan(lines, *_clamp_lines(lines, start_line, end_line), request)


def ask_prompt(plan: AskPlan, template: str, language_id: str, request: str | None = None) -> str:
    """Magicoder's template around the instruction, primed with the opening fence."""
    return build_ask_prompt(template, request or plan.request, reindent(plan.code, ""), language_id)


def explain_prompt(plan: AskPlan, template: str, language_id: str) -> str:
    """Magicoder's template around a request about the code, not primed: the answer is prose."""
    return fill_template(template, build_instruction(plan.request, reindent(plan.code, ""), language_id))


def answer_to_code(response: str, plan: AskPlan) -> str:
    """The code of the answer, indented like the selection it replaces."""
    return reindent(extract_code(response), plan.indent)


@dataclass(frozen=True)
class InlineContext:
    prefix: str  # document text before the cursor
    suffix: str  # document text after the cursor
    line_prefix: str
    line_suffix: str

    @property
    def multiline(self) -> bool:
        return is_multiline_context(self.line_prefix, self.line_suffix)


def inline_context(text: str, offset: int) -> InlineContext:
    """Split the document at a character offset (clamped into the document)."""
    offset = max(0, min(offset, len(text)))
    prefix, suffix = text[:offset], text[offset:]
    line_prefix = prefix[prefix.rfind("\n") + 1 :]
    newline = suffix.find("\n")
    line_suffix = suffix if newline < 0 else suffix[:newline]
    return InlineContext(prefix, suffix, line_prefix, line_suffix.rstrip("\r"))


def snap_prefix(prefix: str, kept: str, first_line: int, every: int = SNAP_LINES) -> str:
    """The kept end of the prefix, started at the next line whose number is a multiple of ``every``.

    ``first_line`` is the document line the prefix starts on. While the user types, the cut moves
    by a line at a time; snapped, the prompt's start stays put for ``every`` lines, and the engine
    reuses the KV cache of everything up to the cursor's line.
    """
    cut = len(prefix) - len(kept)
    if cut == 0 or prefix[cut - 1] != "\n":
        return kept  # nothing cut, or cut inside one long line
    line = first_line + prefix.count("\n", 0, cut)
    for _ in range(-line % every):
        newline = prefix.find("\n", cut)
        if newline < 0:
            return kept
        cut = newline + 1
    return prefix[cut:]


def inline_prompt(
    ctx: InlineContext, fim: FimTokens, measure: TokenMeasure, budget: int, first_line: int = 0, header: str = ""
) -> str:
    """DeepSeek's fill-in-the-middle prompt, prefix and suffix cut to a token budget (prefix snapped
    to a stable line; ``first_line``: the document line ctx.prefix starts on), ``header`` first."""
    return build_fim_prompt(
        ctx.prefix,
        ctx.suffix,
        fim,
        measure,
        budget,
        header=header,
        align_prefix=lambda kept: snap_prefix(ctx.prefix, kept, first_line),
    )


def inline_text(completion: str, ctx: InlineContext) -> str:
    """Clean the model's infill for ghost text ("" when nothing useful is left)."""
    return clean_infill(completion, ctx.prefix, ctx.suffix, ctx.line_prefix, ctx.multiline)
