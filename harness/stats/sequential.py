"""Group-sequential levels for adding seeds in rounds (repeated confidence intervals).

When seeds are added until the interval decides, looking at the data after every round and stopping
when it is decisive inflates the false-positive rate well beyond alpha ("stop when significant").
An alpha-spending design keeps it at alpha: look ``j`` (information fraction ``t_j``, the share of the
maximum number of seeds trained so far) uses a two-sided interval at a nominal level ``1 - a_j`` whose
z boundaries ``c_j`` make the probability that a zero-mean statistic crosses a boundary at any look
up to ``j`` equal to the spent ``alpha*(t_j)``. With the Lan-DeMets O'Brien-Fleming spending function
(each side spends ``2 - 2 Phi(z_{1 - alpha/4} / sqrt(t))``) the early looks demand overwhelming
evidence and the last one is close to the fixed design's level.

Because these are repeated confidence intervals (Jennison & Turnbull 2000, ch. 9), every decision made
from the interval at the look where one stops (confirm, reject, any rule and margin) is wrong with
probability at most alpha. Boundaries assume the statistic at look ``j`` is a Brownian motion at time
``t_j`` (``corr(Z_i, Z_j) = sqrt(t_i / t_j)``); the seed x user interval then applies the nominal level
with its own (t-type) quantile. ``tests/test_adaptive_seeds.py`` checks the false-positive rate by
simulation.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from harness.errors import HarnessError
from harness.stats import _validate as v


#: Grid points for the recursive integration of the continuation density (Simpson's rule).
GRID = 2001


def obrien_fleming_spending(t: object, alpha: float) -> np.ndarray:
    """Two-sided alpha spent by information fraction(s) ``t`` in (0, 1]: each side spends the
    Lan-DeMets O'Brien-Fleming function of ``alpha / 2``, ``2 - 2 Phi(z_{1 - alpha/4} / sqrt(t))``
    (the convention of R's ``ldbounds`` and ``gsDesign::sfLDOF`` for a symmetric two-sided design)."""
    a = v.level(alpha, "alpha")
    tt = np.asarray(t, dtype=np.float64)
    if np.any(tt <= 0) or np.any(tt > 1):
        raise HarnessError("information fractions must be in (0, 1]")
    return 2.0 * (2.0 - 2.0 * stats.norm.cdf(stats.norm.ppf(1 - a / 4) / np.sqrt(tt)))


def _simpson(n: int) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return w / 3.0


def _crossing(z: float, sqrt_t: float, x: np.ndarray, dens: np.ndarray, sd: float, need: float) -> float:
    """P(not crossed before, |W(t_j)| > z sqrt(t_j)) - need, from the continuation mass ``dens`` at ``x``."""
    b = z * sqrt_t
    return float(dens @ (stats.norm.sf((b - x) / sd) + stats.norm.cdf((-b - x) / sd))) - need


def boundaries(t: object, alpha: float) -> np.ndarray:
    """Two-sided z boundaries ``c_1..c_J`` of the O'Brien-Fleming spending design at fractions ``t``.

    Parameters
    ----------
    t : increasing information fractions, the last usually 1.
    alpha : overall two-sided level.

    Returns
    -------
    float64 (J,): ``P(|Z_i| > c_i for some i <= j) = alpha*(t_j)`` under the null, for every j.

    Notes
    -----
    Recursive numerical integration (Armitage, McPherson & Rowe 1969) of the Brownian motion
    ``W(t) = Z sqrt(t)``: the sub-density of ``W(t_j)`` on paths that have not crossed is carried on a
    ``GRID``-point Simpson grid over ``[-c_j sqrt(t_j), c_j sqrt(t_j)]``; each ``c_j`` solves the
    crossing probability of the next increment (``N(0, t_j - t_{j-1})``) for the alpha left to spend.
    """
    tt = np.asarray(t, dtype=np.float64)
    if tt.ndim != 1 or len(tt) == 0 or np.any(np.diff(tt) <= 0):
        raise HarnessError("information fractions must be a non-empty increasing sequence")
    spent = obrien_fleming_spending(tt, alpha)
    c = np.empty(len(tt))
    c[0] = stats.norm.isf(spent[0] / 2)
    b = c[0] * np.sqrt(tt[0])
    x = np.linspace(-b, b, GRID)
    dens = stats.norm.pdf(x, scale=np.sqrt(tt[0])) * _simpson(GRID) * (x[1] - x[0])  # weights: mass per point
    for j in range(1, len(tt)):
        sd = np.sqrt(tt[j] - tt[j - 1])
        need = spent[j] - spent[j - 1]

        c[j] = np.inf if need <= 1e-15 else optimize.brentq(_crossing, 1e-3, 40.0, xtol=1e-9,
                                                            args=(np.sqrt(tt[j]), x, dens, sd, need))
        if not np.isfinite(c[j]):
            continue
        b = c[j] * np.sqrt(tt[j])
        y = np.linspace(-b, b, GRID)
        dens = (stats.norm.pdf((y[:, None] - x[None, :]) / sd) / sd) @ dens * _simpson(GRID) * (y[1] - y[0])
        x = y
    return c


def nominal_alphas(t: object, alpha: float) -> np.ndarray:
    """Two-sided nominal level ``a_j = 2 (1 - Phi(c_j))`` of the interval at each look."""
    return 2.0 * stats.norm.sf(boundaries(t, alpha))
