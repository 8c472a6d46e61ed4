"""The benchmarks' prompts: standard-library code cut at exact token lengths."""

from __future__ import annotations

import os
from pathlib import Path


def code_prompts(tokenizer_path: Path, lengths: tuple[int, ...], doc_tokens: int) -> tuple[dict, list, list]:
    """Prompts of exact token lengths from standard-library code, and a document with a
    one-character edit 100 characters before its end (re-tokenized, as an editor would)."""
    from lsp_server.engine.tokenizer import TextTokenizer

    tok = TextTokenizer(tokenizer_path)
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(Path(os.__file__).parent.glob("[a-c]*.py")))
    ids = tok.encode(text)
    doc_text = tok.decode(ids[:doc_tokens])
    cut = len(doc_text) - 100
    edited_text = doc_text[:cut] + "x" + doc_text[cut:]
    return {n: ids[:n] for n in lengths}, tok.encode(doc_text), tok.encode(edited_text)
