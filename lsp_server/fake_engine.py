"""A deterministic, model-less stand-in for the engine: ``magicoder-lsp --fake-engine``.

For end-to-end tests and demos of everything around the model: the engine interface
(engine.api.InferenceEngine), exact answers, no files, no onnxruntime. What it answers:

- an instruction primed with a code fence (Ask, fix, docstring, tests): ``<comment> fake: <request>``,
  then the instruction's code, the closing fence and a sentence (which the server must cut off);
- an instruction without a fence (Explain): ``Fake explanation: <request>``;
- the request SILENT_REQUEST: an empty code block (an answer without code);
- a fill-in-the-middle prompt: FIM_ANSWER with the cursor line's indentation in it (a first line,
  a second line at the cursor's indentation, then a line indented less, which ends the block).

Tokens are pieces of TOKEN_CHARS characters, each taking ``token_ms``; mode "fail" raises
EngineError on every generation (a broken engine).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

from .comments import comment_markers
from .engine.api import (
    FINISH_CANCELLED,
    FINISH_EOS,
    FINISH_LENGTH,
    FINISH_STOP,
    CancelToken,
    EngineError,
    GenerationResult,
    ManifestEngine,
    StreamOptions,
    run_options,
)
from .engine.gate import GateStatus
from .engine.manifest import Dims, Manifest, SpecialTokens
from .magicoder import INSTRUCTION_HEADER
from .settings import Settings

if TYPE_CHECKING:
    from typing_extensions import Unpack

MODES = ("echo", "fail")
TOKEN_CHARS = 4
CONTEXT_LENGTH = 4096
SILENT_REQUEST = "say nothing"
FIM_ANSWER = "fake_completion()\n{indent}second_line()\n{outdent}dedented_line()\n"
_FENCED = re.compile(
    re.escape(INSTRUCTION_HEADER) + r"\n(?P<request>.*?)\n\n"
    r"(?P<fence>`{3,})(?P<lang>[^\n]*)\n(?P<code>.*?)\n(?P=fence)",
    re.DOTALL,
)


def fake_answer(prompt: str, manifest: Manifest) -> str:
    """What the fake model says to a prompt."""
    fim = manifest.prompt
    if prompt.startswith(fim.fim_begin) and fim.fim_hole in prompt:
        prefix = prompt[len(fim.fim_begin) : prompt.index(fim.fim_hole)]
        line = prefix[prefix.rfind("\n") + 1 :]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        return FIM_ANSWER.format(indent=indent, outdent=indent[:-1])
    match = _FENCED.search(prompt)
    request = match.group("request") if match else prompt.split(INSTRUCTION_HEADER + "\n", 1)[-1].split("\n", 1)[0]
    if not prompt.endswith("```" + (match.group("lang") if match else "") + "\n"):
        return f"Fake explanation: {request}"
    if request.strip() == SILENT_REQUEST:
        return "```\n"
    marker = (comment_markers(match.group("lang")) or ("#",))[0].strip() if match else "#"
    code = match.group("code") if match else ""
    return f"{marker} fake: {request}\n{code}\n```\nThat is all."


class FakeEngine(ManifestEngine):
    """The engine interface, answering with fake_answer."""

    provider = "fake"
    device = "cpu"
    gate: GateStatus | None = None  # no model folder, so no parity report to tell about

    def __init__(
        self,
        folder: str | None = None,
        threads: int | None = None,
        device: str = "auto",
        mode: str = "echo",
        token_ms: float = 0.0,
    ):
        if mode not in MODES:
            raise EngineError(f"unknown fake engine mode {mode!r} (known: {', '.join(MODES)})")
        name = PurePath(folder).name if folder else "fake"
        self.manifest = Manifest(
            name=f"fake-{name}",
            dims=Dims(
                num_layers=1,
                num_heads=1,
                num_kv_heads=1,
                head_dim=1,
                hidden_size=1,
                vocab_size=1,
                context_length=CONTEXT_LENGTH,
            ),
            special_tokens=SpecialTokens(bos=0, eos=1),
        )
        self.mode, self.token_ms = mode, token_ms
        self._lock = threading.Lock()
        self._last_prompt = ""

    def count_tokens(self, text: str) -> int:
        return -(-len(text) // TOKEN_CHARS)

    def token_starts(self, text: str) -> list[int]:
        return list(range(0, len(text), TOKEN_CHARS))

    def stream(
        self, prompt: str, max_new_tokens: int, stop_strings: Sequence[str] = (), **options: Unpack[StreamOptions]
    ) -> Iterator[str]:
        cancel, result, reuse_prefix, _ = run_options(options)  # the fake answer does not depend on sampling
        result.prompt_tokens = self.count_tokens(prompt)
        if result.prompt_tokens >= CONTEXT_LENGTH:
            raise EngineError(f"the prompt has {result.prompt_tokens} tokens; the model's context is {CONTEXT_LENGTH}")
        if self.mode == "fail":
            raise EngineError("the fake engine fails on purpose (--fake-engine fail)")
        wake = threading.Event()
        if cancel is not None:
            cancel.on_cancel(wake.set)
        with self._lock:
            yield from self._generate(prompt, max_new_tokens, stop_strings, cancel, result, reuse_prefix, wake)

    def _generate(
        self,
        prompt: str,
        max_new_tokens: int,
        stop_strings: Sequence[str],
        cancel: CancelToken | None,
        result: GenerationResult,
        reuse_prefix: bool,
        wake: threading.Event,
    ) -> Iterator[str]:
        shared = 0
        if reuse_prefix:
            while shared < min(len(prompt), len(self._last_prompt)) and prompt[shared] == self._last_prompt[shared]:
                shared += 1
        self._last_prompt = prompt
        result.cached_tokens = shared // TOKEN_CHARS
        answer = fake_answer(prompt, self.manifest)
        cuts = [i for i in (answer.find(s) for s in stop_strings if s) if i >= 0]
        if cuts:
            answer = answer[: min(cuts)]
        pieces = [answer[i : i + TOKEN_CHARS] for i in range(0, len(answer), TOKEN_CHARS)]
        start = time.perf_counter()
        result.finish_reason = FINISH_STOP if cuts else FINISH_EOS
        for step, piece in enumerate(pieces):
            if step >= max_new_tokens:
                result.finish_reason = FINISH_LENGTH
                break
            if wake.wait(self.token_ms / 1000) if self.token_ms else wake.is_set():
                result.finish_reason = FINISH_CANCELLED
                break
            if step == 0:
                result.ttft_s = time.perf_counter() - start
            result.token_ids.append(step)
            result.text += piece
            yield piece
        result.decode_s = max(0.0, time.perf_counter() - start - result.ttft_s)


def fake_factory(settings: Settings, mode: str = "echo", token_ms: float = 0.0) -> FakeEngine:
    """An engine factory for the model host (see model_host.EngineFactory)."""
    return FakeEngine(settings.model, settings.threads, settings.device, mode=mode, token_ms=token_ms)
