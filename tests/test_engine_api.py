"""The engine interface: both engines implement it, the server holds engines through it, and what the
server imports of the engine loads no onnxruntime until a real engine is built."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pytest

import lsp_server.engine as engine_pkg
from lsp_server.engine import Engine
from lsp_server.engine.api import CancelToken, GenerationResult, InferenceEngine, ManifestEngine, StreamOptions
from lsp_server.fake_engine import FakeEngine
from lsp_server.magicoder import FIM_BEGIN, FIM_END, FIM_HOLE

if TYPE_CHECKING:
    from typing_extensions import Unpack

FIM_PROMPT = f"{FIM_BEGIN}def f():\n    {FIM_HOLE}\n{FIM_END}"
# What the server imports before a model is loaded: none of it may need onnxruntime.
LIGHT_MODULES = (
    "lsp_server.engine",
    "lsp_server.engine.api",
    "lsp_server.engine.manifest",
    "lsp_server.engine.gate",
    "lsp_server.model_host",
    "lsp_server.fake_engine",
    "lsp_server.handlers.actions",
    "lsp_server.handlers.ask",
    "lsp_server.handlers.config",
    "lsp_server.handlers.edits",
    "lsp_server.handlers.host",
    "lsp_server.handlers.inline",
)


def serve(engine: InferenceEngine, prompt: str) -> GenerationResult:
    """Typed to take the interface: mypy checks that each engine passed here satisfies it."""
    return engine.complete(prompt, 8)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


def test_the_server_side_imports_without_onnxruntime_installed():
    """onnxruntime blocked (as if not installed): the model host, the handlers and the fake engine still
    import, and the fake engine serves a generation."""
    code = (
        "import importlib, sys\n"
        "sys.modules['onnxruntime'] = None\n"
        f"for name in {LIGHT_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "from lsp_server.fake_engine import FakeEngine\n"
        f"print(FakeEngine().complete({FIM_PROMPT!r}, 4).finish_reason)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "length"


def test_the_server_side_does_not_load_onnxruntime_until_an_engine_is_built():
    code = (
        "import importlib, sys\n"
        f"for name in {LIGHT_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "from lsp_server.engine import CancelToken, Manifest, TextTokenizer\n"
        "print('onnxruntime' in sys.modules)\n"
        "from lsp_server.engine import Engine\n"
        "print('onnxruntime' in sys.modules)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_the_package_publishes_every_name_it_lists():
    assert sorted(engine_pkg.__all__) == sorted(engine_pkg._LAZY)
    for name in engine_pkg.__all__:
        home = importlib.import_module(f"lsp_server.engine.{engine_pkg._LAZY[name]}")
        assert getattr(engine_pkg, name) is getattr(home, name), name
    assert set(engine_pkg.__all__) <= set(dir(engine_pkg))
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        engine_pkg.Nothing  # noqa: B018


def test_the_fake_engine_implements_the_interface():
    fake = FakeEngine()
    assert isinstance(fake, InferenceEngine)
    assert serve(fake, FIM_PROMPT).text.startswith("fake_completion()")
    assert fake.name == fake.manifest.name == "fake-fake"


def test_the_onnx_engine_implements_the_interface(engine: Engine):
    assert isinstance(engine, InferenceEngine)
    result = serve(engine, "def parse(line):\n")
    assert result.finish_reason in {"length", "eos"} and result.prompt_tokens > 0
    assert engine.name == engine.manifest.name and engine.device in {"cpu", "cuda"}


def test_both_engines_share_complete():
    assert FakeEngine.complete is Engine.complete is InferenceEngine.complete


def test_complete_is_stream_to_the_end():
    class Scripted(ManifestEngine):
        provider, device, gate = "scripted", "cpu", None

        def __init__(self) -> None:
            self.manifest = FakeEngine().manifest
            self.calls: list[tuple] = []

        def count_tokens(self, text: str) -> int:
            return len(text)

        def token_starts(self, text: str) -> Sequence[int]:
            return range(len(text))

        def stream(
            self, prompt: str, max_new_tokens: int, stop_strings: Sequence[str] = (), **options: Unpack[StreamOptions]
        ) -> Iterator[str]:
            self.calls.append(
                (prompt, max_new_tokens, tuple(stop_strings), options.get("cancel"), options.get("reuse_prefix"))
            )
            result = options.get("result")
            assert result is not None
            for piece in ("a", "b"):
                result.text += piece
                yield piece
            result.finish_reason = "eos"

    scripted, cancel = Scripted(), CancelToken()
    result = scripted.complete("p", 5, ["\n"], cancel=cancel, reuse_prefix=False)
    assert (result.text, result.finish_reason) == ("ab", "eos")
    assert scripted.calls == [("p", 5, ("\n",), cancel, False)]


def test_an_engine_without_stream_cannot_be_built_nor_passes_for_one() -> None:
    class NoStream(ManifestEngine):
        provider, device, gate = "none", "cpu", None

        def count_tokens(self, text: str) -> int:
            return 0

        def token_starts(self, text: str) -> Sequence[int]:
            return []

    with pytest.raises(TypeError, match="stream"):
        NoStream()  # type: ignore[abstract]

    class Lookalike:  # not a subclass: the runtime check looks for every member
        provider, device, gate, name, context_length = "x", "cpu", None, "x", 1
        prompt_format = FakeEngine().prompt_format

        def count_tokens(self, text: str) -> int:
            return 0

    assert not isinstance(Lookalike(), InferenceEngine)
