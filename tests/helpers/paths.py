"""Where things are: the repository, the shared DeepSeek-Coder tokenizer and the tiny test model."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_TOKENIZER = ROOT.parent / "shared" / "data" / "deepseek-coder-tokenizer"
# A fixed path, so that LSP server command lines can name it before fixtures run.
TEST_MODEL = ROOT / ".cache" / "tests" / "tiny"


def has_real_tokenizer() -> bool:
    return (SHARED_TOKENIZER / "tokenizer.json").is_file()


def tokenizer_args() -> list[str]:
    """The real DeepSeek-Coder tokenizer where present; else the exporter trains one."""
    return ["--tokenizer", str(SHARED_TOKENIZER)] if has_real_tokenizer() else []
