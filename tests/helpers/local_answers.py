"""What the local engine answers for an editor's request, as the server would deliver it: the edit's new text for
Ask Magicoder, the ghost text for an inline completion. The end-to-end tests expect these from the server."""

from __future__ import annotations

from lsp_server.assist import (
    ASK_STOPS,
    answer_to_code,
    ask_prompt,
    inline_context,
    inline_prompt,
    inline_text,
    plan_ask,
)
from lsp_server.engine.api import InferenceEngine
from lsp_server.prompts import FimTokens, TokenMeasure


def local_ask(engine: InferenceEngine, text: str, first: int, last: int, language: str = "python") -> str:
    """The new text of Ask Magicoder's edit of lines ``first``..``last`` (default settings: 256 new tokens)."""
    plan = plan_ask(text.split("\n"), first, last, language)
    assert plan is not None
    answer = engine.complete(ask_prompt(plan, engine.prompt_format.template, language), 256, ASK_STOPS)
    return answer_to_code(answer.text, plan)


def local_inline(engine: InferenceEngine, text: str, offset: int) -> str:
    """The ghost text at ``offset`` (default settings: 48 new tokens, a 1024-token context)."""
    ctx = inline_context(text, offset)
    m = engine.prompt_format
    prompt = inline_prompt(ctx, FimTokens(m.fim_begin, m.fim_hole, m.fim_end), TokenMeasure(engine.count_tokens), 1024)
    return inline_text(engine.complete(prompt, 48, () if ctx.multiline else ("\n",)).text, ctx)
