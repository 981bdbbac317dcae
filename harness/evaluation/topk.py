"""Dense top-k: score a batch of users, mask their seen items, keep the k best by (score desc, item
index asc), and look up which recommended items are relevant. Array operations only.

This is the ``generic`` path of :mod:`harness.evaluation.users` (any scorer) and the exact fallback of the
fused engines in :mod:`harness.evaluation.fused`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from harness.arms.scorer import Scorer

NEG = np.float32(-np.inf)
#: Scores (float32) held at once by the generic path: 4 M x 4 B = 16 MiB, plus the argpartition
#: indices (int64, ~32 MiB). The batch is ``min(batch_size, GENERIC_MAX_ELEMS // n_items)``.
GENERIC_MAX_ELEMS = 1 << 22


def gather(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each (s, l), vectorised."""
    excl = np.cumsum(lens) - lens
    return np.repeat(starts - excl, lens) + np.arange(int(lens.sum()))


def mask_rows(scores: np.ndarray, csr: sp.csr_matrix, rows: np.ndarray, value=NEG) -> None:
    """In place: ``scores[j, c] = value`` for every stored column c of ``csr`` row ``rows[j]``."""
    starts, ends = csr.indptr[rows], csr.indptr[rows + 1]
    lens = ends - starts
    if lens.sum() == 0:
        return
    scores[np.repeat(np.arange(len(rows)), lens), csr.indices[gather(starts, lens)]] = value


def hit_matrix(top: np.ndarray, relevant: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Bool (len(rows), k): is ``top[j, i]`` a relevant item of user ``rows[j]``? Vectorised.

    ``top[j, i] = -1`` (no item at that rank, from a ``top_k`` scorer) is never a hit.
    """
    starts, ends = relevant.indptr[rows], relevant.indptr[rows + 1]
    lens = ends - starts
    n_items = np.int64(relevant.shape[1])
    keys = np.repeat(np.arange(len(rows), dtype=np.int64), lens) * n_items + \
        relevant.indices[gather(starts, lens)].astype(np.int64)
    keys.sort()
    query = np.arange(len(rows), dtype=np.int64)[:, None] * n_items + top.astype(np.int64)
    pos = np.searchsorted(keys, query)
    hit = keys[np.minimum(pos, len(keys) - 1)] == query if len(keys) else np.zeros(top.shape, dtype=bool)
    if top.size and top.min() < 0:  # -1 would alias the previous row's last item
        hit &= top >= 0
    return hit


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Item indices (n, k) of the k highest scores per row, best first; ties by lower item index.

    Exact also when several items tie at the k-th place (the lowest indices are kept). Scores must
    not be NaN (``evaluate`` maps NaN to ``-inf`` first).
    """
    n, n_items = scores.shape
    k = min(k, n_items)
    if k < n_items:
        kth = n_items - k - 1
        part = np.argpartition(scores, kth, axis=1)  # [:, kth] = the (k+1)-th best, after it a best-k set
        nxt = np.take_along_axis(scores, part[:, kth:kth + 1], axis=1)[:, 0]
        part = part[:, kth + 1:]
        vals = np.take_along_axis(scores, part, axis=1)
        tie = vals.min(axis=1) == nxt  # the k-th place ties an item left out: choose by index
        if tie.any():
            rows = scores[tie]
            part[tie] = np.argsort(-rows, axis=1, kind="stable")[:, :k]
            vals[tie] = np.take_along_axis(rows, part[tie], axis=1)
    else:
        part = np.tile(np.arange(n_items), (n, 1))
        vals = scores
    order = np.lexsort((part, -vals), axis=1)
    return np.take_along_axis(part, order, axis=1)


def generic_batch(n_items: int, batch_size: int) -> int:
    """Users per dense scoring batch: ``batch_size``, capped at ``GENERIC_MAX_ELEMS`` scores."""
    return max(1, min(int(batch_size), GENERIC_MAX_ELEMS // max(n_items, 1)))


def generic_top(scorer: Scorer, b: np.ndarray, seen: sp.csr_matrix, k: int) -> tuple[np.ndarray, int]:
    """(top items (len(b), k), users with NaN scores) for one batch of users, by dense scoring.

    NaN scores (a diverged model) are ranked last, as ``-inf``.
    """
    scores = np.asarray(scorer.score(b), dtype=np.float32)
    n_nan = 0
    if scores.size and np.isnan(scores.min()):  # min propagates NaN; cheaper than isnan().any()
        nan = np.isnan(scores)
        n_nan = int(nan.any(axis=1).sum())
        scores = np.where(nan, NEG, scores)
    elif not scores.flags.writeable:
        scores = scores.copy()
    mask_rows(scores, seen, b)
    return top_k(scores, k), n_nan
