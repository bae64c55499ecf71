"""Uncertainty of benchmark means: these machines score a few dozen pieces or gaps, so every reported mean
comes with how far another draw of material could move it."""

from __future__ import annotations

import numpy as np

#: Resamples behind every benchmark interval: enough that the 2.5 and 97.5 percentiles settle to the third decimal.
BOOTSTRAP_RESAMPLES = 10_000


def bootstrap_mean_interval(values: np.ndarray, *, rng: np.random.Generator, resamples: int) -> tuple[float, float]:
    """Percentile-bootstrap 95 % interval of the mean of ``values`` (one value per unit that varies: a
    gap, a piece; paired differences for a comparison on the same units)."""
    values = np.asarray(values, dtype=np.float64)
    draws = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[draws].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def bootstrap_ratio_interval(numerators: np.ndarray, denominators: np.ndarray, *, rng: np.random.Generator,
                             resamples: int) -> tuple[float, float]:
    """Percentile-bootstrap 95 % interval of ``sum(numerators) / sum(denominators)`` resampling the units
    (episodes) they were counted on: a pooled frame ratio such as precision varies with which recordings
    were drawn, and frames of one recording are not independent draws."""
    numerators = np.asarray(numerators, dtype=np.float64)
    denominators = np.asarray(denominators, dtype=np.float64)
    draws = rng.integers(0, len(numerators), size=(resamples, len(numerators)))
    totals = denominators[draws].sum(axis=1)
    ratios = numerators[draws].sum(axis=1) / np.where(totals > 0, totals, np.nan)
    return float(np.nanpercentile(ratios, 2.5)), float(np.nanpercentile(ratios, 97.5))
