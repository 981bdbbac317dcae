"""Batched evaluation: score users with one matrix product, mask seen items, top-k, metrics.

No per-user Python loop: each batch of users is scored at once, seen items are masked through the
CSR index arrays, top-k is taken with ``argpartition`` and ranked by (score desc, item index asc).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from harness import metrics as M
from harness.arms.base import Scorer
from harness.spec import parse_metric

NEG = np.float32(-np.inf)


@dataclass(frozen=True)
class PerUserScores:
    """Per-user metric values for one (variant, arm, seed).

    Attributes
    ----------
    users : int (n,), dense user indices (sorted).
    values : metric name (``"ndcg@10"``) -> float64 (n,).
    n_relevant : int (n,), relevant test items per user.
    nan_scores : number of users whose scores contained NaN (a diverged model); their NaN scores
        were ranked last.
    """

    users: np.ndarray
    values: dict
    n_relevant: np.ndarray
    nan_scores: int = 0


def mask_rows(scores: np.ndarray, csr: sp.csr_matrix, rows: np.ndarray, value=NEG) -> None:
    """In place: ``scores[j, c] = value`` for every stored column c of ``csr`` row ``rows[j]``."""
    starts, ends = csr.indptr[rows], csr.indptr[rows + 1]
    lens = ends - starts
    if lens.sum() == 0:
        return
    scores[np.repeat(np.arange(len(rows)), lens), csr.indices[_gather(starts, lens)]] = value


def _gather(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each (s, l), vectorised."""
    excl = np.cumsum(lens) - lens
    return np.repeat(starts - excl, lens) + np.arange(int(lens.sum()))


def hit_matrix(top: np.ndarray, relevant: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Bool (len(rows), k): is ``top[j, i]`` a relevant item of user ``rows[j]``? Vectorised."""
    starts, ends = relevant.indptr[rows], relevant.indptr[rows + 1]
    lens = ends - starts
    n_items = np.int64(relevant.shape[1])
    keys = np.repeat(np.arange(len(rows), dtype=np.int64), lens) * n_items + \
        relevant.indices[_gather(starts, lens)].astype(np.int64)
    keys.sort()
    query = np.arange(len(rows), dtype=np.int64)[:, None] * n_items + top.astype(np.int64)
    pos = np.searchsorted(keys, query)
    return keys[np.minimum(pos, len(keys) - 1)] == query if len(keys) else np.zeros(top.shape, dtype=bool)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Item indices (n, k) of the k highest scores per row, best first; ties by lower item index."""
    n_items = scores.shape[1]
    k = min(k, n_items)
    if k < n_items:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(n_items), (len(scores), 1))
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    return np.take_along_axis(part, order, axis=1)


def evaluate(scorer: Scorer, users: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix,
             metric_names: tuple[str, ...], batch_size: int = 2048) -> PerUserScores:
    """Per-user metrics of ``scorer`` for ``users``.

    Parameters
    ----------
    scorer : fitted arm.
    users : int (n,), dense user indices to evaluate (each with >= 1 relevant item).
    seen : CSR (n_users, n_items), training interactions (masked out of rankings).
    relevant : CSR bool (n_users, n_items), relevant test items.
    metric_names : e.g. ``("ndcg@10", "recall@10")``.
    batch_size : users scored per matrix product (memory: batch_size x n_items float32).
    """
    parsed = [parse_metric(m) for m in metric_names]
    kmax = max(k for _, k in parsed)
    users = np.asarray(users, dtype=np.int64)
    out = {m: np.empty(len(users)) for m in metric_names}
    n_rel = np.diff(relevant.indptr)[users]
    nan_users = 0
    for start in range(0, len(users), batch_size):
        b = users[start:start + batch_size]
        scores = np.asarray(scorer.score(b), dtype=np.float32)
        nan = np.isnan(scores)
        if nan.any():
            nan_users += int(nan.any(axis=1).sum())
            scores = np.where(nan, NEG, scores)
        elif not scores.flags.writeable:
            scores = scores.copy()
        mask_rows(scores, seen, b)
        top = top_k(scores, kmax)
        hits = hit_matrix(top, relevant, b)
        for m, (name, k) in zip(metric_names, parsed):
            out[m][start:start + len(b)] = M.compute(name, k, hits, n_rel[start:start + len(b)])
    return PerUserScores(users, out, n_rel, nan_users)
