"""Catalogue-level exposure metrics: one value per (arm, seed) over all evaluated users' top-k lists.

``topk`` is (n_users, k) item indices, best first, ``-1`` = empty position (skipped). Exposure of item
i is either the count of lists holding it (``discount=False``) or the rank-discounted sum
``sum_{u, r : L_u[r] = i} 1 / log2(r + 1)`` (rank r = 1..k; the expected-exposure browsing model of
Diaz et al. 2020, "Evaluating stochastic rankings with expected exposure", CIKM, with the DCG
discount of Järvelin & Kekäläinen 2002 as the position weight).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def exposure(topk: np.ndarray, n_items: int, *, discount: bool = False) -> np.ndarray:
    """float (n_items,): exposure of every catalogue item (zeros for items in no list)."""
    ok = topk >= 0
    w = np.broadcast_to(1.0 / np.log2(np.arange(2, topk.shape[1] + 2)) if discount else np.ones(topk.shape[1]),
                        topk.shape)
    return np.bincount(topk[ok], weights=w[ok], minlength=n_items).astype(np.float64)


def gini(x: np.ndarray) -> float:
    """Gini coefficient of exposure over ALL catalogue items, zeros included:

    ``G = sum_{i=1..n} (2 i - n - 1) x_(i) / (n sum_i x_i)`` with ``x`` sorted ascending (0 = equal
    exposure, (n - 1) / n = one item takes all). NaN when nothing is exposed.
    """
    x = np.sort(np.asarray(x, dtype=np.float64))
    n, total = x.size, x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * total))


def entropy(x: np.ndarray) -> float:
    """Shannon entropy of the exposure distribution in bits, ``-sum_i p_i log2 p_i``, ``p = x / sum x``
    (0 log 0 = 0; log2 n_items = uniform). NaN when nothing is exposed."""
    x = np.asarray(x, dtype=np.float64)
    total = x.sum()
    if total <= 0:
        return float("nan")
    p = x[x > 0] / total
    return float(-np.sum(p * np.log2(p)))


def popularity_lift(topk: np.ndarray, history: sp.csr_matrix, users: np.ndarray, item_users: np.ndarray) -> float:
    """Popularity lift ``(GAP_r - GAP_p) / GAP_p`` (Abdollahpouri et al. 2021, "User-centered evaluation of
    popularity bias in recommender systems", UMAP), over the evaluated users:

    ``GAP_r = mean_u mean_{i in L_u} pop(i)``, ``GAP_p = mean_u mean_{i in H_u} pop(i)``, pop = training
    users per item, ``H_u`` the user's training history. ``GAP_r / GAP_p = 1 + lift``; > 0 means the lists
    are more popular than what the users consumed. Users with an empty list or history are left out of
    the respective mean.
    """
    pop = np.asarray(item_users, dtype=np.float64)
    ok = topk >= 0
    n_list = ok.sum(axis=1)
    rec = np.where(ok, pop[np.where(ok, topk, 0)], 0.0).sum(axis=1)
    gap_r = float(np.mean(rec[n_list > 0] / n_list[n_list > 0]))
    h = history[np.asarray(users, dtype=np.int64)]
    n_hist = np.diff(h.indptr)
    prof = np.add.reduceat(pop[h.indices], h.indptr[:-1][n_hist > 0]) if h.nnz else np.zeros(0)
    gap_p = float(np.mean(prof / n_hist[n_hist > 0])) if prof.size else float("nan")
    return gap_r / gap_p - 1.0


def group_exposure_share(topk: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """float (n_groups,): share of rank-discounted exposure (module docstring) going to each item group;
    ``groups`` (n_items,) holds each item's group 0..n_groups-1 (sums to 1 over the groups)."""
    g = np.asarray(groups, dtype=np.int64)
    e = exposure(topk, g.size, discount=True)
    per = np.bincount(g, weights=e, minlength=n_groups)
    total = per.sum()
    return per / total if total > 0 else np.full(n_groups, np.nan)
