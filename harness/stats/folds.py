"""Rolling-origin folds: the interval of the mean delta over F test windows (a random effect of the window).

A hypothesis evaluated on F rolling-origin folds (test windows, e.g. weeks 22-25) gives per fold f an array
``delta_f[s, i]`` of k seeds x n_f users (users differ between folds, k is the same). The model is

    delta_f[s, i] = mu + c_f + a_{f,s} + b_{f,i} + e_{f,s,i},    c_f ~ N(0, tau^2),

the crossed seed x user model of :mod:`harness.stats.seeds` within each fold plus a fold (window) effect
``c_f``. The target is ``mu``, the mean over windows. Per fold, :func:`fold_estimates` gives the grand mean
``y_f`` and its seed x user variance-components SE ``s_f`` (``Var(y_f | c_f) = v_f``); :func:`fold_interval`
combines them by random-effects meta-analysis: a tau^2 estimate (DerSimonian-Laird or Paule-Mandel),
weights ``w_f = 1 / (s_f^2 + tau^2)``, and the Hartung-Knapp(-Sidik-Jonkman) variance on F - 1 df, the
numbers of ``statsmodels.stats.meta_analysis.combine_effects(..., use_t=True)`` (``conf_int()[3]``),
re-implemented here in numpy/scipy and vectorised over leading axes for simulation. With one fold it is
exactly :func:`harness.stats.seeds.seed_user_interval`. See :func:`fold_interval` for the coverage
simulation that chose the method (``benchmarks/fold_coverage.py``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from harness.errors import HarnessError
from harness.stats import _validate as v
from harness.stats._results import ConfidenceInterval, FoldResult
from harness.stats.seeds import _mean_squares, seed_user_interval

#: ``method`` of :func:`fold_interval`: how the combined SE becomes a half-width.
FOLD_METHODS = ("auto", "hartung_knapp", "modified_hartung_knapp", "wald", "unweighted_t")
#: ``tau2_estimator`` of :func:`fold_interval`: DerSimonian-Laird (one-step moments) or Paule-Mandel.
TAU2_ESTIMATORS = ("dl", "pm")
_METHOD_TEXT = {
    "hartung_knapp": "Hartung-Knapp t",
    "modified_hartung_knapp": "modified Hartung-Knapp (scale max(1, q)) t",
    "wald": "Wald normal",
    "unweighted_t": "unweighted mean of folds, t",
}


def _validate_folds(deltas: object) -> list[np.ndarray]:
    if isinstance(deltas, np.ndarray) or not isinstance(deltas, Sequence):
        raise HarnessError("deltas must be a list of per-fold arrays, each of shape (n_seeds, n_users)")
    if len(deltas) == 0:
        raise HarnessError("deltas is empty: need at least one fold (an array of shape (n_seeds, n_users))")
    folds = [v.as_2d(d, f"deltas[{f}]") for f, d in enumerate(deltas)]
    seeds = [d.shape[0] for d in folds]
    if len(set(seeds)) > 1:
        raise HarnessError(f"every fold needs the same number of seeds, got {', '.join(map(str, seeds))} "
                           "seeds per fold; train the same seeds in every fold")
    return folds


def _fold_parts(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Over the last two axes of (..., k, n): grand mean, variance-components SE, seed variance component
    ``max((MS_seed - MS_res) / n, 0)`` and the rest of the mean's variance, ``(max(MS_user - MS_res, 0) +
    MS_res) / (k n)``. With k == 1: the user-only SE ``sd / sqrt(n)``, seed component nan, rest = SE^2."""
    if d.shape[-2] == 1:
        x = d[..., 0, :]
        se = x.std(axis=-1, ddof=1) / np.sqrt(x.shape[-1])
        return x.mean(axis=-1), se, np.full_like(se, np.nan), se**2
    k, n = d.shape[-2:]
    ms_s, ms_u, ms_r = _mean_squares(d)
    c_user = np.maximum(ms_u - ms_r, 0.0)
    se = np.sqrt((ms_s + c_user) / (k * n))
    return d.mean(axis=(-2, -1)), se, np.maximum((ms_s - ms_r) / n, 0.0), (c_user + ms_r) / (k * n)


def _fold_mean_se(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grand mean and SE over the last two axes of (..., k, n): variance components, user-only when k == 1."""
    m, se, _, _ = _fold_parts(d)
    return m, se


def _pooled_se(seed_var: np.ndarray, rest: np.ndarray, k: int) -> np.ndarray:
    """Per-fold SE with the seed component pooled over folds (last axis): ``sqrt(mean_f seed_var / k + rest_f)``."""
    if k == 1:
        return np.sqrt(rest)
    return np.sqrt(seed_var.mean(axis=-1, keepdims=True) / k + rest)


def fold_estimates(deltas: object) -> tuple[np.ndarray, np.ndarray]:
    """Per-fold grand mean and SE of the mean delta.

    Parameters
    ----------
    deltas : list of F arrays, fold f of shape (k, n_f): the same k seeds in every fold, any users.

    Returns
    -------
    (means, ses) : two float arrays of shape (F,). ``ses`` is the seed x user variance-components SE of
        :func:`harness.stats.seeds.variance_components_interval`, ``sqrt((MS_seed + max(MS_user - MS_res,
        0)) / (k n))``; with one seed the user-only ``sd / sqrt(n)`` (seed variance not estimable).
    """
    folds = _validate_folds(deltas)
    pairs = [_fold_mean_se(d) for d in folds]
    return np.array([float(m) for m, _ in pairs]), np.array([float(s) for _, s in pairs])


def _tau2(y: np.ndarray, var: np.ndarray, estimator: str) -> np.ndarray:
    """Between-fold variance over the last axis of (..., F): DerSimonian-Laird or Paule-Mandel, >= 0."""
    f = y.shape[-1]
    w = 1.0 / var
    sw = w.sum(axis=-1)
    m = (w * y).sum(axis=-1) / sw
    q = (w * (y - m[..., None]) ** 2).sum(axis=-1)
    c = sw - (w**2).sum(axis=-1) / sw
    tau2 = np.maximum((q - (f - 1)) / c, 0.0)  # DerSimonian-Laird
    if estimator == "dl":
        return tau2
    # Paule-Mandel: Q(tau2) = sum w (y - m_w)^2 = F - 1 with w = 1 / (var + tau2); Q decreases in tau2. The
    # Newton step of DerSimonian & Kacker (2007) from tau2 = 0 increases monotonically to the root.
    tau2 = np.zeros_like(q)
    for _ in range(200):
        w = 1.0 / (var + tau2[..., None])
        m = (w * y).sum(axis=-1) / w.sum(axis=-1)
        r2 = (y - m[..., None]) ** 2
        ee = (w * r2).sum(axis=-1) - (f - 1)
        step = np.where(ee > 0, ee / np.maximum((w**2 * r2).sum(axis=-1), np.finfo(float).tiny), 0.0)
        tau2 = tau2 + step
        if np.all(step <= 1e-15 * np.maximum(tau2, np.finfo(float).tiny)):
            break
    return tau2


def _combine(y: np.ndarray, se: np.ndarray, confidence_level: float = 0.95, method: str = "hartung_knapp",
             tau2_estimator: str = "dl") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random-effects combination over the last axis of (..., F >= 2); vectorised over leading axes.

    Returns ``(estimate, se, half, tau2, weights)``: the weighted mean ``sum w y / sum w`` with
    ``w = 1 / (se^2 + tau2)``; the SE and half-width of ``method``:

    * ``"hartung_knapp"``: ``SE^2 = sum w (y - m)^2 / ((F - 1) sum w)``, t on F - 1 df (HKSJ);
    * ``"modified_hartung_knapp"``: ``SE^2 = max(that, 1 / sum w)`` (Knapp & Hartung 2003), t on F - 1 df;
    * ``"wald"``: ``SE^2 = 1 / sum w``, normal quantile;
    * ``"unweighted_t"``: equal weights, ``SE = sd(y) / sqrt(F)``, t on F - 1 df (tau2 still estimated).

    Per-fold variances are floored at ``1e-12`` of the largest (a fold with zero variance gets a large
    finite weight, not an infinite one).
    """
    f = y.shape[-1]
    var = se**2
    top = var.max(axis=-1, keepdims=True)
    var = np.maximum(var, np.where(top > 0, top * 1e-12, 1e-300))
    tau2 = _tau2(y, var, tau2_estimator)
    if method == "unweighted_t":
        w = np.ones_like(var)
    else:
        w = 1.0 / (var + tau2[..., None])
    sw = w.sum(axis=-1)
    est = (w * y).sum(axis=-1) / sw
    q = 0.5 + confidence_level / 2
    if method == "wald":
        se_c = np.sqrt(1.0 / sw)
        return est, se_c, stats.norm.ppf(q) * se_c, tau2, w / sw[..., None]
    if method == "unweighted_t":
        se_c = y.std(axis=-1, ddof=1) / np.sqrt(f)
    else:
        var_hk = (w * (y - est[..., None]) ** 2).sum(axis=-1) / ((f - 1) * sw)
        se_c = np.sqrt(np.maximum(var_hk, 1.0 / sw) if method == "modified_hartung_knapp" else var_hk)
    return est, se_c, stats.t.ppf(q, f - 1) * se_c, tau2, w / sw[..., None]


def fold_interval(deltas: object, *, confidence_level: float = 0.95, method: str = "auto",
                  tau2_estimator: str = "dl", pool_seeds: bool = True) -> FoldResult:
    """Interval of the mean delta over F rolling-origin folds, counting fold-to-fold (test-window) variance.

    Parameters
    ----------
    deltas : list of F arrays; fold f has shape (k, n_f): per-seed, per-user ``treatment - baseline`` in test
        window f. The same k seeds in every fold; users may differ.
    confidence_level : two-sided coverage.
    method : ``"auto"`` (= ``"hartung_knapp"``), ``"hartung_knapp"``, ``"modified_hartung_knapp"``,
        ``"wald"`` or ``"unweighted_t"``; see Notes.
    tau2_estimator : ``"dl"`` (DerSimonian-Laird, default) or ``"pm"`` (Paule-Mandel).
    pool_seeds : True (default): the per-fold variances entering tau^2 and the weights use the seed
        variance component pooled over folds, ``v_f = mean_g s2_seed,g / k + (max(MS_user,f - MS_res,f, 0) +
        MS_res,f) / (k n_f)``; False: each fold's own ``SE_f^2`` (from k - 1 seed df only).

    Returns
    -------
    FoldResult
        An :class:`IntervalResult` of the combined mean (``df = F - 1``) plus ``tau`` (fold-to-fold SD),
        ``seed_sd``, the per-fold estimates, SEs, weights and intervals (``folds``, each fold's
        :func:`harness.stats.seeds.seed_user_interval`) and ``holds_in(predicate)``. With ONE fold the
        interval fields are exactly ``seed_user_interval(d, method="auto")``'s (tau is nan: not estimable).

    Notes
    -----
    ``seed_sd`` is ``sqrt(mean_f max((MS_seed,f - MS_res,f) / n_f, 0))``: the method-of-moments seed
    variance component of each fold (``E[MS_seed] = s2_res + n s2_seed``), truncated at 0, averaged over
    folds (nan with one seed). ``tau`` is ``sqrt(tau^2)`` of the chosen estimator.

    COVERAGE_TABLE
    """
    folds = _validate_folds(deltas)
    cl = v.level(confidence_level)
    method = v.choice(method, FOLD_METHODS, "method")
    tau2_estimator = v.choice(tau2_estimator, TAU2_ESTIMATORS, "tau2_estimator")
    per_fold = tuple(seed_user_interval(d, confidence_level=cl, rng=np.random.default_rng(0), method="auto")
                     for d in folds)
    means, ses, seed_var, rest = (np.array([float(x) for x in p]) for p in zip(*(_fold_parts(d) for d in folds)))
    k, nf = folds[0].shape[0], len(folds)
    seed_sd = float(np.sqrt(seed_var.mean())) if k > 1 else float("nan")
    if nf == 1:
        r = per_fold[0]
        return FoldResult(r.estimate, r.ci, r.standard_error, r.method, r.confidence_level, r.n_resamples, r.df,
                          tau=float("nan"), tau2=float("nan"), seed_sd=seed_sd, fold_means=tuple(means.tolist()),
                          fold_standard_errors=tuple(ses.tolist()), weights=(1.0,), folds=per_fold)
    chosen = "hartung_knapp" if method == "auto" else method
    used = _pooled_se(seed_var, rest, k) if pool_seeds else ses
    est, se, half, tau2, w = (np.asarray(x) for x in _combine(means, used, cl, chosen, tau2_estimator))
    est, se, half, tau2 = float(est), float(se), float(half), float(tau2)
    df = float("inf") if chosen == "wald" else float(nf - 1)
    quant = _METHOD_TEXT[chosen] + ("" if chosen == "wald" else f" on {nf - 1} df")
    pooled = ", seed variance pooled over folds" if pool_seeds and k > 1 else ""
    text = (f"random-effects combination of {nf} folds ({tau2_estimator.upper()} tau^2, {quant}{pooled}; per fold "
            f"{k} seed{'s' if k > 1 else ''} x {'/'.join(str(d.shape[1]) for d in folds)} users)")
    return FoldResult(est, ConfidenceInterval(est - half, est + half), se, text, cl, 0, df,
                      tau=float(np.sqrt(tau2)), tau2=tau2, seed_sd=seed_sd, fold_means=tuple(means.tolist()),
                      fold_standard_errors=tuple(ses.tolist()), weights=tuple(w.tolist()), folds=per_fold)
