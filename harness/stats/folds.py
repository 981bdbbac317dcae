"""Rolling-origin folds: the interval of the mean delta over F test windows (a random effect of the window).

A hypothesis evaluated on F rolling-origin folds (test windows, e.g. weeks 22-25) gives per fold f an array
``delta_f[s, i]`` of k seeds x n_f users (users differ between folds, k is the same). The model is

    delta_f[s, i] = mu + c_f + a_{f,s} + b_{f,i} + e_{f,s,i},    c_f ~ N(0, tau^2),

the crossed seed x user model of :mod:`harness.stats.seeds` within each fold plus a fold (window) effect
``c_f``. The target is ``mu``, the mean over windows. Per fold, :func:`fold_estimates` gives the grand mean
``y_f`` and its seed x user variance-components SE ``s_f`` (``Var(y_f | c_f) = v_f``); :func:`fold_interval`
combines them by random-effects meta-analysis: a tau^2 estimate (DerSimonian-Laird or Paule-Mandel),
weights ``w_f = 1 / (v_f + tau^2)`` (by default ``v_f`` pools the seed variance component over folds), and the Hartung-Knapp(-Sidik-Jonkman) variance on F - 1 df, the
numbers of ``statsmodels.stats.meta_analysis.combine_effects(..., use_t=True)`` (``conf_int()[3]``),
re-implemented here in numpy/scipy and vectorised over leading axes for simulation. With one fold it is
exactly :func:`harness.stats.seeds.seed_user_interval`. See :func:`fold_interval` for the coverage
simulation that chose the method (``benchmarks/fold_coverage.py``).

The model takes the folds as independent. Rolling folds share two things, both handled and measured in
``benchmarks/fold_shared.py``: seeds (the runner trains seed s with its own random stream in each fold,
:func:`harness.design.split.fold_seed`; one stream per seed repeats its effect in every fold and coverage
falls to 0.77-0.90) and users (a user active in several weeks carries a persistent effect into each; with
``users=`` it is estimated and added, :func:`shared_user_variance`; plain Hartung-Knapp covers 0.81-0.92 at F >= 3
when 90 % of the user variance persists, with ``users=`` 0.936-0.962 at F >= 3).
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


def _floor_var(se: np.ndarray) -> np.ndarray:
    """Per-fold variances ``se^2`` over the last axis, floored at ``1e-12`` of the largest (a fold with zero
    variance gets a large finite weight, not an infinite one; all zero: 1, equal weights)."""
    var = se**2
    top = var.max(axis=-1, keepdims=True)
    return np.maximum(var, np.where(top > 0, top * 1e-12, 1.0))


def _cochran_q(y: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Cochran's Q over the last axis of (..., F): ``sum_f (y_f - m)^2 / var_f``, m the fixed-effect mean."""
    w = 1.0 / var
    m = (w * y).sum(axis=-1) / w.sum(axis=-1)
    return (w * (y - m[..., None]) ** 2).sum(axis=-1)


def _tau2(y: np.ndarray, var: np.ndarray, estimator: str) -> np.ndarray:
    """Between-fold variance over the last axis of (..., F): DerSimonian-Laird or Paule-Mandel, >= 0."""
    f = y.shape[-1]
    w = 1.0 / var
    sw = w.sum(axis=-1)
    q = _cochran_q(y, var)
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
    finite weight, not an infinite one; all zero: equal weights).
    """
    f = y.shape[-1]
    var = _floor_var(se)  # all zero: equal weights (HK is scale-free)
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


def shared_user_variance(folds: Sequence[np.ndarray], users: Sequence[np.ndarray]) -> tuple[float, np.ndarray]:
    """``(s2_b, M)``: the variance of a user's persistent effect and the shared-user counts between folds.

    A user evaluated in several folds carries the same taste into each (``b_i`` in ``delta_f[s, i] = mu +
    c_f + a_{f,s} + b_i + g_{f,i} + e_{f,s,i}``), so fold means that share users are correlated:
    ``Cov(y_f, y_g) = s2_b m_fg / (n_f n_g)``, ``m_fg`` users in both. ``s2_b`` is estimated by the
    covariance, over the users two folds share, of their seed-averaged deltas (window, seed and fold-specific
    parts are independent across folds, so only ``b`` covaries), pooled over fold pairs weighted by
    ``m_fg - 1`` (pairs with at least 3 shared users), truncated at 0. ``M`` is the (F, F) matrix of
    ``m_fg`` (diagonal: ``n_f``)."""
    means = [d.mean(axis=0) for d in folds]
    f = len(folds)
    m = np.zeros((f, f))
    num = den = 0.0
    for a in range(f):
        m[a, a] = len(users[a])
        for b in range(a + 1, f):
            common, ia, ib = np.intersect1d(users[a], users[b], assume_unique=True, return_indices=True)
            m[a, b] = m[b, a] = len(common)
            if len(common) >= 3:
                num += np.cov(means[a][ia], means[b][ib], ddof=1)[0, 1] * (len(common) - 1)
                den += len(common) - 1
    return (max(num / den, 0.0) if den > 0 else 0.0), m


def fold_interval(deltas: object, *, confidence_level: float = 0.95, method: str = "auto",
                  tau2_estimator: str = "dl", pool_seeds: bool = True,
                  users: Sequence[np.ndarray] | None = None) -> FoldResult:
    """Interval of the mean delta over F rolling-origin folds, counting fold-to-fold (test-window) variance.

    Parameters
    ----------
    deltas : list of F arrays; fold f has shape (k, n_f): per-seed, per-user ``treatment - baseline`` in test
        window f. The same k seeds in every fold; users may differ.
    confidence_level : two-sided coverage.
    method : ``"auto"``, ``"hartung_knapp"``, ``"modified_hartung_knapp"``, ``"wald"`` or ``"unweighted_t"``;
        see Notes. ``"auto"``: Hartung-Knapp (t on F - 1 df); with ``users``, plus the shared-user variance.
    tau2_estimator : ``"dl"`` (DerSimonian-Laird, default) or ``"pm"`` (Paule-Mandel).
    pool_seeds : True (default): the per-fold variances entering tau^2 and the weights use the seed
        variance component pooled over folds, ``v_f = mean_g s2_seed,g / k + (max(MS_user,f - MS_res,f, 0) +
        MS_res,f) / (k n_f)``; False: each fold's own ``SE_f^2`` (from k - 1 seed df only).
    users : per fold, the ids of its n_f users (the columns of ``deltas[f]``), when folds can share users
        (rolling-origin folds do: the same people are active in consecutive weeks). With ``"auto"`` their
        persistent effect is then counted (:func:`shared_user_variance`): ``V_b = s2_b sum_{f, g} w_f w_g
        m_fg / (n_f n_g)`` (normalised weights) is added to the Hartung-Knapp variance ``V_HK``, which
        cannot see it (a user shared by every fold moves every fold mean alike), on Satterthwaite df
        ``(V_HK + V_b)^2 (F - 1) / V_HK^2`` (``s2_b`` rests on hundreds of users, ``V_HK`` on F - 1 df),
        and never narrower than Hartung-Knapp alone (with F = 2 the t quantile falls so fast in the df that
        a small ``V_b`` would otherwise narrow it). None: folds are taken to have disjoint users (plain
        Hartung-Knapp).

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

    Coverage of nominal 95 % intervals of mu, by simulation (``benchmarks/fold_coverage.py --datasets
    4000``; 4,000 datasets per row, MC SE 0.0035): ``delta_f[s, i] = mu + c_f + a_{f,s} + b_{f,i} +
    e_{f,s,i}``, normal, seed sd 0.013, user and residual sd 0.1, users per fold 300, 200, 400, 250, 350,
    300 (the first F); "tau share" is ``tau^2 / (tau^2 + mean_f Var(y_f | c_f))``, the window's share of
    the variance of the combined mean. Columns: Hartung-Knapp with DL tau^2 and the seed component pooled
    over folds (``"auto"``); the same with each fold's own SE (``pool_seeds=False``), and with PM tau^2;
    modified Hartung-Knapp ``max(1, q)``; Wald (normal, DL); the unweighted mean of fold means with
    ``sd / sqrt(F)`` on F - 1 df; last, the median half-width of HK (own SEs) / modified HK.

    =======  ==========  ========  =====  =====  =======  =====  ==========  ============
    F x k    tau share   HK pool   HK     HK PM  mod. HK  Wald   unweighted  HK/mHK width
    =======  ==========  ========  =====  =====  =======  =====  ==========  ============
    2 x 5    0.0         0.951     0.949  0.949  1.000    0.951  0.952       0.70
    2 x 5    0.2         0.957     0.956  0.956  1.000    0.926  0.957       0.77
    2 x 5    0.5         0.948     0.948  0.948  1.000    0.876  0.949       0.97
    2 x 5    0.8         0.943     0.941  0.941  1.000    0.794  0.944       1.00
    3 x 5    0.0         0.945     0.940  0.940  1.000    0.945  0.946       0.83
    3 x 5    0.2         0.944     0.942  0.942  0.999    0.925  0.946       0.93
    3 x 5    0.5         0.953     0.949  0.949  0.998    0.889  0.953       0.96
    3 x 5    0.8         0.951     0.949  0.949  0.986    0.841  0.952       0.98
    4 x 5    0.0         0.952     0.945  0.945  0.998    0.951  0.952       0.91
    4 x 5    0.2         0.954     0.952  0.952  0.995    0.934  0.953       0.95
    4 x 5    0.5         0.948     0.941  0.941  0.985    0.898  0.948       0.97
    4 x 5    0.8         0.953     0.949  0.949  0.964    0.869  0.952       0.99
    6 x 5    0.0         0.948     0.936  0.936  0.989    0.943  0.949       0.94
    6 x 5    0.2         0.950     0.944  0.944  0.980    0.936  0.950       0.97
    6 x 5    0.5         0.950     0.942  0.942  0.967    0.912  0.950       0.98
    6 x 5    0.8         0.950     0.951  0.951  0.957    0.900  0.950       1.00
    2 x 3    0.0         0.956     0.951  0.951  1.000    0.935  0.956       0.69
    2 x 3    0.2         0.953     0.950  0.950  1.000    0.908  0.954       0.77
    2 x 3    0.5         0.949     0.946  0.946  1.000    0.868  0.950       0.97
    2 x 3    0.8         0.955     0.951  0.951  1.000    0.791  0.956       1.00
    3 x 3    0.0         0.942     0.935  0.935  1.000    0.930  0.942       0.88
    3 x 3    0.2         0.950     0.938  0.938  0.998    0.908  0.949       0.91
    3 x 3    0.5         0.951     0.942  0.942  0.995    0.874  0.955       0.95
    3 x 3    0.8         0.943     0.935  0.935  0.972    0.817  0.943       0.97
    4 x 3    0.0         0.944     0.931  0.931  0.992    0.924  0.948       0.91
    4 x 3    0.2         0.947     0.931  0.931  0.990    0.903  0.948       0.94
    4 x 3    0.5         0.952     0.940  0.940  0.978    0.882  0.953       0.97
    4 x 3    0.8         0.955     0.947  0.947  0.962    0.861  0.956       0.99
    6 x 3    0.0         0.948     0.926  0.926  0.977    0.923  0.950       0.94
    6 x 3    0.2         0.951     0.931  0.931  0.966    0.903  0.951       0.96
    6 x 3    0.5         0.950     0.934  0.935  0.956    0.898  0.950       0.97
    6 x 3    0.8         0.945     0.940  0.941  0.947    0.884  0.947       0.99
    =======  ==========  ========  =====  =====  =======  =====  ==========  ============

    Hartung-Knapp needs no truncation here: its scale ``q`` is estimated, so with t on F - 1 df it is
    (nearly) exact at every tau share, including tau = 0 with F = 2 (0.951/0.956; a t_1 interval with a
    KNOWN scale would over-cover, and that is what the modified ``max(1, q)`` rule does: 0.99-1.00 at
    tau share <= 0.5 and F <= 4, with half-widths up to 1.4x HK's). Wald ignores that tau^2 is estimated
    from F - 1 df and falls to 0.79-0.90 at tau share 0.8. DL and PM tau^2 agree to 3 decimals. With 3
    seeds each fold's own SE has 2 seed df, the noisy weights push HK below 0.95 as F grows (0.926 at
    6 x 3, tau share 0); pooling the seed variance component over folds (F (k - 1) df) fixes it: HK pool
    is within 0.942-0.957 in every row, so ``"auto"`` uses it. The unweighted t is as good here (folds
    have similar SEs) but with very unequal folds (users 3000, 200, 1000, 300; seed sd 0.004; 3 seeds)
    HK pool's median half-width is 0.82 of its at tau = 0 (0.99 at 0.8); it covers 0.961-0.948, HK pool 0.944,
    0.934, 0.927, 0.936 at tau shares 0, 0.2, 0.5, 0.8 (0.927: slightly below 0.93, the one row outside
    the band; HK's estimated weights with very unequal fold SEs). With 2 folds the interval is honest but
    wide (t_{0.975,1} = 12.7): the power table of the benchmark shows 2 folds x 5 seeds reject mu = 0 at
    mu = 0.02 in 19 % of datasets against 75 % for 1 fold x 10 seeds, whose interval, blind to the window,
    rejects a true mu = 0 in 22-25 % of datasets at tau share 0.5; 4 folds x 3 or 5 seeds match the
    one-fold power at tau = 0 (0.73 vs 0.78, 0.85 vs 0.85 at mu = 0.02).
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
    if method == "auto" and users is not None:
        if len(users) != nf or any(len(u) != d.shape[1] for u, d in zip(users, folds)):
            raise HarnessError("users must hold one id array per fold, as long as that fold's columns of deltas")
        s2_b, m = shared_user_variance(folds, [np.asarray(u) for u in users])
        shared = s2_b * float(w @ (m / np.outer(m.diagonal(), m.diagonal())) @ w)
        total = se**2 + shared
        df_s = total**2 * (nf - 1) / se**4 if se > 0 else float("inf")  # Satterthwaite: s2_b has many df
        half_s = float(stats.t.ppf(0.5 + cl / 2, df_s)) * float(np.sqrt(total))
        if shared > 0 and half_s > half:  # an added variance never narrows the interval (df near 1: t falls fast)
            se, half, df = float(np.sqrt(total)), half_s, float(df_s)
            quant = (f"Hartung-Knapp plus the variance of users shared between folds (s2_b {s2_b:.3g}), t on "
                     f"{df:.1f} Satterthwaite df")
    pooled = ", seed variance pooled over folds" if pool_seeds and k > 1 else ""
    text = (f"random-effects combination of {nf} folds ({tau2_estimator.upper()} tau^2, {quant}{pooled}; per fold "
            f"{k} seed{'s' if k > 1 else ''} x {'/'.join(str(d.shape[1]) for d in folds)} users)")
    agreement = float(stats.chi2.cdf(_cochran_q(means, _floor_var(used)), nf - 1)) if np.any(used > 0) else float("nan")
    return FoldResult(est, ConfidenceInterval(est - half, est + half), se, text, cl, 0, df,
                      tau=float(np.sqrt(tau2)), tau2=tau2, seed_sd=seed_sd, fold_means=tuple(means.tolist()),
                      fold_standard_errors=tuple(ses.tolist()), weights=tuple(w.tolist()), folds=per_fold, agreement_p=agreement)
