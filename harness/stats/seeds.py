"""Seed x user inference: seeds and users are crossed (every user is scored under every seed).

``delta[s, i]`` is user i's ``treatment - baseline`` under training seed s. Seeds are a random
sample of training runs, users a random sample of users; the target is the mean over both. Two
intervals are offered:

* :func:`hierarchical_bootstrap` - the pigeonhole bootstrap (Owen 2007): per replicate resample
  seeds and users independently; the statistic is ``w @ delta @ u / (k n)`` with multinomial
  seed weights ``w`` and user weights ``u``.
* :func:`variance_components_interval` - method of moments on the two-way crossed ANOVA
  ``delta[s, i] = mu + a_s + b_i + e_si``: ``Var(mean) = s2_seed/k + s2_user/n + s2_res/(k n)``,
  estimated by ``(MS_seed + max(MS_user - MS_res, 0)) / (k n)`` (unbiased unless truncated). The
  quantile comes from the generalized (fiducial) pivot of MS_seed on k - 1 df: exactly t_{k-1}
  when seed variance dominates, normal when user variance dominates, and in between a mixture.

:func:`seed_user_interval` is the primary interval of reports; see its docstring for the
coverage simulation that chose between them.
"""
from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import ndtr

from harness.errors import HarnessError
from harness.stats import _validate as v
from harness.stats._results import ConfidenceInterval, IntervalResult
from harness.stats.bootstrap import BATCH_ELEMENTS, MAX_DISTINCT

SEED_USER_METHODS = ("auto", "variance_components", "pigeonhole")


# ------------------------------------------------------------------------------ pigeonhole
def _pigeonhole_means(delta: np.ndarray, seed_counts: np.ndarray, user_counts: np.ndarray) -> np.ndarray:
    """Means of resampled grids, shape (B,).

    Parameters
    ----------
    delta : (k, K) - per-seed values of K users (or of K distinct user columns).
    seed_counts : (B, k) - how often each seed is drawn (rows sum to k).
    user_counts : (B, K) - how often each user (column) is drawn (rows sum to n).
    """
    k = seed_counts.sum(axis=1)
    n = user_counts.sum(axis=1)
    per_seed = np.asarray(user_counts, dtype=np.float64) @ delta.T  # (B, k): one GEMM over users
    return np.einsum("bk,bk->b", seed_counts, per_seed) / (k * n)


def hierarchical_bootstrap(delta: object, *, n_resamples: int = 2000, confidence_level: float = 0.95,
                           rng: np.random.Generator, batch: int | None = None) -> IntervalResult:
    """Pigeonhole (seed x user) percentile bootstrap of the grand mean delta.

    Parameters
    ----------
    delta : array, shape (n_seeds, n_users)
        Per-seed, per-user differences ``treatment - baseline``; seeds and users crossed.
    n_resamples : bootstrap replicates B.
    confidence_level : two-sided coverage.
    rng : the only source of randomness.
    batch : replicates per batch (memory cap).

    Notes
    -----
    Each replicate draws seed counts ``w ~ Multinomial(k, 1/k)`` and user counts
    ``u ~ Multinomial(n, 1/n)`` independently; the replicate is ``w @ delta @ u / (k n)``, the mean
    of ``delta[seeds_b][:, users_b]``. When the user columns take <= 1000 distinct values the user
    counts are drawn over distinct columns (exact, cheaper). With few seeds this interval is too
    narrow (it underestimates seed variance by (k-1)/k); see :func:`seed_user_interval`.
    """
    d = v.as_2d(delta, "delta")
    n_resamples = v.positive_int(n_resamples, "n_resamples")
    cl = v.level(confidence_level)
    rng = v.generator(rng)
    k, n = d.shape
    cols, col_counts = np.unique(d.T, axis=0, return_counts=True)
    distinct = len(col_counts) <= MAX_DISTINCT and len(col_counts) < n
    width = len(col_counts) if distinct else n
    step = batch or max(1, BATCH_ELEMENTS // width)
    theta = np.empty(n_resamples)
    seed_p = np.full(k, 1.0 / k)
    for start in range(0, n_resamples, step):  # memory-capped batches, vectorised within
        b = min(step, n_resamples - start)
        w = rng.multinomial(k, seed_p, size=b)
        if distinct:
            u = rng.multinomial(n, col_counts / n, size=b)
            theta[start:start + b] = _pigeonhole_means(cols.T, w, u)
        else:
            idx = rng.integers(0, n, (b, n)) + (np.arange(b) * n)[:, None]
            u = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n)
            theta[start:start + b] = _pigeonhole_means(d, w, u)
    alpha = (1 - cl) / 2
    low, high = np.quantile(theta, [alpha, 1 - alpha])
    engine = f"users multinomial over {len(col_counts)} distinct columns" if distinct else "users by index"
    return IntervalResult(float(d.mean()), ConfidenceInterval(float(low), float(high)), float(np.std(theta, ddof=1)),
                          f"pigeonhole seed x user percentile bootstrap ({k} seeds x {n} users; {engine})",
                          cl, n_resamples)


# ----------------------------------------------------------------------- variance components
#: How the variance-components interval turns its SE into a half-width.
VC_QUANTILES = ("fiducial", "satterthwaite", "seed_df")
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(256)
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2  # Gauss-Legendre on (0, 1)


def _mean_squares(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-way ANOVA mean squares (seed, user, residual) over the last two axes of (..., k, n)."""
    k, n = delta.shape[-2:]
    grand = delta.mean(axis=(-2, -1), keepdims=True)
    seed_means = delta.mean(axis=-1, keepdims=True)
    user_means = delta.mean(axis=-2, keepdims=True)
    ms_seed = n * np.sum((seed_means - grand) ** 2, axis=(-2, -1)) / (k - 1)
    ms_user = k * np.sum((user_means - grand) ** 2, axis=(-2, -1)) / (n - 1)
    resid = delta - seed_means - user_means + grand
    ms_res = np.sum(resid**2, axis=(-2, -1)) / ((k - 1) * (n - 1))
    return ms_seed, ms_user, ms_res


def _fiducial_halfwidth(ms_seed: np.ndarray, c_user: np.ndarray, k: int, n: int, q: float) -> np.ndarray:
    """Half-width h with ``E_W[Phi(h / s(W))] = q``, ``s(W)^2 = ((k-1) MS_seed / W + C) / (k n)``.

    ``W ~ chi2(k-1)`` is the generalized pivot of the seed mean square (Weerahandi 1993; the
    Fisher-Behrens solution): h is exactly the t_{k-1} half-width when ``C = 0`` and the normal one
    when ``MS_seed = 0``. Integrated by Gauss-Legendre over chi2 probabilities, solved by bisection;
    vectorised over datasets (leading axes of the inputs).
    """
    w = stats.chi2.ppf(_NODES, k - 1)
    s = np.sqrt(((k - 1) * ms_seed[..., None] / w + c_user[..., None]) / (k * n))
    s0 = np.sqrt((ms_seed + c_user) / (k * n))
    lo, hi = np.zeros_like(s0), 2.0 * (float(stats.t.ppf(q, k - 1)) + 1.0) * s0
    for _ in range(50):  # bisection: 50 halvings of a bracket that holds h, all datasets at once
        mid = (lo + hi) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            p = ndtr(mid[..., None] / s) @ _WEIGHTS
        below = p < q
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def _variance_components(delta: np.ndarray, confidence_level: float = 0.95,
                         quantile: str = "fiducial") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grand mean, SE, half-width and effective df over the last two axes of (..., k >= 2, n).

    ``SE^2 = (MS_seed + C) / (k n)`` with ``C = max(MS_user - MS_res, 0)`` estimating ``k s2_user``:
    the method-of-moments ``Var(mean) = s2_seed/k + s2_user/n + s2_res/(k n)``.
    """
    k, n = delta.shape[-2:]
    ms_s, ms_u, ms_r = _mean_squares(delta)
    c_user = np.maximum(ms_u - ms_r, 0.0)
    se = np.sqrt((ms_s + c_user) / (k * n))
    q = 0.5 + confidence_level / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        if quantile == "seed_df":
            df = np.full_like(se, k - 1.0)
            half = stats.t.ppf(q, df) * se
        elif quantile == "satterthwaite":
            user_terms = np.where(ms_u > ms_r, ms_u**2 / (n - 1) + ms_r**2 / ((k - 1) * (n - 1)), 0.0)
            df = (ms_s + c_user) ** 2 / (ms_s**2 / (k - 1) + user_terms)
            df = np.clip(np.nan_to_num(df, nan=np.inf), k - 1, np.inf)
            half = stats.t.ppf(q, df) * se
        else:
            half = _fiducial_halfwidth(ms_s, c_user, k, n, q)
            ratio = np.where(se > 0, half / np.where(se > 0, se, 1.0), 0.0)
            df = np.where(se > 0, _effective_df(ratio, q, k), np.inf)  # no variance: nothing estimated
    return delta.mean(axis=(-2, -1)), se, half, df


def _effective_df(ratio: np.ndarray, q: float, k: int) -> np.ndarray:
    """df such that ``t_df.ppf(q) == ratio`` (inf when ratio <= the normal quantile), for reporting."""
    ratio = np.asarray(ratio, dtype=float)
    lo, hi = np.full(ratio.shape, np.log(max(k - 1, 1) * 0.5)), np.full(ratio.shape, np.log(1e7))
    for _ in range(40):
        mid = (lo + hi) / 2
        above = stats.t.ppf(q, np.exp(mid)) > ratio
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where(ratio <= stats.norm.ppf(q) * (1 + 1e-9), np.inf, np.exp((lo + hi) / 2))


def variance_components_interval(delta: object, confidence_level: float = 0.95, *,
                                 quantile: str = "fiducial") -> IntervalResult:
    """Analytic seed x user interval of the grand mean from a crossed random-effects ANOVA.

    Parameters
    ----------
    delta : array, shape (n_seeds >= 2, n_users)
    confidence_level : two-sided coverage.
    quantile : how the half-width is formed from ``SE^2 = (MS_seed + max(MS_user - MS_res, 0)) / (k n)``:
        ``"fiducial"`` (default) mixes normals over the chi2(k-1) pivot of MS_seed, exact t_{k-1}
        when seed(+interaction) variance dominates and normal when user variance dominates;
        ``"satterthwaite"`` uses t on Satterthwaite df; ``"seed_df"`` uses t on k - 1 df.

    Returns
    -------
    IntervalResult
        ``estimate +- half``; ``df`` is the (effective) t degrees of freedom of the half-width.
    """
    d = v.as_2d(delta, "delta")
    cl = v.level(confidence_level)
    quantile = v.choice(quantile, VC_QUANTILES, "quantile")
    k, n = d.shape
    if k < 2:
        raise HarnessError(f"variance components need >= 2 seeds, got {k}; use seed_user_interval, "
                           "which falls back to a user-only interval")
    est, se, half, df = (float(x) for x in _variance_components(d, cl, quantile))
    return IntervalResult(est, ConfidenceInterval(est - half, est + half), se,
                          f"seed x user variance-components interval ({k} seeds x {n} users, {quantile} "
                          f"quantile, effective df={df:.1f})", cl, 0, df)


def user_t_interval(delta: object, confidence_level: float = 0.95) -> IntervalResult:
    """Classical t interval of the mean over users, ``mean +- t_{n-1} sd / sqrt(n)``; delta (n_users,)."""
    d = v.as_1d(delta, "delta", min_n=2)
    cl = v.level(confidence_level)
    n = d.shape[0]
    est, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + cl / 2, n - 1)) * se
    return IntervalResult(est, ConfidenceInterval(est - half, est + half), se,
                          f"user-only t interval ({n} users)", cl, 0, float(n - 1))


def seed_user_interval(delta: object, *, confidence_level: float = 0.95, n_resamples: int = 2000,
                       rng: np.random.Generator, method: str = "auto") -> IntervalResult:
    """The primary interval of the mean delta: accounts for seed AND user variance.

    Parameters
    ----------
    delta : array, shape (n_seeds, n_users)
        Per-seed, per-user differences ``treatment - baseline``.
    confidence_level : two-sided coverage.
    n_resamples, rng : used only by ``method="pigeonhole"``.
    method : ``"auto"`` (= ``"variance_components"``, fiducial quantile) or ``"pigeonhole"``.

    Returns
    -------
    IntervalResult
        With one seed, a user-only t interval whose ``method`` says seed variance is not estimable.

    Notes
    -----
    Coverage of nominal 95 % intervals for the true mean, by simulation: ``delta[s, i] = mu + a_s +
    z_i * round(b_i + e_si, 0.05)`` with ``z_i ~ Bernoulli(0.5)`` (half the users exactly 0),
    normal a, b, e; "seed share" is the seed part of Var(mean). VC columns use 4,000 datasets per
    row (first 9 rows; 2,000 in the last 2), bootstrap columns 1,000 (600), B = 1,000; MC error <= 0.01.

    =====================  ==========  ========  =============  =======  ==========  =========
    k seeds x n users      seed share  VC fid.   VC Satterth.   VC k-1   pigeonhole  user-only
    =====================  ==========  ========  =============  =======  ==========  =========
    5 x 300                0.00        0.963     0.952          0.992    0.978       0.951
    5 x 300                0.19        0.969     0.951          0.994    0.975       0.931
    5 x 300                0.53        0.963     0.947          0.983    0.972       0.838
    5 x 300                0.73        0.959     0.946          0.976    0.948       0.694
    5 x 300, no user var   0.00        0.955     0.954          0.960    0.998       0.945
    3 x 1000               0.78        0.956     0.918          0.984    0.897       0.643
    10 x 300               0.42        0.951     0.944          0.962    0.965       0.876
    2 x 300                0.63        0.963     0.884          1.000    0.914       0.773
    5 x 30                 0.52        0.959     0.953          0.976    0.955       0.778
    5 x 300                0.91        0.956     0.951          0.962    0.888       0.417
    5 x 3000               0.91        0.953     0.943          0.958    0.892       0.475
    =====================  ==========  ========  =============  =======  ==========  =========

    The pigeonhole bootstrap falls short when seed variance dominates (0.89 with 5 seeds, the
    usual case at 10^4+ users, since user variance shrinks as 1/n and seed variance does not);
    it over-covers when the user x seed interaction dominates. The user-only bootstrap collapses.
    Satterthwaite df run slightly liberal with few seeds (0.918 at k = 3, 0.884 at k = 2); t on
    k - 1 df is safe but wide. The fiducial variance-components interval never fell below 0.95
    (exact numerical coverage with known user variance: 0.950-0.964 at k = 5, 0.950-0.976 at
    k = 3), so ``"auto"`` uses it. It treats ``MS_user - MS_res`` as known (n - 1 df), which
    assumes n in the tens or more (5 x 30 above still covers 0.959).
    """
    d = v.as_2d(delta, "delta")
    method = v.choice(method, SEED_USER_METHODS, "method")
    k = d.shape[0]
    if k == 1:
        r = user_t_interval(d[0], confidence_level)
        return IntervalResult(r.estimate, r.ci, r.standard_error,
                              r.method + "; 1 seed: seed variance not estimable, interval ignores it",
                              r.confidence_level, 0, r.df)
    if method == "pigeonhole":
        return hierarchical_bootstrap(d, n_resamples=n_resamples, confidence_level=confidence_level, rng=rng)
    return variance_components_interval(d, confidence_level)


def seed_agreement(delta: object) -> tuple[int, int]:
    """Count seeds whose mean delta has the same sign as the overall mean.

    Parameters
    ----------
    delta : array, shape (n_seeds, n_users)

    Returns
    -------
    (agreeing, k) : number of seeds with ``sign(seed mean) == sign(grand mean)``, and k; means are
        rounded first (:func:`harness.stats._validate.tie_round`), so float noise around 0 has sign 0.
    """
    d = v.as_2d(delta, "delta")
    means = v.tie_round(np.append(d.mean(axis=1), d.mean()))  # float noise around 0 is 0, not a sign
    return int(np.sum(np.sign(means[:-1]) == np.sign(means[-1]))), int(d.shape[0])
