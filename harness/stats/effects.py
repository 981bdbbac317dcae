"""Paired effect sizes: mean delta, relative delta %, Cohen's d_z, matched-pairs rank-biserial."""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from harness.stats import _validate as v
from harness.stats._results import EffectSizes


def rank_biserial(delta: object) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014) of per-user deltas.

    ``(R+ - R-) / (R+ + R-)`` where R+ / R- sum the average ranks of ``|d|`` over the nonzero
    deltas that are positive / negative; in [-1, 1], ``nan`` when all deltas are zero. Deltas are
    first rounded to 12 significant digits of the largest ``|delta|`` (as in
    :func:`harness.stats.paired_tests.wilcoxon`), so float noise neither splits ties nor makes zeros.
    delta : array, shape (n_users,)
    """
    d = v.tie_round(v.as_1d(delta, "delta"))
    nz = d[d != 0]
    if nz.shape[0] == 0:
        return float("nan")
    r = rankdata(np.abs(nz))
    pos, neg = r[nz > 0].sum(), r[nz < 0].sum()
    return float((pos - neg) / (pos + neg))


def effect_sizes(base: object, treat: object) -> EffectSizes:
    """Effect sizes of ``treat`` versus ``base`` on the same users.

    Parameters
    ----------
    base, treat : arrays, shape (n_users,)
        Per-user metric of the baseline and treatment arms, same users in the same order.

    Returns
    -------
    EffectSizes
        mean delta, ``100 * mean_delta / mean(base)`` (nan if ``mean(base) == 0``), Cohen's
        ``d_z = mean(d) / sd(d, ddof=1)`` (nan if the SD is 0) and the rank-biserial correlation.
    """
    b, t = v.paired(base, treat)
    d = t - b
    mean_delta, mean_base, sd = float(d.mean()), float(b.mean()), float(d.std(ddof=1))
    return EffectSizes(mean_delta=mean_delta,
                       relative_delta_pct=100.0 * mean_delta / mean_base if mean_base != 0 else float("nan"),
                       cohens_dz=mean_delta / sd if sd > 0 else float("nan"),
                       rank_biserial=rank_biserial(d))
