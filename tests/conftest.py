"""Shared fixtures (only fixtures: what tests share besides lives in tests/helpers/): the tiny Magicoder-shaped
model, exported once per test session, and what the editor tests share (the extension's .vsix, a private copy
of the tiny model), made once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.editors import CLIENT, RUNS, VSIX, require, run
from tests.helpers.llama_server import LlamaServer, require_llama_server, start_llama_server
from tests.helpers.paths import TEST_GGUF, TEST_MODEL, has_real_tokenizer, tokenizer_args


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


@pytest.fixture(scope="session")
def tiny_gguf(tiny_model: Path) -> Path:
    """The tiny model as an f32 llama.cpp GGUF (magicoder-export gguf), beside the tiny model's folder."""
    from export.gguf_writer import write_gguf

    # The stand-in tokenizer trained when DeepSeek-Coder's is absent has no fingerprint llama.cpp knows: name
    # DeepSeek-Coder's pre-tokenizer for it (ids may then differ from `tokenizers` on some texts; the tests
    # that compare ids need the real tokenizer).
    pre = None if has_real_tokenizer() else "deepseek-coder"
    return write_gguf(tiny_model / "hf", TEST_GGUF, name="magicoder-tiny", tokenizer_pre=pre)


@pytest.fixture(scope="session")
def llama_server(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama-cpp-python's OpenAI-compatible server on the tiny model: base_url (…/v1), api_key, model."""
    require_llama_server()
    with start_llama_server(tiny_gguf, log_path=tmp_path_factory.mktemp("llama-server") / "server.log") as server:
        yield server


@pytest.fixture(scope="session")
def npm_ready() -> None:
    require("node", "npm", CLIENT / "node_modules" / ".bin" / "tsc")


@pytest.fixture(scope="session")
def vsix(npm_ready) -> Path:
    VSIX.unlink(missing_ok=True)
    run(["npm", "run", "package", "--silent"], cwd=CLIENT, timeout=180)
    assert VSIX.is_file()
    return VSIX


@pytest.fixture(scope="session")
def editor_model(tiny_model: Path) -> Path:
    """A private copy of the session's tiny model for the editors (other test sessions may re-export the shared
    one)."""
    copy = RUNS / "tiny"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(tiny_model, copy, ignore=shutil.ignore_patterns("hf"))
    return copy
