"""Compare rankings computed from float32 products on possibly different BLAS kernels.

Two float32 evaluations of ``u . v`` (any summation order, FMA or not) each lie within
``gamma_d * sum_i |u_i v_i|`` of the exact value (Higham, *Accuracy and Stability of Numerical
Algorithms*, eq. 3.5; ``gamma_d = d u / (1 - d u)``, ``u = 2**-24``), so they differ by at most twice
that. Two rankings of the same exact scores agree "up to near-ties" when, position by position,
they hold items of the same near-tie group: items whose exact scores are chained by gaps within that
tolerance. Where the gap at a position exceeds the tolerance, the items must be identical.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def float32_tolerance(u: np.ndarray, v: np.ndarray, users: np.ndarray) -> np.ndarray:
    """Per-user bound (float64 (n,)) on the difference of two float32 evaluations of any score."""
    d = u.shape[1]
    unit = 2.0 ** -24
    gamma = d * unit / (1 - d * unit)
    mag = np.abs(u[users].astype(np.float64)) @ np.abs(v.astype(np.float64)).T
    return 2 * gamma * mag.max(axis=1)


def exact_scores(u: np.ndarray, v: np.ndarray, users: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    """float64 scores (n, n_items) of the float32 factors, seen items -inf."""
    s = u[users].astype(np.float64) @ v.astype(np.float64).T
    for j, user in enumerate(users):
        s[j, seen[user].indices] = -np.inf
    return s


def groups(row: np.ndarray, tol: float) -> np.ndarray:
    """Near-tie group id per item (int (n_items,)): consecutive sorted scores within ``tol`` share one."""
    order = np.argsort(-row, kind="stable")
    s = row[order]
    with np.errstate(invalid="ignore"):  # -inf - -inf between seen items: one group
        gap = np.where(np.isneginf(s[1:]) & np.isneginf(s[:-1]), 0.0, s[:-1] - s[1:])
    gid = np.concatenate([[0], np.cumsum(gap > tol)])
    out = np.empty(len(row), dtype=np.int64)
    out[order] = gid
    return out


def near_tie_users(top_a: np.ndarray, top_b: np.ndarray, exact: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Assert that ``top_a`` and ``top_b`` (n, k) agree up to near-ties; return the bool mask (n,) of
    users whose top-k (and the item after it) touches a near-tie group of more than one item."""
    k = top_a.shape[1]
    touched = np.zeros(len(top_a), dtype=bool)
    for j in range(len(top_a)):
        g = groups(exact[j], tol[j])
        ga, gb = g[top_a[j]], g[top_b[j]]
        assert np.array_equal(ga, gb), f"row {j}: rankings differ beyond near-ties: {top_a[j]} vs {top_b[j]}"
        sizes = np.bincount(g)
        finite = np.isfinite(exact[j][top_a[j]])
        touched[j] = bool((sizes[ga[finite]] > 1).any()) or (k < len(g) and sizes[ga[-1]] > 1)
        if not touched[j]:
            np.testing.assert_array_equal(top_a[j][finite], top_b[j][finite])
        # seen items fill a list only when fewer than k unseen are left: by item index in every path
        np.testing.assert_array_equal(top_a[j][~finite], top_b[j][~finite])
    return touched
