"""Where things are: the repository, the shared DeepSeek-Coder tokenizer and the tiny test model."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_TOKENIZER = ROOT.parent / "shared" / "data" / "deepseek-coder-tokenizer"
# A fixed path, so that LSP server command lines can name it before fixtures run ($MAGICODER_TEST_CACHE: another
# folder, for test runs side by side).
TEST_MODEL = Path(os.environ.get("MAGICODER_TEST_CACHE") or ROOT / ".cache" / "tests") / "tiny"
TEST_GGUF = TEST_MODEL.parent / "tiny.gguf"  # the tiny model for llama.cpp (tests/conftest.py's tiny_gguf)


def has_real_tokenizer() -> bool:
    return (SHARED_TOKENIZER / "tokenizer.json").is_file()


def tokenizer_args() -> list[str]:
    """The real DeepSeek-Coder tokenizer where present; else the exporter trains one."""
    return ["--tokenizer", str(SHARED_TOKENIZER)] if has_real_tokenizer() else []
