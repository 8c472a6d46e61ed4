"""The engine: a model folder loaded once, serving one generation at a time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import manifest as manifest_mod
from .generate import CancelToken, GenerationResult, generate
from .prefix import PrefixCache
from .sampling import GREEDY, Sampling
from .session import DecoderSession, EngineError
from .tokenizer import TextTokenizer

log = logging.getLogger(__name__)

BUILD_HINT = (
    "build the small demo model with `magicoder-export tiny --output DIR`, or export the real one with "
    "`magicoder-export build ise-uiuc/Magicoder-S-DS-6.7B --output DIR`, then point the server at DIR "
    "(--model, the `model` initialization option or MAGICODER_MODEL)"
)


class ModelNotFoundError(EngineError):
    """No usable model folder; the message says what is missing and how to build it."""


class Engine:
    def __init__(self, folder: Path, threads: int | None = None):
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise ModelNotFoundError(f"model folder {folder} does not exist: {BUILD_HINT}")
        try:
            self.manifest = manifest_mod.read(folder)
        except manifest_mod.ManifestError as exc:
            raise ModelNotFoundError(f"{exc}: {BUILD_HINT}") from exc
        start = time.perf_counter()
        self.folder = folder
        self.tokenizer = TextTokenizer(folder / self.manifest.tokenizer, add_bos=self.manifest.prompt.add_bos)
        self.session = DecoderSession(folder, self.manifest, threads)
        self.cache = PrefixCache(self.session)
        self._lock = threading.Lock()
        self.load_s = time.perf_counter() - start
        log.info(
            "loaded %s (%s, %s) in %.2fs, %d threads",
            self.manifest.name,
            self.manifest.precision,
            self.session.provider,
            self.load_s,
            self.session.threads,
        )

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def provider(self) -> str:
        return self.session.provider

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)

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
                cancel=cancel,
                result=result,
                reuse_prefix=reuse_prefix,
                sampling=sampling,
            )

    def complete(
        self,
        prompt: str,
        max_new_tokens: int,
        stop_strings: Sequence[str] = (),
        cancel: CancelToken | None = None,
        reuse_prefix: bool = True,
        sampling: Sampling = GREEDY,
    ) -> GenerationResult:
        result = GenerationResult()
        for _ in self.stream(prompt, max_new_tokens, stop_strings, cancel, result, reuse_prefix, sampling):
            pass
        return result
