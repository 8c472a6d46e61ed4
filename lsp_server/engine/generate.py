"""The decode loop: prefill, then one token at a time until a stop condition."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .prefix import PrefixCache
from .sampling import GREEDY, Sampler, Sampling
from .tokenizer import IncrementalDecoder, TextTokenizer

FINISH_EOS = "eos"
FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_CANCELLED = "cancelled"


class CancelToken:
    """Checked once per decode step; cancelling stops the generation within one step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class GenerationResult:
    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    finish_reason: str = ""
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV came from the previous request
    ttft_s: float = 0.0  # prompt in -> first token out
    decode_s: float = 0.0  # time spent on the tokens after the first

    @property
    def decode_tokens_per_s(self) -> float:
        steps = len(self.token_ids) - 1
        return steps / self.decode_s if steps > 0 and self.decode_s > 0 else 0.0


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
    stops = StopMatcher(stop_strings)
    decoder = IncrementalDecoder(tokenizer)
    choose = Sampler(sampling)
    text, emitted = "", 0
    if cancel is not None and cancel.cancelled:  # cancelled while it waited for its turn
        result.finish_reason = FINISH_CANCELLED
        return
    start = time.perf_counter()
    result.cached_tokens = cache.prepare(prompt_ids, max_new_tokens, reuse=reuse_prefix)
    logits = cache.forward(prompt_ids[result.cached_tokens :])  # prefill what the cache lacks
    first_at = None
    for step in range(max_new_tokens):
        if cancel is not None and cancel.cancelled:
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
        text += decoder.push(token)
        cut = stops.find(text)
        if cut >= 0:
            text = text[:cut]
            result.finish_reason = FINISH_STOP
            break
        safe = stops.safe_length(text)
        if safe > emitted:
            yield text[emitted:safe]
            emitted = safe
        if step + 1 < max_new_tokens:
            logits = cache.forward([token])
    else:
        result.finish_reason = FINISH_LENGTH
    if result.finish_reason != FINISH_STOP:
        text += decoder.flush()
        cut = stops.find(text)
        text = text[:cut] if cut >= 0 else text
    if first_at is not None:
        result.decode_s = time.perf_counter() - first_at
    result.text = text
    if len(text) > emitted:
        yield text[emitted:]
