"""Beyond-accuracy per-user list metrics: intra-list diversity, calibration, serendipity, long-tail share.

Every function takes ``topk`` (n_users, k) item indices, best first; ``-1`` marks an empty position
(a list shorter than k) and is skipped. Each returns one float per user (NaN where the metric is
undefined for that user, as stated per function).

Long tail (:func:`long_tail`): the short head is the top ``head_share`` (20 %) of the catalogue by
training popularity (users per item), Abdollahpouri et al. 2019 ("Managing popularity bias in
recommender systems with personalized re-ranking", FLAIRS). Ties at the cut go to the head: an item
is in the head iff its popularity is >= that of the item ranked ceil(head_share * n_items) in
descending popularity (so the head can exceed 20 % when items tie at the cut, never splitting equal
items by index). Items no training user saw are always long tail.
"""
from __future__ import annotations

import math

import numpy as np

#: Per-user metric names computed here (``name@k``).
LIST_METRICS = ("ild", "calibration", "serendipity", "aplt")
HEAD_SHARE = 0.2
CALIBRATION_ALPHA = 0.01


def long_tail(item_users: np.ndarray, head_share: float = HEAD_SHARE) -> np.ndarray:
    """bool (n_items,): True for long-tail items (see the module docstring for the cut and its ties)."""
    pop = np.asarray(item_users, dtype=np.float64)
    n_head = max(int(math.ceil(head_share * pop.size)), 1)
    cut = np.sort(pop)[::-1][n_head - 1]
    return ~((pop >= cut) & (pop > 0))


def aplt(topk: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """APLT@k: share of the listed items that are long tail, ``|{i in L_u : i in tail}| / |L_u|``.

    Abdollahpouri et al. 2019 (average percentage of long tail items). NaN for an empty list.
    """
    ok = topk >= 0
    t = tail[np.where(ok, topk, 0)] & ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return t.sum(axis=1) / ok.sum(axis=1)


def serendipity(hits: np.ndarray, topk: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """serendipity@k = ``|{i in top-k : i relevant and i unexpected}| / k``, unexpected = long tail.

    Kotkov, Wang & Veijalainen 2016 ("A survey of serendipity in recommender systems"): serendipitous =
    relevant and unexpected; here unexpected means outside the popular short head (the :func:`long_tail`
    cut, the same as APLT's), i.e. an item a popularity baseline would not recommend. The denominator is
    k (like precision), so an empty position counts as not serendipitous. RecTools' ``Serendipity``
    differs: it weights each relevant item by a graded unexpectedness from its training popularity
    instead of this binary cut, so the two are not expected to agree numerically.
    """
    k = topk.shape[1]
    ok = topk >= 0
    unexpected = tail[np.where(ok, topk, 0)] & ok
    return (np.asarray(hits[:, :k], dtype=bool) & unexpected).sum(axis=1) / float(k)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def ild(topk: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Intra-list diversity: mean pairwise cosine distance of the listed items,

    ``ILD(L) = 2 / (n (n - 1)) * sum_{i < j} (1 - cos(v_i, v_j))`` over the n listed items
    (Smyth & McClave 2001; Ziegler et al. 2005, with cosine as the similarity). ``vectors`` (n_items, d)
    are item content vectors or an arm's item factors. An all-zero vector has cosine 0 with every item
    (distance 1). NaN for a list of fewer than two items (no pair).
    """
    unit = _unit_rows(vectors)
    out = np.full(topk.shape[0], np.nan)
    for u, row in enumerate(topk):
        items = row[row >= 0]
        n = items.size
        if n < 2:
            continue
        e = unit[items]
        iu = np.triu_indices(n, 1)
        out[u] = float(np.mean(1.0 - (e @ e.T)[iu]))
    return out


def category_mix(items: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """Category distribution of a set of items: ``p(g) = mean_i p(g | i)``, with ``p(g | i)`` the item's
    row of ``categories`` normalised to sum 1 (a film in two genres counts half to each, Steck 2018).
    Items without any category are left out; a zero vector when none has one."""
    c = np.asarray(categories, dtype=np.float64)[items]
    rows = c.sum(axis=1)
    c = c[rows > 0] / rows[rows > 0, None]
    return c.mean(axis=0) if c.shape[0] else np.zeros(np.asarray(categories).shape[1])


def calibration(topk: np.ndarray, history: list[np.ndarray], categories: np.ndarray,
                alpha: float = CALIBRATION_ALPHA) -> np.ndarray:
    """Miscalibration ``C_KL(p, q) = sum_g p(g) log(p(g) / q~(g))``, ``q~ = (1 - alpha) q + alpha p``.

    Steck 2018 ("Calibrated recommendations", RecSys), alpha = 0.01: ``p`` is the category mix
    (:func:`category_mix`) of the user's training history, ``q`` that of the top-k (items weighted
    equally, not by rank). Natural log; 0 = perfectly calibrated; terms with p(g) = 0 are 0. NaN for a
    user whose history has no categorised item (p undefined).
    """
    out = np.full(topk.shape[0], np.nan)
    for u, row in enumerate(topk):
        p = category_mix(np.asarray(history[u], dtype=np.int64), categories)
        if p.sum() <= 0:
            continue
        q = category_mix(row[row >= 0], categories)
        qt = (1.0 - alpha) * q + alpha * p
        nz = p > 0
        out[u] = float(np.sum(p[nz] * np.log(p[nz] / qt[nz])))
    return out
