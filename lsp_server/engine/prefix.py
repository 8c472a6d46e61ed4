"""Prefix reuse: keep the KV cache of the last sequence, prefill only what changed.

Editor requests differ by a keystroke: the new prompt shares a long token prefix with the last
one, whose keys and values are still in the buffer.  Positions past the shared prefix are simply
overwritten by the next forward pass (the fused graph writes at ``cache.length``).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from .kv import KvState
from .session import DecoderSession

CAPACITY_BLOCK = 256  # grow the buffer in blocks, so that similar requests keep one buffer


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    x, y = np.asarray(a[:n]), np.asarray(b[:n])
    diff = np.flatnonzero(x != y)
    return int(diff[0]) if diff.size else n


class PrefixCache:
    """The engine's one KV cache and the token ids it holds."""

    def __init__(self, session: DecoderSession):
        self.session = session
        self.kv: KvState | None = None
        self.ids: list[int] = []  # tokens whose K/V are in kv[..., :len(ids), :]

    def prepare(self, prompt_ids: list[int], max_new_tokens: int, reuse: bool = True) -> int:
        """Make room for the request; returns how many prompt tokens are already cached."""
        keep = min(common_prefix(self.ids, prompt_ids), len(prompt_ids) - 1) if reuse else 0
        need = len(prompt_ids) + max_new_tokens
        if self.kv is None or not self.kv.fits(need):
            limit = self.session.manifest.dims.context_length
            capacity = min(limit, -(-need // CAPACITY_BLOCK) * CAPACITY_BLOCK)
            grown = self.session.new_cache(max(capacity, need))
            if self.kv is not None and keep:
                grown.copy_prefix_from(self.kv, keep)
            self.kv = grown
        self.kv.truncate(keep)
        self.ids = list(prompt_ids[:keep])
        return keep

    def forward(self, ids: list[int], run_options: ort.RunOptions | None = None) -> np.ndarray:
        """Run new tokens after the cached ones; returns the last position's logits.

        A failed or terminated pass leaves the cache as it was: the graph writes only positions
        at or past ``kv.length``, and neither ``length`` nor ``ids`` advance.
        """
        assert self.kv is not None, "prepare() first"
        logits = self.session.forward(ids, self.kv, run_options)
        self.ids.extend(ids)
        return logits

    def reset(self) -> None:
        self.ids = []
        if self.kv is not None:
            self.kv.truncate(0)
