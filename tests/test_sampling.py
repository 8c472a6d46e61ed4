"""Greedy choice over float16 logits (CUDA fp16 graphs) through int16 keys."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lsp_server.engine.sampling import Sampler, argmax

halves = hnp.arrays(np.float16, st.integers(1, 300), elements=st.floats(width=16, allow_nan=False, allow_infinity=True))


@settings(max_examples=500, deadline=None)
@given(halves)
def test_float16_argmax_matches_numpy_on_every_half(logits):
    # numpy's own answer, computed in float32 (exact for halves): ties go to the first, -0 ties +0
    assert argmax(logits) == int(logits.astype(np.float32).argmax())


@given(st.lists(st.sampled_from([0.0, -0.0, -1.0, -np.inf]), min_size=1, max_size=20))
def test_signed_zeros_tie_and_the_first_wins(values):
    logits = np.array(values, np.float16)
    assert argmax(logits) == int(np.array(values, np.float32).argmax())


def test_greedy_sampler_uses_it_for_float16_and_float32():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(32256).astype(np.float16)
    choose = Sampler()
    assert choose(logits) == int(logits.astype(np.float32).argmax())
    assert choose(logits.astype(np.float32)) == int(logits.astype(np.float32).argmax())
