"""The decode loop: prefill, then one token at a time until a stop condition."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from .api import (
    FINISH_CANCELLED,
    FINISH_EOS,
    FINISH_LENGTH,
    FINISH_STOP,
    CancelToken,
    StreamOptions,
    run_options,
)
from .prefix import PrefixCache
from .sampling import Sampler
from .stops import StopText
from .tokenizer import IncrementalDecoder, TextTokenizer

if TYPE_CHECKING:
    from typing_extensions import Unpack


class TextStream:
    """Token ids in, final text pieces out: whole UTF-8 characters, never past a stop string."""

    def __init__(self, tokenizer: TextTokenizer, stop_strings: Sequence[str]):
        self.decoder = IncrementalDecoder(tokenizer)
        self.cut = StopText(stop_strings)

    @property
    def stopped(self) -> bool:
        return self.cut.stopped

    @property
    def text(self) -> str:
        return self.cut.text

    def push(self, token: int) -> str:
        return self.cut.push(self.decoder.push(token))

    def finish(self) -> str:
        return self.cut.finish("" if self.cut.stopped else self.decoder.flush())


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
    **options: Unpack[StreamOptions],
) -> Iterator[str]:
    """Generate; yields text pieces as they become final, fills ``options["result"]``."""
    cancel, result, reuse_prefix, sampling = run_options(options)
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
