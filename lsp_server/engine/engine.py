"""The engine: a model folder loaded once, serving one generation at a time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import gate as gate_mod
from . import manifest as manifest_mod
from .api import BUILD_HINT, EngineError, ManifestEngine, ModelNotFoundError, StreamOptions
from .generate import generate
from .prefix import PrefixCache
from .session import DecoderSession
from .tokenizer import TextTokenizer

if TYPE_CHECKING:
    from typing_extensions import Unpack

log = logging.getLogger(__name__)


class FifoLock:
    """One generation at a time, served in arrival order: an Ask waiting behind a completion
    is never overtaken by completions that arrive after it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._cond.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


class Engine(ManifestEngine):
    """A model folder on onnxruntime, with one KV cache reused across requests."""

    def __init__(self, folder: Path, threads: int | None = None, device: str = "auto"):
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise ModelNotFoundError(f"model folder {folder} does not exist: {BUILD_HINT}")
        try:
            self.manifest = manifest_mod.read(folder)
        except manifest_mod.ManifestError as exc:
            raise ModelNotFoundError(f"{exc}: {BUILD_HINT}") from exc
        start = time.perf_counter()
        self.folder = folder
        self.gate = gate_mod.read_status(folder, self.manifest)  # was the folder checked, and did it pass?
        self.tokenizer = TextTokenizer(folder / self.manifest.tokenizer, add_bos=self.manifest.prompt.add_bos)
        self.session = DecoderSession(folder, self.manifest, threads, device)
        self.cache = PrefixCache(self.session)
        self._lock = FifoLock()
        self.load_s = time.perf_counter() - start
        self.warmup_s = self._warm_up()
        log.info(
            "loaded %s (%s, %s) in %.2fs + %.2fs warm-up, %d threads",
            self.manifest.name,
            self.manifest.precision,
            self.session.provider,
            self.load_s,
            self.warmup_s,
            self.session.threads,
        )

    def _warm_up(self) -> float:
        """One tiny forward pass, so the first request does not pay for kernel and arena setup."""
        start = time.perf_counter()
        bos = [self.manifest.special_tokens.bos]
        self.cache.prepare(bos, 1, reuse=False)
        self.cache.forward(bos)
        self.cache.reset()
        return time.perf_counter() - start

    @property
    def provider(self) -> str:
        return self.session.provider

    @property
    def device(self) -> str:
        return self.session.device

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)

    def token_starts(self, text: str) -> Sequence[int]:
        """Where each token of a text starts (character offsets): cheap budget cuts in prompt building."""
        return self.tokenizer.starts(text)

    def stream(
        self, prompt: str, max_new_tokens: int, stop_strings: Sequence[str] = (), **options: Unpack[StreamOptions]
    ) -> Iterator[str]:
        """Generate from a prompt string (BOS added per the manifest); yields text pieces.

        One generation at a time: a second caller waits for the first to finish or be cancelled.
        """
        ids = self.tokenizer.encode(prompt)
        context = self.manifest.dims.context_length
        if len(ids) >= context:
            raise EngineError(f"the prompt has {len(ids)} tokens; the model's context is {context}")
        budget = max(0, min(max_new_tokens, context - len(ids)))
        with self._lock:
            yield from generate(
                self.cache,
                self.tokenizer,
                ids,
                budget,
                stop_ids=self.manifest.special_tokens.stop_ids(),
                stop_strings=stop_strings,
                **options,
            )
