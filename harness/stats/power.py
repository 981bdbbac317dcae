"""Power: the minimum detectable mean difference (MDE) for a paired / one-sample test."""
from __future__ import annotations

import math

from scipy import stats

from harness.errors import HarnessError
from harness.stats import _validate as v


def mde_from_se(se: float, *, alpha: float = 0.05, power: float = 0.8, two_sided: bool = True,
                df: float = math.inf) -> float:
    """Minimum detectable effect for an estimate with standard error ``se``.

    ``(q_{1 - alpha/2} + q_{power}) * se`` with normal quantiles q (t quantiles on ``df`` when
    finite, e.g. the effective df of the seed x user interval); ``alpha`` not halved if one-sided.

    Returns
    -------
    float
        The smallest true mean delta (same unit as ``se``) detected with probability ``power``.
    """
    se = float(se)
    if not math.isfinite(se) or se < 0:
        raise HarnessError(f"se must be a finite number >= 0, got {se!r}")
    a = v.level(alpha, "alpha")
    pw = v.level(power, "power")
    if not (isinstance(df, (int, float)) and df > 0):
        raise HarnessError(f"df must be a positive number (inf for a normal test), got {df!r}")
    dist = stats.norm if math.isinf(df) else stats.t(df)
    return float((dist.ppf(1 - a / 2 if two_sided else 1 - a) + dist.ppf(pw)) * se)


def mde(sd: float, n: int, *, alpha: float = 0.05, power: float = 0.8, two_sided: bool = True) -> float:
    """Minimum detectable mean difference of a paired z test: ``(z_{1-alpha/2} + z_power) sd / sqrt(n)``.

    Parameters
    ----------
    sd : standard deviation of the per-user deltas.
    n : number of users.
    alpha, power : test level and target power.
    two_sided : halve alpha when True.
    """
    sd = float(sd)
    if not math.isfinite(sd) or sd < 0:
        raise HarnessError(f"sd must be a finite number >= 0, got {sd!r}")
    n = v.positive_int(n, "n")
    return mde_from_se(sd / math.sqrt(n), alpha=alpha, power=power, two_sided=two_sided)
