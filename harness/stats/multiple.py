"""Multiple-comparison adjustment of a family of p-values (statsmodels ``multipletests``)."""
from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests

from harness.errors import HarnessError
from harness.stats import _validate as v

#: Accepted adjustment methods (same names as :data:`harness.spec.CORRECTIONS`).
ADJUST_METHODS = ("holm", "fdr_bh", "bonferroni", "none")


def adjust_pvalues(pvalues: object, method: str = "holm") -> np.ndarray:
    """Adjust a family of p-values for multiple comparisons.

    Parameters
    ----------
    pvalues : array, shape (m,)
        Raw p-values in [0, 1]; NaN marks an undefined test.
    method : ``"holm"`` (default; family-wise error), ``"fdr_bh"`` (Benjamini-Hochberg false
        discovery rate), ``"bonferroni"`` or ``"none"``.

    Returns
    -------
    ndarray, shape (m,)
        Adjusted p-values in the input order. NaN inputs stay NaN and are excluded from the family
        (they do not count towards m).
    """
    method = v.choice(method, ADJUST_METHODS, "method")
    p = v.pvalues(pvalues)
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise HarnessError("pvalues must lie in [0, 1] (NaN for undefined tests)")
    out = p.copy()
    if method != "none" and ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out
