"""Shared fixtures (only fixtures: what tests share besides lives in tests/helpers/): the tiny Magicoder-shaped
model, exported once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.paths import TEST_MODEL, tokenizer_args


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
