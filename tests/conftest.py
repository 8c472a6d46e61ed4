"""Shared fixtures: the tiny Magicoder-shaped model, exported once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_TOKENIZER = ROOT.parent / "shared" / "data" / "deepseek-coder-tokenizer"
# A fixed path, so that LSP server command lines can name it before fixtures run.
TEST_MODEL = ROOT / ".cache" / "tests" / "tiny"

needs_real_tokenizer = pytest.mark.skipif(
    not (SHARED_TOKENIZER / "tokenizer.json").is_file(),
    reason=f"the DeepSeek-Coder tokenizer folder {SHARED_TOKENIZER} is not present on this machine",
)


def tokenizer_args() -> list[str]:
    """The real DeepSeek-Coder tokenizer where present; else the exporter trains one."""
    return ["--tokenizer", str(SHARED_TOKENIZER)] if (SHARED_TOKENIZER / "tokenizer.json").is_file() else []


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """Export the tiny model afresh (graph, tokenizer, manifest, parity report; hf/ beside it)."""
    from export.cli import main

    shutil.rmtree(TEST_MODEL, ignore_errors=True)
    assert main(["tiny", "--output", str(TEST_MODEL), *tokenizer_args()]) == 0
    return TEST_MODEL


@pytest.fixture(scope="session")
def hf_model(tiny_model: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model / "hf", dtype="float32").eval()


@pytest.fixture(scope="session")
def engine(tiny_model: Path):
    from lsp_server.engine import Engine

    return Engine(tiny_model)
