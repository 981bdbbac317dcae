"""Interval of a quantity measured once per training seed (catalogue-level metrics: users are not the unit)."""
from __future__ import annotations

import numpy as np
from scipy import stats

from harness.stats import _validate as v
from harness.stats._results import ConfidenceInterval, IntervalResult


def seed_t_interval(values: object, confidence_level: float = 0.95) -> IntervalResult:
    """t interval of the mean over seeds, ``mean +- t_{k-1} sd / sqrt(k)``, values (k seeds,), k >= 2."""
    x = v.as_1d(values, "values", min_n=2)
    cl = v.level(confidence_level)
    k = x.shape[0]
    est, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(k))
    half = float(stats.t.ppf(0.5 + cl / 2, k - 1)) * se
    return IntervalResult(est, ConfidenceInterval(est - half, est + half), se,
                          f"t interval over {k} seeds (k - 1 = {k - 1} df)", cl, 0, float(k - 1))
