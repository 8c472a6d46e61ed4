"""The statistics the benchmarks report: medians, percentiles and a bootstrap interval."""

from __future__ import annotations

import random
import statistics


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def pct(values: list[float], q: int) -> float:
    """The ``q``-th percentile (the value itself for one sample, nan for none)."""
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else (values[0] if values else float("nan"))


def bootstrap_median_interval(
    values: list[float], level: float = 0.95, resamples: int = 4000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of `values`."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    tail = (1 - level) / 2
    return medians[int(tail * resamples)], medians[min(resamples - 1, int((1 - tail) * resamples))]


def least_squares(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """The least-squares line through the points, (intercept, slope); None when every x is the same."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=False)) / sxx
    return my - slope * mx, slope
