"""Seed x user interval of a difference between two user groups' mean deltas (disparity).

``delta[s, i]`` is user i's ``treatment - baseline`` under seed s; users fall into group A or group B (e.g.
by gender). The quantity is ``D = mean_A(delta) - mean_B(delta)``: how much more the treatment helps group A
than group B. Per seed, ``D_s = mean_{i in A} delta[s, i] - mean_{i in B} delta[s, i]``, and
``D_hat = mean_s D_s``. Under the crossed model of :mod:`harness.stats.seeds`, fitted within each group g,
``delta[s, i] = mu_g + a_{s,g} + b_i + e_{s,i}`` (seed effects may differ between groups: a seed can favour
one group),

    Var(D_hat) = Var_s(D_s) / k  +  sum_g s2_user,g / n_g,

where ``Var_s(D_s)`` holds the seed x group effects and the residuals, and ``s2_user,g`` (users' own
effects, fixed across seeds, so invisible in ``Var_s(D_s)``) is estimated within each group as
``max(V_g - MS_res,g / k, 0)``, with ``V_g`` the variance of group g's seed-averaged deltas and ``MS_res,g``
its seed x user residual mean square: the one-group formula of
:func:`harness.stats.seeds.variance_components_interval`, applied to the contrast. The quantile is that
interval's fiducial one (``Var_s(D_s)`` is a chi2(k-1) pivot; the user part is treated as known). With one
seed: Welch's two-sample t interval on the per-user deltas, seed variance not estimated.

A/A rate (the 95 % interval excludes 0 when there is no disparity), 3,000 simulated datasets per row, 300 users
(40 % in A), delta = 0.01 + common seed effect (sd 0.03) + group-specific seed effect + user effect + residual
(sd 0.1), half the users exactly 0 (``tests/test_disparity_stats.py``, ``_simulate``):

=====  ====================  =======  ========
seeds  group-seed effect sd  user sd  A/A rate
=====  ====================  =======  ========
5      0.02                  0.05     0.045
5      0.05                  0.02     0.053
10     0.02                  0.05     0.043
3      0                     0.1      0.025
2      0.02                  0.05     0.033
=====  ====================  =======  ========

With 2-3 seeds it is conservative (the fiducial quantile is t-like on k - 1 df when the seed part weighs),
as :func:`harness.stats.seeds.seed_user_interval` is.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from harness.errors import HarnessError
from harness.stats import _validate as v
from harness.stats._results import ConfidenceInterval, IntervalResult
from harness.stats.seeds import _effective_df, _fiducial_halfwidth, _mean_squares


def group_difference_interval(delta: object, in_a: object, confidence_level: float = 0.95) -> IntervalResult:
    """Interval of ``mean_A(delta) - mean_B(delta)`` that accounts for seed and user variance.

    Parameters
    ----------
    delta : array (n_seeds, n_users), treatment - baseline per seed and user.
    in_a : bool array (n_users,), True for users of group A, False for group B; each group needs >= 2 users.
    confidence_level : two-sided coverage.
    """
    d = v.as_2d(delta, "delta")
    cl = v.level(confidence_level)
    a = np.asarray(in_a)
    if a.dtype != bool or a.shape != (d.shape[1],):
        raise HarnessError(f"in_a must be a bool array of {d.shape[1]} users (one per delta column)")
    k = d.shape[0]
    na, nb = int(a.sum()), int((~a).sum())
    if na < 2 or nb < 2:
        raise HarnessError(f"a group difference needs >= 2 users in each group, got {na} and {nb}")
    da, db = d[:, a], d[:, ~a]
    diffs = da.mean(axis=1) - db.mean(axis=1)
    est = float(diffs.mean())
    q = 0.5 + cl / 2
    if k == 1:
        t = stats.ttest_ind(da[0], db[0], equal_var=False)
        ci = t.confidence_interval(cl)
        se = float(np.sqrt(da[0].var(ddof=1) / na + db[0].var(ddof=1) / nb))
        return IntervalResult(est, ConfidenceInterval(float(ci.low), float(ci.high)), se,
                              f"Welch two-sample t interval ({na} vs {nb} users); 1 seed: seed variance not "
                              "estimable, interval ignores it", cl, 0, float(t.df))
    s2_diff = float(diffs.var(ddof=1))
    user = 0.0
    for g, n in ((da, na), (db, nb)):
        _, _, ms_res = _mean_squares(g)
        user += max(float(g.mean(axis=0).var(ddof=1)) - float(ms_res) / k, 0.0) / n
    se = float(np.sqrt(s2_diff / k + user))
    n = na + nb
    half = float(_fiducial_halfwidth(np.array(n * s2_diff), np.array(k * n * user), k, n, q))
    df = float(_effective_df(np.array(half / se if se > 0 else 0.0), q, k)) if se > 0 else float("inf")
    return IntervalResult(est, ConfidenceInterval(est - half, est + half), se,
                          f"seed x user variance-components interval of a group difference ({k} seeds x {na} vs "
                          f"{nb} users, fiducial quantile, effective df={df:.1f})", cl, 0, df)
