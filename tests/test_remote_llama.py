"""The remote backend against a real OpenAI-compatible server: llama-cpp-python's, serving the tiny model's
weights as a GGUF. Greedy answers equal the local ONNX engine's on the same weights; cancelling closes the
stream and frees the server for the next request; no key, no answer.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from lsp_server.engine.api import FINISH_CANCELLED, CancelToken, GenerationResult
from lsp_server.engine.endpoint import ApiKeys
from lsp_server.engine.remote import RemoteEngine
from lsp_server.magicoder import FIM_BEGIN, FIM_END, FIM_HOLE, MAGICODER_PROMPT_TEMPLATE
from tests.helpers.llama_server import LlamaServer
from tests.helpers.markers import needs_real_tokenizer

PROMPTS = [
    MAGICODER_PROMPT_TEMPLATE.format(instruction="Write a Python function that reverses a string.") + "```python\n",
    MAGICODER_PROMPT_TEMPLATE.format(instruction="Explain what a closure is."),
    f"{FIM_BEGIN}def mean(xs):\n    {FIM_HOLE}\n    return total / len(xs)\n{FIM_END}",
    f"{FIM_BEGIN}import json\n\n\ndef load(path):\n    with open(path) as f:\n        {FIM_HOLE}\n{FIM_END}",
]


async def remote_engine(server: LlamaServer, tiny_model: Path, key: str | None = None) -> RemoteEngine:
    engine = RemoteEngine(server.base_url, tiny_model / "tokenizer.json")
    keys = ApiKeys()
    if key:
        keys.set(server.base_url, key)
    connection = await engine.connect(keys)
    assert connection.error is None or key is None, connection.error
    return engine


async def run(engine: RemoteEngine, prompt: str, max_new: int, **options) -> GenerationResult:
    result = GenerationResult()
    async for _ in engine.astream(prompt, max_new, (), result=result, **options):
        pass
    return result


@needs_real_tokenizer
async def test_greedy_answers_equal_the_local_onnx_engine_s(llama_server: LlamaServer, tiny_model: Path, engine):
    remote = await remote_engine(llama_server, tiny_model, llama_server.api_key)
    assert remote.model == llama_server.model
    for prompt in PROMPTS:
        local = engine.complete(prompt, 48, ())
        served = await run(remote, prompt, 48)
        # The random tiny model emits byte fragments that are not UTF-8 on their own (e.g. 'æģ', bytes e6 81, then a
        # space): our decoder, like transformers', writes U+FFFD for them; llama.cpp drops the bytes. Same tokens.
        if served.text != local.text.replace("\ufffd", ""):
            ours = engine.tokenizer.encode(served.text, add_bos=False)
            at = next(
                (i for i, (a, b) in enumerate(zip(ours, local.token_ids, strict=False)) if a != b), len(local.token_ids)
            )
            pytest.fail(
                f"the served answer differs from the local engine's at token {at} of {prompt[:40]!r}:\n"
                f"local : {local.text!r}\nserved: {served.text!r}"
            )
    await remote.aclose()


@needs_real_tokenizer
async def test_the_server_tokenizes_as_the_local_tokenizer(llama_server: LlamaServer, tiny_model: Path):
    engine = RemoteEngine(llama_server.base_url, tiny_model / "tokenizer.json")
    keys = ApiKeys()
    keys.set(llama_server.base_url, llama_server.api_key)
    connection = await engine.connect(keys)
    assert connection.error is None and connection.warnings == []  # its /extras/tokenize agrees on the probe
    await engine.aclose()


async def test_cancelling_closes_the_stream_and_the_next_request_is_not_delayed(
    llama_server: LlamaServer, tiny_model: Path
):
    remote = await remote_engine(llama_server, tiny_model, llama_server.api_key)
    prompt = "def long_function():\n" + "    x = 1\n" * 20
    started = time.monotonic()
    full = await run(remote, prompt, 400)  # how long a whole answer takes (it may end early at EOS)
    whole_s = time.monotonic() - started
    if len(full.token_ids) < 100:
        pytest.fail(f"the tiny model ended after {len(full.token_ids)} tokens: pick a prompt that runs longer")
    cancel = CancelToken()
    task = asyncio.ensure_future(run(remote, prompt + "\n", 400, cancel=cancel))
    await asyncio.sleep(whole_s / 5)
    cancel.cancel()
    task.cancel()  # the model host's reaction to the token: the stream closes at once
    with pytest.raises(asyncio.CancelledError):
        await task
    started = time.monotonic()
    short = await run(remote, "x = 1\n", 4)
    next_s = time.monotonic() - started
    assert short.finish_reason != FINISH_CANCELLED
    # Had the server gone on with the cancelled answer, this request would wait for most of whole_s.
    assert next_s < whole_s / 2, (next_s, whole_s)
    await remote.aclose()


async def test_without_the_key_the_server_refuses_and_says_so(llama_server: LlamaServer, tiny_model: Path):
    engine = RemoteEngine(llama_server.base_url, tiny_model / "tokenizer.json")
    connection = await engine.connect(ApiKeys())
    assert connection.error is not None and "needs an API key (HTTP 401)" in connection.error
    wrong = RemoteEngine(llama_server.base_url, tiny_model / "tokenizer.json")
    keys = ApiKeys()
    keys.set(llama_server.base_url, "not-the-key")
    connection = await wrong.connect(keys)
    assert connection.error is not None and "refused the API key (HTTP 401)" in connection.error
