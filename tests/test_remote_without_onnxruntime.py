"""With backend "openai" the server needs no onnxruntime: `pip install 'magicoder-lsp[remote]'` has none.

A fresh interpreter in which importing onnxruntime fails loads the whole server (pygls side included), connects to
a scripted OpenAI-compatible server and answers an inline completion; onnxruntime is never even looked for.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import ROOT

SCRIPT = r"""
import asyncio, importlib.abc, sys

looked_for = []

class NoOnnxruntime(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "onnxruntime":
            looked_for.append(name)
            raise ImportError(f"{name} is not installed here")

sys.meta_path.insert(0, NoOnnxruntime())

from lsp_server.handlers.inline import InlineCompleter
from lsp_server.model_host import real_engine
from lsp_server.protocol import create_server
from tests.helpers.openai_fake import FakeOpenAI
from tests.helpers.positions import pos
from tests.helpers.recording_host import start_host

async def main():
    create_server()
    with FakeOpenAI(answer=lambda prompt: "return 1\n") as fake:
        host = await start_host(
            factory=real_engine, backend="openai", endpoint=fake.url, tokenizer=sys.argv[1], debounce_ms=0
        )
        host.open("file:///w/a.py", "def f():\n    \n")
        found = await InlineCompleter(host).complete("file:///w/a.py", pos(1, 4))
    assert found is not None and found.text == "return 1", found
    assert looked_for == [], looked_for
    assert not [name for name in sys.modules if name.startswith("onnxruntime")]
    print("served without onnxruntime")

asyncio.run(main())
"""


def test_the_remote_backend_serves_without_onnxruntime(tiny_model: Path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tiny_model / "tokenizer.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("served without onnxruntime")
