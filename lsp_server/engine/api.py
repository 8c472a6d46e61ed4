"""The engine's interface: what the server holds an engine as, what it hands one and what it gets back.

No onnxruntime here: the model host, the handlers and stand-in engines import this module only.
An engine (the ONNX one, engine.Engine, the remote one, remote.RemoteEngine, or a stand-in such as
fake_engine.FakeEngine) subclasses InferenceEngine, implements ``stream``, ``count_tokens`` and
``token_starts``, and inherits ``complete``. An engine whose generations are network streams
(AsyncStreaming) also implements ``connect`` and ``astream``: the server then runs its generations on
its event loop, with no thread per request.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypedDict, runtime_checkable

from .gate import GateStatus
from .manifest import Manifest, PromptFormat
from .sampling import GREEDY, Sampling

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .endpoint import ApiKeys

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
        self._callbacks: list[Callable[[], object]] = []

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], object]) -> None:
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


class RunOptions(TypedDict, total=False):
    """How a generation runs, besides its prompt, length and stop strings (all optional)."""

    cancel: CancelToken | None  # stops the generation within one decode step
    reuse_prefix: bool  # reuse the KV cache of what the last prompt shares with this one (default True)
    sampling: Sampling  # default: greedy
    patient: bool  # a busy server's Retry-After is waited for once (Ask); False: fail at once (inline)


class StreamOptions(RunOptions, total=False):
    result: GenerationResult | None  # filled as the generation goes (counts, timings, finish reason)


def run_options(options: StreamOptions) -> tuple[CancelToken | None, GenerationResult, bool, Sampling]:
    """``options`` with their defaults: (cancel, result, reuse_prefix, sampling)."""
    result = options.get("result")
    return (
        options.get("cancel"),
        result if result is not None else GenerationResult(),
        options.get("reuse_prefix", True),
        options.get("sampling", GREEDY),
    )


@runtime_checkable
class InferenceEngine(Protocol):
    """A loaded model that generates text, one generation at a time."""

    gate: GateStatus | None  # the folder's parity check (None: no folder, nothing to tell)

    @property
    @abstractmethod
    def name(self) -> str:
        """The model's name, for the status bar and the log."""

    @property
    @abstractmethod
    def prompt_format(self) -> PromptFormat:
        """How prompts are written for the model: the instruction template and the FIM strings."""

    @property
    @abstractmethod
    def context_length(self) -> int:
        """Most tokens of a prompt and its answer together."""

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
        self, prompt: str, max_new_tokens: int, stop_strings: Sequence[str] = (), **options: Unpack[StreamOptions]
    ) -> Iterator[str]:
        """Generate from a prompt string; yields text pieces and fills ``options["result"]``.

        A second caller waits for the first generation to finish or be cancelled; ``cancel`` stops
        it within one decode step; ``reuse_prefix`` reuses what the last prompt shares with this one.
        """

    def complete(
        self, prompt: str, max_new_tokens: int, stop_strings: Sequence[str] = (), **options: Unpack[RunOptions]
    ) -> GenerationResult:
        """``stream`` to the end: the whole answer at once."""
        result = GenerationResult()
        for _ in self.stream(prompt, max_new_tokens, stop_strings, result=result, **options):
            pass
        return result


class ManifestEngine(InferenceEngine):
    """An engine described by a model folder's manifest (or one made up like it)."""

    manifest: Manifest  # the model folder's contract: context length, prompt template, FIM strings

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def prompt_format(self) -> PromptFormat:
        return self.manifest.prompt

    @property
    def context_length(self) -> int:
        return self.manifest.dims.context_length


@dataclass
class Connection:
    """What an AsyncStreaming engine's connect() found: warnings to show once, and an error that keeps the status
    red while every request tries again (a server that comes back is used at once)."""

    warnings: list[str]
    error: str | None = None


@runtime_checkable
class AsyncStreaming(Protocol):
    """An engine whose generations are network streams, run on the server's event loop."""

    async def connect(self, keys: ApiKeys) -> Connection:
        """Check the server once after loading, with the editor's API keys (kept: they may change)."""
        ...

    def astream(
        self, prompt: str, max_new_tokens: int, stop_strings: Sequence[str] = (), **options: Unpack[StreamOptions]
    ) -> AsyncIterator[str]:
        """``stream`` as an async iterator; closing it (or cancelling its task) closes the stream at once."""
        ...

    async def aclose(self) -> None:
        """Close the connections."""
        ...
