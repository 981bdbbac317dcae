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


def user_mean_popularity(topk: np.ndarray, pop: np.ndarray) -> np.ndarray:
    """float (n_users,): mean ``pop`` of each user's listed items (NaN for an empty list)."""
    ok = topk >= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, np.asarray(pop, dtype=np.float64)[np.where(ok, topk, 0)], 0.0).sum(axis=1) / ok.sum(axis=1)


def history_gap(history: sp.csr_matrix, users: np.ndarray, pop: np.ndarray) -> float:
    """``GAP_p``: mean over ``users`` with a history of the mean ``pop`` of their training items."""
    h = history[np.asarray(users, dtype=np.int64)]
    n_hist = np.diff(h.indptr)
    if not h.nnz:
        return float("nan")
    prof = np.add.reduceat(np.asarray(pop, dtype=np.float64)[h.indices], h.indptr[:-1][n_hist > 0])
    return float(np.mean(prof / n_hist[n_hist > 0]))


def catalogue(topk: np.ndarray, history: sp.csr_matrix, users: np.ndarray, item_users: np.ndarray,
              k: int) -> dict[str, float]:
    """``gini@k``, ``entropy@k`` (of list counts) and ``poplift@k`` of the evaluated users' top-k."""
    t = topk[:, :k]
    x = exposure(t, item_users.shape[0])
    return {f"gini@{k}": gini(x), f"entropy@{k}": entropy(x),
            f"poplift@{k}": popularity_lift(t, history, users, item_users)}


def from_parts(counts: np.ndarray, user_pop: np.ndarray, gap_p: float, k: int) -> dict[str, float]:
    """:func:`catalogue` from accumulated parts: item list counts, per-user mean list popularity, ``GAP_p``."""
    ok = np.isfinite(user_pop)
    gap_r = float(np.mean(user_pop[ok])) if ok.any() else float("nan")
    return {f"gini@{k}": gini(counts), f"entropy@{k}": entropy(counts), f"poplift@{k}": gap_r / gap_p - 1.0}


def popularity_lift(topk: np.ndarray, history: sp.csr_matrix, users: np.ndarray, item_users: np.ndarray) -> float:
    """Popularity lift ``(GAP_r - GAP_p) / GAP_p`` (Abdollahpouri et al. 2021, "User-centered evaluation of
    popularity bias in recommender systems", UMAP), over the evaluated users:

    ``GAP_r = mean_u mean_{i in L_u} pop(i)``, ``GAP_p = mean_u mean_{i in H_u} pop(i)``, pop = training
    users per item, ``H_u`` the user's training history. ``GAP_r / GAP_p = 1 + lift``; > 0 means the lists
    are more popular than what the users consumed. Users with an empty list or history are left out of
    the respective mean.
    """
    r = user_mean_popularity(topk, item_users)
    gap_r = float(np.mean(r[np.isfinite(r)])) if np.isfinite(r).any() else float("nan")
    return gap_r / history_gap(history, users, item_users) - 1.0


def group_exposure_share(topk: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """float (n_groups,): share of rank-discounted exposure (module docstring) going to each item group;
    ``groups`` (n_items,) holds each item's group 0..n_groups-1 (sums to 1 over the groups); the one-group-per-
    item case of :func:`group_shares`, which runs compute from each task's cached exposure vector."""
    g = np.asarray(groups, dtype=np.int64)
    w = np.zeros((g.size, n_groups))
    w[np.arange(g.size), g] = 1.0
    return group_shares(exposure(topk, g.size, discount=True), w)


#: An item metadata column with more distinct values than this is bucketed (providers such as author_id).
MAX_GROUPS = 12
N_BUCKETS = 5


def item_groups(values: np.ndarray | None, item_users: np.ndarray, *,
                categories: np.ndarray | None = None,
                category_names: tuple[str, ...] = ()) -> tuple[np.ndarray, tuple[str, ...], str]:
    """Item -> group weights for :func:`group_shares`: ``(W (n_items, G) float, group labels, description)``.

    ``categories`` (0/1 multi-hot, e.g. genres): an item in c categories gives 1/c of its exposure to each
    (an item with none goes to no group). Else ``values`` (one item metadata column): with at most
    :data:`MAX_GROUPS` distinct values each value is a group; with more (providers such as ``author_id``),
    providers are ranked by their items' training users (``item_users`` summed per provider) and cut into
    :data:`N_BUCKETS` buckets of (near) equal provider counts, ``q1`` = the most popular fifth of providers;
    an item without a value goes to the group ``"(none)"``.
    """
    if categories is not None:
        c = np.asarray(categories, dtype=np.float64)
        rows = c.sum(axis=1, keepdims=True)
        w = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
        names = tuple(category_names) if len(category_names) == c.shape[1] else \
            tuple(f"category {j}" for j in range(c.shape[1]))
        return w, names, f"item categories ({c.shape[1]}; an item in several counts equally to each)"
    import pandas as pd

    v = pd.Series(values)
    missing = v.isna().to_numpy()
    codes, uniq = pd.factorize(v, sort=True)
    n = len(uniq)
    if n <= MAX_GROUPS:
        labels = tuple(str(u) for u in uniq) + (("(none)",) if missing.any() else ())
        g = np.where(missing, n, codes)
        desc = f"{n} values"
    else:
        pop = np.bincount(codes[~missing], weights=np.asarray(item_users, dtype=np.float64)[~missing], minlength=n)
        order = np.lexsort((np.arange(n), -pop))  # most popular provider first, ties by value
        bucket = np.empty(n, dtype=np.int64)
        bucket[order] = np.arange(n) * N_BUCKETS // n
        labels = tuple(f"q{b + 1}" for b in range(N_BUCKETS)) + (("(none)",) if missing.any() else ())
        g = np.where(missing, N_BUCKETS, bucket[np.where(missing, 0, codes)])
        desc = (f"{n} providers in {N_BUCKETS} buckets of equal provider counts by training users, "
                "q1 = the most popular fifth")
    w = np.zeros((len(v), len(labels)))
    w[np.arange(len(v)), g] = 1.0
    return w, labels, desc


def group_shares(item_exposure: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """float (G,): each group's share of the total rank-discounted exposure, ``e @ W / sum(e @ W)``
    (NaN when no exposure reaches any group)."""
    per = np.asarray(item_exposure, dtype=np.float64) @ weights
    total = per.sum()
    return per / total if total > 0 else np.full(weights.shape[1], np.nan)
