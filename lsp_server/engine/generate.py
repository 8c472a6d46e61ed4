"""The decode loop: prefill, then one token at a time until a stop condition."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np
import onnxruntime as ort

from .api import FINISH_CANCELLED, FINISH_EOS, FINISH_LENGTH, FINISH_STOP, CancelToken, GenerationResult
from .prefix import PrefixCache
from .sampling import GREEDY, Sampler, Sampling
from .tokenizer import IncrementalDecoder, TextTokenizer


class StopMatcher:
    """Cuts the text at the first stop string, matched across token boundaries.

    While streaming, text that could still become the start of a stop string is held back.
    """

    def __init__(self, stop_strings: Sequence[str]):
        self.stops = [s for s in stop_strings if s]

    def find(self, text: str) -> int:
        """Index of the earliest stop string in text, or -1."""
        hits = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        return min(hits) if hits else -1

    def safe_length(self, text: str) -> int:
        """How much of text can be emitted now: all but a suffix that prefixes a stop string."""
        hold = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(text)), 0, -1):
                if text.endswith(stop[:n]):
                    hold = max(hold, n)
                    break
        return len(text) - hold


class TextStream:
    """Token ids in, final text pieces out: whole UTF-8 characters, never past a stop string."""

    def __init__(self, tokenizer: TextTokenizer, stop_strings: Sequence[str]):
        self.decoder = IncrementalDecoder(tokenizer)
        self.stops = StopMatcher(stop_strings)
        self.text = ""
        self.emitted = 0
        self.stopped = False

    def push(self, token: int) -> str:
        self.text += self.decoder.push(token)
        cut = self.stops.find(self.text)
        if cut >= 0:
            self.text, self.stopped = self.text[:cut], True
        safe = len(self.text) if self.stopped else self.stops.safe_length(self.text)
        return self._emit(safe)

    def finish(self) -> str:
        if not self.stopped:
            self.text += self.decoder.flush()
            cut = self.stops.find(self.text)
            self.text = self.text[:cut] if cut >= 0 else self.text
        return self._emit(len(self.text))

    def _emit(self, upto: int) -> str:
        piece = self.text[self.emitted : upto] if upto > self.emitted else ""
        self.emitted = max(self.emitted, upto)
        return piece


class RunControl:
    """One generation's onnxruntime RunOptions, terminated when the generation is cancelled."""

    def __init__(self, cancel: CancelToken | None):
        self.cancel = cancel
        self.options = ort.RunOptions()
        # The default graph id, said explicitly: onnxruntime's run wrapper otherwise looks it up through
        # an exception every step (~60 us, 1-2 % of a decode step on CPU).
        self.options.add_run_config_entry("gpu_graph_id", "0")
        if cancel is not None:
            cancel.on_cancel(self._terminate)

    def _terminate(self) -> None:
        self.options.terminate = True

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def forward(self, cache: PrefixCache, ids: list[int]) -> np.ndarray | None:
        """logits [vocab], or None when the pass was terminated by a cancel."""
        try:
            return cache.forward(ids, self.options)
        except Exception:
            if self.cancelled:
                return None
            raise


def generate(
    cache: PrefixCache,
    tokenizer: TextTokenizer,
    prompt_ids: list[int],
    max_new_tokens: int,
    stop_ids: Sequence[int] = (),
    stop_strings: Sequence[str] = (),
    cancel: CancelToken | None = None,
    result: GenerationResult | None = None,
    reuse_prefix: bool = True,
    sampling: Sampling = GREEDY,
) -> Iterator[str]:
    """Generate; yields text pieces as they become final, fills ``result``."""
    result = result if result is not None else GenerationResult()
    result.prompt_tokens = len(prompt_ids)
    run = RunControl(cancel)
    if run.cancelled:  # cancelled while it waited for its turn
        result.finish_reason = FINISH_CANCELLED
        return
    stream = TextStream(tokenizer, stop_strings)
    choose = Sampler(sampling)
    start = time.perf_counter()
    result.cached_tokens = cache.prepare(prompt_ids, max_new_tokens, reuse=reuse_prefix)
    logits = run.forward(cache, prompt_ids[result.cached_tokens :])  # prefill what the cache lacks
    first_at = None
    for step in range(max_new_tokens):
        if logits is None or run.cancelled:
            result.finish_reason = FINISH_CANCELLED
            break
        token = choose(logits, cache.ids)  # cache.ids: every token so far
        if first_at is None:
            first_at = time.perf_counter()
            result.ttft_s = first_at - start
        if token in stop_ids:
            result.finish_reason = FINISH_EOS
            break
        result.token_ids.append(token)
        piece = stream.push(token)
        if piece:
            yield piece
        if stream.stopped:
            result.finish_reason = FINISH_STOP
            break
        if step + 1 < max_new_tokens:
            logits = run.forward(cache, [token])
    else:
        result.finish_reason = FINISH_LENGTH
    tail = stream.finish()
    if first_at is not None:
        result.decode_s = time.perf_counter() - first_at
    result.text = stream.text
    if tail:
        yield tail
