"""Calibration: empirical false-positive rate of a test over A/A comparisons, with a binomial CI."""
from __future__ import annotations

import numpy as np
from scipy import stats

from harness.errors import HarnessError
from harness.stats import _validate as v
from harness.stats._results import ConfidenceInterval


def false_positive_rate(pvalues: object, alpha: float = 0.05,
                        confidence_level: float = 0.95) -> tuple[float, ConfidenceInterval]:
    """Share of p-values ``<= alpha`` under a true null, with a Clopper-Pearson interval.

    Parameters
    ----------
    pvalues : array, shape (m,)
        p-values of one test over m null (A/A) comparisons; NaN (undefined tests) are dropped.
    alpha : nominal level.
    confidence_level : coverage of the exact binomial interval (``scipy.stats.binomtest``).

    Returns
    -------
    (rate, ci)
        A well-calibrated test has ``alpha`` inside ``ci``.
    """
    a = v.level(alpha, "alpha")
    cl = v.level(confidence_level)
    p = v.pvalues(pvalues)
    p = p[~np.isnan(p)]
    if p.shape[0] == 0:
        raise HarnessError("no defined p-values to calibrate: every test was undefined (NaN)")
    hits = int(np.count_nonzero(p <= a))
    ci = stats.binomtest(hits, p.shape[0]).proportion_ci(cl, method="exact")
    return hits / p.shape[0], ConfidenceInterval(float(ci.low), float(ci.high))
