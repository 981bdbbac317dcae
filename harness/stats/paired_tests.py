"""Classical paired tests on per-user deltas: Wilcoxon signed-rank, t, sign, TOST, seed-level sign.

Each returns a :class:`TestResult` carrying the p-value, the number of exact zeros, and the test's
floor (``min_attainable_p``), so a caller can tell "no effect" from "this test cannot reject here".
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from harness.errors import HarnessError
from harness.stats import _validate as v
from harness.stats._results import TestResult

ZERO_METHODS = ("pratt", "wilcox", "zsplit")


def _undefined(name: str, n: int, n_zero: int, why: str) -> TestResult:
    return TestResult(name=name, statistic=float("nan"), pvalue=float("nan"), n=n, method=why,
                      min_attainable_p=float("nan"), n_zero=n_zero, zero_share=n_zero / n if n else 0.0,
                      defined=False)


def _wilcoxon_method(d: np.ndarray, zero_method: str) -> tuple[object, str]:
    """Resolve scipy's ``method="auto"`` explicitly so the report can say which one ran."""
    n, has_zero = d.shape[0], bool(np.any(d == 0))
    mags = np.abs(d[d != 0]) if zero_method == "wilcox" else np.abs(d)
    has_ties = np.unique(mags).shape[0] < mags.shape[0]
    if n <= 50 and not (has_zero or has_ties):
        return "exact", "exact"
    if n <= 13:  # 2**13 < 9999 sign patterns: scipy's permutation test enumerates them exactly
        return stats.PermutationMethod(n_resamples=9999), "exact permutation"
    return "asymptotic", "normal approx"


def wilcoxon(delta: object, *, zero_method: str = "pratt", alternative: str = "two-sided") -> TestResult:
    """Wilcoxon signed-rank test of per-user deltas (wraps :func:`scipy.stats.wilcoxon`).

    Parameters
    ----------
    delta : array, shape (n_users,)
        Per-user differences ``treatment - baseline``.
    zero_method : ``"pratt"`` (default; zeros ranked then dropped), ``"wilcox"`` (zeros dropped
        before ranking) or ``"zsplit"`` (zero ranks split between signs).
    alternative : ``"two-sided"``, ``"less"`` or ``"greater"``.

    Returns
    -------
    TestResult
        ``statistic`` is scipy's (``min(R+, R-)`` two-sided, ``R+`` otherwise); ``method`` names the
        zero method and whether the p-value is exact or a normal approximation (no continuity
        correction). Undefined (``pvalue`` nan) when every delta is zero.

    Notes
    -----
    Wilcoxon tests a symmetric location shift (pseudo-median), not the mean delta; under a skewed
    null with mean zero it rejects far more often than alpha. Verdicts rest on the mean.
    Deltas are first rounded to 12 significant digits of the largest ``|delta|``
    (:func:`harness.stats._validate.tie_round`), so float noise (``0.1 + 0.2 - 0.3 = 5.6e-17``)
    neither splits exact ties nor turns a zero into a sign.
    """
    d = v.tie_round(v.as_1d(delta, "delta"))
    zero_method = v.choice(zero_method, ZERO_METHODS, "zero_method")
    alternative = v.choice(alternative, v.ALTERNATIVES, "alternative")
    n, n_zero = d.shape[0], int(np.count_nonzero(d == 0))
    label = f"wilcoxon signed-rank, zero_method={zero_method}"
    if n_zero == n:
        return _undefined("wilcoxon", n, n_zero, f"{label}: undefined, all {n} deltas are zero")
    method, how = _wilcoxon_method(d, zero_method)

    def run(x: np.ndarray) -> stats._morestats.WilcoxonResult:
        return stats.wilcoxon(x, zero_method=zero_method, alternative=alternative, method=method)

    res = run(d)
    floor = min(float(run(np.abs(d)).pvalue), float(run(-np.abs(d)).pvalue))
    return TestResult("wilcoxon", float(res.statistic), float(res.pvalue), n, f"{label}, {how}", floor,
                      n_zero, n_zero / n)


def paired_t(delta: object, alternative: str = "two-sided") -> TestResult:
    """Paired t-test of ``mean(delta) == 0`` (equals ``scipy.stats.ttest_rel(treat, base)``).

    Parameters
    ----------
    delta : array, shape (n_users,)
    alternative : ``"two-sided"``, ``"less"`` or ``"greater"``.

    Returns
    -------
    TestResult
        ``statistic`` is t on n - 1 df; undefined when n < 2 or all deltas are equal.
    """
    d = v.as_1d(delta, "delta")
    alternative = v.choice(alternative, v.ALTERNATIVES, "alternative")
    n, n_zero = d.shape[0], int(np.count_nonzero(d == 0))
    if n < 2 or np.all(d == d[0]):
        return _undefined("paired_t", n, n_zero, f"paired t-test: undefined, zero variance in {n} deltas")
    res = stats.ttest_1samp(d, 0.0, alternative=alternative)
    return TestResult("paired_t", float(res.statistic), float(res.pvalue), n, f"paired t-test, df={n - 1}", 0.0,
                      n_zero, n_zero / n)


def _sign(d: np.ndarray, alternative: str, name: str, label: str) -> TestResult:
    d = v.tie_round(d)  # float noise around 0 is a zero, not a sign
    n, n_zero = d.shape[0], int(np.count_nonzero(d == 0))
    n_pos, n_nz = int(np.count_nonzero(d > 0)), n - n_zero
    if n_nz == 0:
        return _undefined(name, n, n_zero, f"{label}: undefined, all {n} values are zero")
    p = stats.binomtest(n_pos, n_nz, 0.5, alternative=alternative).pvalue
    floor = min(stats.binomtest(n_nz, n_nz, 0.5, alternative=alternative).pvalue,
                stats.binomtest(0, n_nz, 0.5, alternative=alternative).pvalue)
    return TestResult(name, float(n_pos), float(p), n, f"{label}, {n_pos} positive of {n_nz} nonzero",
                      float(floor), n_zero, n_zero / n)


def sign_test(delta: object, alternative: str = "two-sided") -> TestResult:
    """Exact sign test: binomial test of the positive share among nonzero deltas.

    Parameters
    ----------
    delta : array, shape (n_users,)
    alternative : ``"two-sided"``, ``"less"`` or ``"greater"``.

    Returns
    -------
    TestResult
        ``statistic`` is the number of positive deltas; zeros are dropped (reported in ``n_zero``).
        A delta counts as zero when it rounds to 0 at 12 significant digits of the largest ``|delta|``.
    """
    d = v.as_1d(delta, "delta")
    alternative = v.choice(alternative, v.ALTERNATIVES, "alternative")
    return _sign(d, alternative, "sign", "exact sign test (binomial, p=0.5)")


def seed_level_test(seed_means: object, alternative: str = "two-sided") -> TestResult:
    """Exact sign test over the k seed-level mean deltas.

    Parameters
    ----------
    seed_means : array, shape (n_seeds,)
        Mean delta of each seed.
    alternative : ``"two-sided"``, ``"less"`` or ``"greater"``.

    Returns
    -------
    TestResult
        ``min_attainable_p`` is ``2 / 2**k`` two-sided (0.0625 for 5 seeds): with few seeds this test
        cannot reach alpha = 0.05 whatever the effect. Zeros as in :func:`sign_test`.
    """
    d = v.as_1d(seed_means, "seed_means")
    alternative = v.choice(alternative, v.ALTERNATIVES, "alternative")
    return _sign(d, alternative, "seed_sign", f"exact sign test over {d.shape[0]} seed means")


def tost_paired(delta: object, margin: float | tuple[float, float], alpha: float = 0.05) -> TestResult:
    """Two one-sided paired t-tests (TOST) for equivalence of the mean delta within a margin.

    Parameters
    ----------
    delta : array, shape (n_users,)
    margin : ``m > 0`` for bounds ``(-m, m)``, or explicit bounds ``(low, high)`` with low < high.
    alpha : used only in ``method`` text: ``pvalue <= alpha`` iff the ``1 - 2 alpha`` t interval lies
        within the bounds. The decision itself belongs to the caller.

    Returns
    -------
    TestResult
        ``pvalue = max(p_low, p_high)`` (as ``statsmodels.stats.weightstats.ttost_paired``);
        ``statistic`` is the t of the binding (larger-p) one-sided test.
    """
    d = v.as_1d(delta, "delta", min_n=2)
    a = v.level(alpha, "alpha")
    if isinstance(margin, (tuple, list)):
        if len(margin) != 2:
            raise HarnessError(f"margin must be a positive number or a (low, high) pair, got {margin!r}")
        low, high = float(margin[0]), float(margin[1])
    else:
        low, high = -float(margin), float(margin)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise HarnessError(f"margin must be a positive number or a (low, high) pair with low < high, got {margin!r}")
    n, n_zero = d.shape[0], int(np.count_nonzero(d == 0))
    se = d.std(ddof=1) / np.sqrt(n)
    if se == 0:
        return _undefined("tost", n, n_zero, "TOST paired t: undefined, zero variance in deltas")
    t_low, t_high = (d.mean() - low) / se, (d.mean() - high) / se
    p_low, p_high = stats.t.sf(t_low, n - 1), stats.t.cdf(t_high, n - 1)
    stat, p = (t_low, p_low) if p_low >= p_high else (t_high, p_high)
    return TestResult("tost", float(stat), float(p), n,
                      f"TOST paired t, bounds ({low:g}, {high:g}), df={n - 1}; p <= {a:g} iff the "
                      f"{100 * (1 - 2 * a):g}% t interval lies inside the bounds", 0.0, n_zero, n_zero / n)
