"""The benchmark's C API decode loop (bench/capi_loop.py) drives libonnxruntime.so correctly: it must
produce our engine's greedy tokens, or its speed says nothing about the engine's."""

from __future__ import annotations

from pathlib import Path

from bench.capi_loop import CApiLoop
from lsp_server.engine import Engine


def test_the_c_api_loop_gives_the_engines_greedy_tokens(tiny_model: Path, engine: Engine):
    ids = engine.tokenizer.encode("def fibonacci(n):\n    ")
    ours = engine.cache
    ours.prepare(ids, 24, reuse=False)
    expected = []
    logits = ours.forward(ids)
    for _ in range(24):
        expected.append(int(logits.argmax()))
        logits = ours.forward([expected[-1]])
    ours.reset()
    result = CApiLoop(str(tiny_model), threads=1).generate(ids, 24)
    assert result["tokens"] == expected and len(set(expected)) > 1
    assert result["decode_tps"] > 0
