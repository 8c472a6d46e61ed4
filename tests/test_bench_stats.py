"""The decode A/B benchmark's interval: the statistics its closing claims rest on."""

from __future__ import annotations

import random
import statistics

from bench.lib.stats import bootstrap_median_interval


def test_the_interval_holds_the_median_and_stays_inside_the_data():
    rng = random.Random(7)
    values = [rng.gauss(1.0, 0.05) for _ in range(20)]
    low, high = bootstrap_median_interval(values)
    assert min(values) <= low <= statistics.median(values) <= high <= max(values)
    assert low < high


def test_constant_data_gives_a_point_and_the_seed_fixes_the_answer():
    assert bootstrap_median_interval([0.97] * 9) == (0.97, 0.97)
    values = [0.9, 1.1, 0.95, 1.02, 0.99, 1.04, 0.93]
    assert bootstrap_median_interval(values, seed=3) == bootstrap_median_interval(values, seed=3)


def test_a_real_shift_is_told_from_noise():
    rng = random.Random(1)
    shifted = [rng.gauss(0.90, 0.02) for _ in range(20)]
    noisy = [1.0 + 0.005 * ((i * 7) % 21 - 10) for i in range(21)]  # ±5 % around parity, shuffled
    assert bootstrap_median_interval(shifted)[1] < 1.0  # 10 % slower, 2 % noise: the interval excludes parity
    low, high = bootstrap_median_interval(noisy)
    assert low < 1.0 < high
