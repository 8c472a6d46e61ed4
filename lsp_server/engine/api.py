"""The engine's interface: what the server holds an engine as, what it hands one and what it gets back.

No onnxruntime here: the model host, the handlers and stand-in engines import this module only.
An engine (the ONNX one, engine.Engine, or a stand-in such as fake_engine.FakeEngine) subclasses
InferenceEngine, implements ``stream``, ``count_tokens`` and ``token_starts``, and inherits ``complete``.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .gate import GateStatus
from .manifest import Manifest
from .sampling import GREEDY, Sampling

FINISH_EOS = "eos"
FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_CANCELLED = "cancelled"

BUILD_HINT = (
    "build the small demo model with `magicoder-export tiny --output DIR`, or export the real one with "
    "`magicoder-export build ise-uiuc/Magicoder-S-DS-6.7B --output DIR`, then point the server at DIR "
    "(--model, the `model` initialization option or MAGICODER_MODEL)"
)


class EngineError(RuntimeError):
    """The engine cannot serve this request (context overflow, unsupported graph, ...)."""


class ModelNotFoundError(EngineError):
    """No usable model folder; the message says what is missing and how to build it."""


class CancelToken:
    """Cancels a generation: checked every decode step, and an in-flight forward pass is
    terminated through onnxruntime's RunOptions, so a long prefill stops at once too."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class GenerationResult:
    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    finish_reason: str = ""  # one of the FINISH_* reasons
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV came from the previous request
    ttft_s: float = 0.0  # prompt in -> first token out
    decode_s: float = 0.0  # time spent on the tokens after the first

    @property
    def decode_tokens_per_s(self) -> float:
        steps = len(self.token_ids) - 1
        return steps / self.decode_s if steps > 0 and self.decode_s > 0 else 0.0


@runtime_checkable
class InferenceEngine(Protocol):
    """A loaded model that generates text, one generation at a time."""

    manifest: Manifest  # the model folder's contract: context length, prompt template, FIM strings
    gate: GateStatus | None  # the folder's parity check (None: no folder, nothing to tell)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    @abstractmethod
    def provider(self) -> str:
        """What runs the model (onnxruntime's execution provider), for the status bar."""

    @property
    @abstractmethod
    def device(self) -> str:
        """Where the model really runs: "cpu" or "cuda"."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Token count of a fragment (no BOS): the counter handed to prompt building."""

    @abstractmethod
    def token_starts(self, text: str) -> Sequence[int]:
        """Where each token of a fragment (no BOS) starts (character offsets): cheap budget cuts."""

    @abstractmethod
    def stream(
        self,
        prompt: str,
        max_new_tokens: int,
        stop_strings: Sequence[str] = (),
        cancel: CancelToken | None = None,
        result: GenerationResult | None = None,
        reuse_prefix: bool = True,
        sampling: Sampling = GREEDY,
    ) -> Iterator[str]:
        """Generate from a prompt string; yields text pieces and fills ``result``.

        A second caller waits for the first generation to finish or be cancelled; ``cancel`` stops
        it within one decode step; ``reuse_prefix`` reuses what the last prompt shares with this one.
        """

    def complete(
        self,
        prompt: str,
        max_new_tokens: int,
        stop_strings: Sequence[str] = (),
        cancel: CancelToken | None = None,
        reuse_prefix: bool = True,
        sampling: Sampling = GREEDY,
    ) -> GenerationResult:
        """``stream`` to the end: the whole answer at once."""
        result = GenerationResult()
        for _ in self.stream(prompt, max_new_tokens, stop_strings, cancel, result, reuse_prefix, sampling):
            pass
        return result
