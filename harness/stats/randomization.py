"""Paired randomization (sign-flip permutation) test of the mean delta.

Under H0 each user's delta is symmetric about 0, so flipping signs leaves the distribution
unchanged. The null distribution of ``T = sum(s_i d_i)`` is either enumerated exactly (``2**n'``
patterns over the n' nonzero deltas) or sampled. Sampling is vectorised: when the ``|d|`` take few
distinct values ``v_j`` (with counts ``c_j``), ``T = sum_j v_j (2 B_j - c_j)`` with
``B_j ~ Binomial(c_j, 1/2)`` - the same distribution as flipping every sign, at O(K) per draw;
otherwise random sign bits per batch with ``T = sum(d) - 2 bits @ d``.
Monte Carlo p-values are ``(b + 1) / (m + 1)`` (Phipson & Smyth 2010), never 0.
"""
from __future__ import annotations

import numpy as np

from harness.stats import _validate as v
from harness.stats._results import TestResult
from harness.stats.bootstrap import BATCH_ELEMENTS, MAX_DISTINCT

#: Null sums within ``_RTOL * sum(|d|)`` of the observed one count as ties (rounding of long sums).
_RTOL = 1e-10


def _exact_null(d: np.ndarray) -> np.ndarray:
    """All ``2**n`` sign-flip sums of ``d`` (n small), shape (2**n,)."""
    n = d.shape[0]
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    return (1 - 2 * bits) @ d


def _sampled_null(d: np.ndarray, m: int, rng: np.random.Generator, batch: int | None) -> tuple[np.ndarray, str]:
    """``m`` random sign-flip sums of ``d`` and a description of how they were drawn."""
    mags, counts = np.unique(np.abs(d), return_counts=True)
    out = np.empty(m)
    if len(mags) <= MAX_DISTINCT and len(mags) < d.shape[0]:
        step = batch or max(1, BATCH_ELEMENTS // len(mags))
        for start in range(0, m, step):  # memory-capped batches
            b = min(step, m - start)
            out[start:start + b] = (2 * rng.binomial(counts, 0.5, size=(b, len(counts))) - counts) @ mags
        return out, f"binomial over {len(mags)} distinct |delta| values"
    total, n = d.sum(), d.shape[0]
    step = batch or max(1, BATCH_ELEMENTS // n)
    for start in range(0, m, step):
        b = min(step, m - start)
        raw = rng.integers(0, 256, (b * n + 7) // 8, dtype=np.uint8)  # 8 fair sign bits per byte
        bits = np.unpackbits(raw, count=b * n).reshape(b, n)
        out[start:start + b] = total - 2.0 * (bits @ d)
    return out, "random sign bits"


def _count_extreme(null: np.ndarray, obs: float, alternative: str, scale: float) -> int:
    tol = _RTOL * scale
    if alternative == "greater":
        return int(np.count_nonzero(null >= obs - tol))
    if alternative == "less":
        return int(np.count_nonzero(null <= obs + tol))
    return int(np.count_nonzero(np.abs(null) >= abs(obs) - tol))


def randomization_test(delta: object, *, n_resamples: int = 10000, rng: np.random.Generator,
                       alternative: str = "two-sided", batch: int | None = None) -> TestResult:
    """Sign-flip randomization test of ``mean(delta) == 0``.

    Parameters
    ----------
    delta : array, shape (n_users,)
        Per-user differences ``treatment - baseline``.
    n_resamples : Monte Carlo sign-flip draws m; when ``2**n_nonzero <= n_resamples`` every sign
        pattern is enumerated instead (exact p-value, ``rng`` unused).
    rng : the only source of randomness.
    alternative : ``"two-sided"`` (``|T| >= |t|``), ``"less"`` or ``"greater"``.
    batch : draws per batch (memory cap).

    Returns
    -------
    TestResult
        ``statistic`` is ``mean(delta)``; ``pvalue`` is ``count / 2**n'`` (exact) or
        ``(b + 1) / (m + 1)`` (Monte Carlo); ``min_attainable_p`` is the floor of either form.
        The null is built from deltas rounded to 12 significant digits of the largest ``|delta|``
        (zeros and ties as in :func:`harness.stats.paired_tests.wilcoxon`).
    """
    d = v.as_1d(delta, "delta")
    alternative = v.choice(alternative, v.ALTERNATIVES, "alternative")
    m = v.positive_int(n_resamples, "n_resamples")
    rng = v.generator(rng)
    if batch is not None:
        batch = v.positive_int(batch, "batch")
    r = v.tie_round(d)  # float noise around 0 is a zero; tied |d| group in the binomial engine
    n, n_zero = d.shape[0], int(np.count_nonzero(r == 0))
    nz = r[r != 0]
    label = "sign-flip randomization test of the mean"
    if nz.shape[0] == 0:
        return TestResult("randomization", 0.0, float("nan"), n, f"{label}: undefined, all {n} deltas are zero",
                          float("nan"), n_zero, 1.0, defined=False)
    obs = float(nz.sum())
    exact_floor = (2.0 if alternative == "two-sided" else 1.0) * 2.0 ** -float(nz.shape[0])  # no overflow for large n
    if 2 ** nz.shape[0] <= m:
        null = _exact_null(nz)
        p = _count_extreme(null, obs, alternative, float(np.abs(nz).sum())) / null.shape[0]
        how, floor = f"exact enumeration of 2^{nz.shape[0]} sign patterns", exact_floor
    else:
        null, engine = _sampled_null(nz, m, rng, batch)
        p = (_count_extreme(null, obs, alternative, float(np.abs(nz).sum())) + 1) / (m + 1)
        how, floor = f"{m} Monte Carlo sign flips ({engine}), p=(b+1)/(m+1)", max(1.0 / (m + 1), exact_floor)
    return TestResult("randomization", float(d.mean()), float(min(p, 1.0)), n, f"{label}, {how}", float(floor),
                      n_zero, n_zero / n)
