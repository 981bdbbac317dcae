"""Paired bootstrap intervals of the mean delta and of the relative change (percentile and BCa).

The statistic is always a function of per-user column means, so every resample reduces to a
vector of resampled means. Two exact engines produce them:

* **multinomial** - when the per-user rows take few distinct values (NDCG@10 deltas with binary
  relevance do), resampling n users with replacement is the same as drawing how many times each
  distinct row is picked, ``counts ~ Multinomial(n, freq / n)``; the resampled mean is then
  ``counts @ values / n``. This is distributionally identical to index resampling and costs
  O(B * K) instead of O(B * n).
* **index** - otherwise draw an index matrix ``rng.integers(0, n, (batch, n))`` per batch (the same
  draws as ``scipy.stats.bootstrap``), memory capped at ``batch * n`` indices.

BCa acceleration uses the jackknife in closed form: leave-one-out means are ``(S - x_i) / (n-1)``,
so no n refits are needed.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from harness.stats import _validate as v
from harness.stats._results import ConfidenceInterval, IntervalResult

#: Use the multinomial engine when rows take at most this many distinct values.
MAX_DISTINCT = 1000
#: Memory cap per batch, in array elements (~32 MB of int64 indices).
BATCH_ELEMENTS = 2**22
METHODS = ("percentile", "bca")
RESAMPLING = ("auto", "multinomial", "index")


# --------------------------------------------------------------------------------------- engines
def _distinct_rows(cols: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the (n, m) matrix ``column_stack(cols)``: values (K, m), counts (K,)."""
    if len(cols) == 1:
        vals, counts = np.unique(cols[0], return_counts=True)
        return vals[:, None], counts
    vals, counts = np.unique(np.column_stack(cols), axis=0, return_counts=True)
    return vals, counts


def _index_means(cols: list[np.ndarray], n_resamples: int, rng: np.random.Generator,
                 batch: int | None) -> np.ndarray:
    """Resampled column means by index resampling; returns shape (n_resamples, m).

    Draws ``rng.integers(0, n, (b, n))`` per batch exactly like ``scipy.stats.bootstrap`` so the same
    seed and ``batch`` give the same resamples.
    """
    n = cols[0].shape[0]
    step = batch or max(1, BATCH_ELEMENTS // n)
    out = np.empty((n_resamples, len(cols)))
    for start in range(0, n_resamples, step):  # loop over memory-capped batches, not resamples
        b = min(step, n_resamples - start)
        idx = rng.integers(0, n, (b, n))
        for j, c in enumerate(cols):
            out[start:start + b, j] = c[idx].mean(axis=-1)
    return out


def _multinomial_means(values: np.ndarray, counts: np.ndarray, n_resamples: int,
                       rng: np.random.Generator, batch: int | None) -> np.ndarray:
    """Resampled column means by multinomial counts over distinct rows; shape (n_resamples, m)."""
    n = int(counts.sum())
    p = counts / n
    step = batch or max(1, BATCH_ELEMENTS // len(counts))
    out = np.empty((n_resamples, values.shape[1]))
    for start in range(0, n_resamples, step):
        b = min(step, n_resamples - start)
        draws = rng.multinomial(n, p, size=b)
        out[start:start + b] = (draws @ values) / n
    return out


def _resampled_means(cols: list[np.ndarray], n_resamples: int, rng: np.random.Generator,
                     batch: int | None, resampling: str) -> tuple[np.ndarray, str]:
    """Pick an engine; return resampled means (B, m) and a description of the engine."""
    n = cols[0].shape[0]
    values, counts = _distinct_rows(cols) if resampling != "index" else (None, None)
    if resampling == "multinomial" or (resampling == "auto" and len(counts) <= MAX_DISTINCT
                                       and len(counts) < n):
        return (_multinomial_means(values, counts, n_resamples, rng, batch),
                f"multinomial over {len(counts)} distinct values")
    return _index_means(cols, n_resamples, rng, batch), f"index resampling of {n} users"


# ------------------------------------------------------------------------------------- intervals
def _acceleration(theta_loo: np.ndarray) -> float:
    """BCa acceleration from leave-one-out estimates (Efron & Tibshirani 1993, eq. 14.15)."""
    u = theta_loo.mean() - theta_loo
    den = np.sum(u**2) ** 1.5
    return float(np.sum(u**3) / (6.0 * den)) if den > 0 else 0.0


def _mean_acceleration(x: np.ndarray) -> float:
    """Closed-form jackknife acceleration of the mean: ``sum(d^3) / (6 sum(d^2)^1.5)``, d = x - mean."""
    return _acceleration((x.sum() - x) / (x.shape[0] - 1))


def _percentile_of_score(theta_b: np.ndarray, score: float) -> float:
    """Fraction of the bootstrap distribution below ``score`` (ties count half), as in scipy."""
    return float((np.count_nonzero(theta_b < score) + np.count_nonzero(theta_b <= score)) / (2 * theta_b.size))


def _quantiles(theta_b: np.ndarray, probs: list[float]) -> np.ndarray:
    """``np.quantile`` (linear interpolation) on the extended reals: ``theta_b`` may hold +-inf (a
    ratio whose resampled denominator is 0). Interpolating towards or between infinities gives the
    infinity (its limit), where numpy's ``a + (b - a) t`` gives NaN and warns."""
    if np.isfinite(theta_b).all():
        return np.quantile(theta_b, probs)
    x = np.sort(theta_b)
    h = (x.size - 1) * np.asarray(probs, dtype=np.float64)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, x.size - 1)
    out = []
    for a, b, t in zip(x[lo], x[hi], h - lo):
        if t == 0 or a == b or np.isinf(a):
            out.append(a)
        elif np.isinf(b):
            out.append(b)
        else:  # two finite neighbours: numpy's own arithmetic
            out.append(np.quantile(np.array([a, b]), t))
    return np.asarray(out, dtype=np.float64)


def _interval(theta_b: np.ndarray, theta_hat: float, accel: float, method: str,
              confidence_level: float) -> ConfidenceInterval:
    """Percentile or BCa interval from a bootstrap distribution ``theta_b`` of shape (B,)."""
    alpha = (1.0 - confidence_level) / 2.0
    if method == "bca":
        frac = _percentile_of_score(theta_b, theta_hat)
        # keep z0 finite when the estimate lies outside the resampled range (degenerate data)
        frac = min(max(frac, 0.5 / theta_b.size), 1.0 - 0.5 / theta_b.size)
        z0 = ndtri(frac)
        za = ndtri(alpha)
        probs = [ndtr(z0 + (z0 + z) / (1.0 - accel * (z0 + z))) for z in (za, -za)]
    else:
        probs = [alpha, 1.0 - alpha]
    low, high = _quantiles(theta_b, probs)
    return ConfidenceInterval(float(low), float(high))


def _result(theta_b: np.ndarray, theta_hat: float, accel: float, method: str,
            confidence_level: float, engine: str, what: str = "") -> IntervalResult:
    ci = _interval(theta_b, theta_hat, accel, method, confidence_level)
    label = "BCa" if method == "bca" else "percentile"
    se = float(np.std(theta_b, ddof=1)) if np.isfinite(theta_b).all() else float("inf")  # unbounded resamples
    return IntervalResult(estimate=float(theta_hat), ci=ci, standard_error=se,
                          method=f"{label} bootstrap{what}, {engine}", confidence_level=confidence_level,
                          n_resamples=int(theta_b.size))


def _bootstrap_from_indices(delta: np.ndarray, indices: np.ndarray, *, confidence_level: float = 0.95,
                            method: str = "percentile") -> IntervalResult:
    """Bootstrap interval of the mean from an explicit index matrix (B, n); for testing against scipy."""
    delta = np.asarray(delta, dtype=np.float64)
    theta_b = delta[indices].mean(axis=-1)
    return _result(theta_b, float(delta.mean()), _mean_acceleration(delta), method, confidence_level,
                   engine=f"given {indices.shape[0]} index resamples")


# ----------------------------------------------------------------------------------- public API
def paired_bootstrap(delta: object, *, n_resamples: int = 2000, confidence_level: float = 0.95,
                     method: str = "percentile", rng: np.random.Generator, batch: int | None = None,
                     resampling: str = "auto") -> IntervalResult:
    """Bootstrap confidence interval of the mean per-user delta.

    Parameters
    ----------
    delta : array, shape (n_users,)
        Per-user differences ``treatment - baseline``.
    n_resamples : number of bootstrap resamples B.
    confidence_level : two-sided coverage, e.g. 0.95.
    method : ``"percentile"`` or ``"bca"`` (bias-corrected and accelerated; closed-form jackknife).
    rng : the only source of randomness.
    batch : resamples per batch (memory cap); default keeps each batch near 32 MB.
    resampling : ``"auto"`` (multinomial when <= 1000 distinct values, else index), ``"multinomial"``
        or ``"index"``. Both engines are exact; they differ only in cost.

    Returns
    -------
    IntervalResult
        ``method`` names the interval and the engine, e.g.
        ``"percentile bootstrap, multinomial over 37 distinct values"``.
    """
    d = v.as_1d(delta, "delta", min_n=2)
    method = v.choice(method, METHODS, "method")
    resampling = v.choice(resampling, RESAMPLING, "resampling")
    n_resamples = v.positive_int(n_resamples, "n_resamples")
    cl = v.level(confidence_level)
    rng = v.generator(rng)
    if batch is not None:
        batch = v.positive_int(batch, "batch")
    theta_hat = float(d.mean())
    if np.all(d == d[0]):
        return IntervalResult(theta_hat, ConfidenceInterval(theta_hat, theta_hat), 0.0,
                              "all deltas equal: no sampling variability", cl, 0)
    means, engine = _resampled_means([d], n_resamples, rng, batch, resampling)
    accel = _mean_acceleration(d) if method == "bca" else 0.0
    return _result(means[:, 0], theta_hat, accel, method, cl, engine)


def _relative_pct(mean_base: np.ndarray, mean_treat: np.ndarray) -> np.ndarray:
    """``100 (treat - base) / base``; where ``base`` is 0: +-inf (the sign of ``treat``, the limit as
    the baseline mean falls to 0), or NaN when ``treat`` is 0 too (no relative change is defined)."""
    mb, mt = np.broadcast_arrays(np.asarray(mean_base, dtype=np.float64), np.asarray(mean_treat, dtype=np.float64))
    diff = mt - mb
    out = np.where(diff == 0, np.nan, np.copysign(np.inf, diff))
    np.divide(100.0 * diff, mb, out=out, where=mb != 0)
    return out


def relative_bootstrap(base: object, treat: object, *, n_resamples: int = 2000,
                       confidence_level: float = 0.95, rng: np.random.Generator,
                       method: str = "percentile", batch: int | None = None,
                       resampling: str = "auto") -> IntervalResult:
    """Bootstrap interval of the relative change ``100 * (mean(treat) - mean(base)) / mean(base)`` in %.

    Users are resampled as pairs (the same indices for both arms). A resample whose baseline mean is
    0 (likely in a small segment where most baseline values are 0) has an unbounded relative change:
    it counts as +inf (-inf) when its treatment mean is above (below) 0, and is dropped when both
    means are 0 (0/0: no relative change to measure); ``method`` says how many. With more than
    ``(1 - confidence_level) / 2`` of the resamples at +-inf the bound is infinite, and the standard
    error is inf whenever any is.

    Parameters
    ----------
    base, treat : arrays, shape (n_users,)
        Per-user metric of the baseline and treatment arms, same users in the same order.
    n_resamples, confidence_level, rng, method, batch, resampling : as in :func:`paired_bootstrap`;
        the multinomial engine counts distinct (base, treat) pairs.

    Returns
    -------
    IntervalResult
        In percent; all NaN (``method`` says why) when ``mean(base) == 0``.
    """
    b, t = v.paired(base, treat)
    method = v.choice(method, METHODS, "method")
    resampling = v.choice(resampling, RESAMPLING, "resampling")
    n_resamples = v.positive_int(n_resamples, "n_resamples")
    cl = v.level(confidence_level)
    rng = v.generator(rng)
    if batch is not None:
        batch = v.positive_int(batch, "batch")
    if b.mean() == 0:
        nan = float("nan")
        return IntervalResult(nan, ConfidenceInterval(nan, nan), nan,
                              "relative change undefined: mean(base) is 0 (use the absolute mean delta)", cl, 0)
    theta_hat = float(_relative_pct(b.mean(), t.mean()))
    means, engine = _resampled_means([b, t], n_resamples, rng, batch, resampling)
    theta_b = _relative_pct(means[:, 0], means[:, 1])
    defined = ~np.isnan(theta_b)
    n_zero = int(np.count_nonzero(means[:, 0] == 0))
    if n_zero:
        engine += (f"; {n_zero} of {n_resamples} resamples had mean(base) = 0 ({int((~defined).sum())} with "
                   "mean(treat) = 0 too, dropped; the rest count as +-inf)")
    if not defined.any():
        nan = float("nan")
        return IntervalResult(theta_hat, ConfidenceInterval(nan, nan), nan,
                              f"relative change undefined in every resample ({engine})", cl, 0)
    n = b.shape[0]
    accel = 0.0
    if method == "bca":
        loo = _relative_pct((b.sum() - b) / (n - 1), (t.sum() - t) / (n - 1))
        if np.isfinite(loo).all():
            accel = _acceleration(loo)
        else:
            engine += "; BCa acceleration 0 (a leave-one-out baseline mean is 0)"
    return _result(theta_b[defined], theta_hat, accel, method, cl, engine, what=" of relative change %")


def bootstrap_distribution(delta: object, *, n_resamples: int, rng: np.random.Generator,
                           resampling: str = "auto") -> np.ndarray:
    """Resampled means of ``delta`` (n_users,), shape (n_resamples,); for figures and engine checks."""
    d = v.as_1d(delta, "delta", min_n=2)
    resampling = v.choice(resampling, RESAMPLING, "resampling")
    means, _ = _resampled_means([d], v.positive_int(n_resamples, "n_resamples"), v.generator(rng), None,
                                resampling)
    return means[:, 0]
