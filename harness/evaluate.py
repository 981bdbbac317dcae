"""Batched evaluation: score users with one matrix product, mask seen items, top-k, metrics.

No per-user Python loop. Two paths give the same rankings, by (score desc, item index asc):

- **generic** (any scorer): each batch of users is scored at once (``scorer.score``), seen items are
  masked through the CSR index arrays, top-k is taken with ``argpartition`` and ranked by
  (score desc, item index asc); a tie at the k-th place is resolved exactly (by item index).
  Memory: at most ~``GENERIC_MAX_ELEMS`` float32 scores per batch (the batch shrinks on large
  catalogues).
- **topk** (a float32 :class:`~harness.arms.base.FactorScorer` on a catalogue of at least
  ``TOPK_MIN_ITEMS`` items): implicit's ``implicit.cpu.topk.topk`` computes the dot products and the
  top-k in one multithreaded pass over 100-user blocks, so the full score matrix is never built
  (memory: 100 x n_items float32 per thread). It takes a few extra candidates per user, drops the
  seen ones and re-ranks by (score desc, item index asc); see :func:`_fused_top`.

How implicit orders ties (``implicit/cpu/select.h``, 0.7.x): a min-heap of (score, item) pairs;
an item enters only if its score is strictly greater than the heap minimum, and the minimum
evicted is the smallest (score, item) pair, so at a tied k-th place it keeps neither the lowest nor
the highest item index consistently; the output is sorted by (score, item) descending, i.e. ties by
*higher* item index first. Filtered items get ``-finfo(float32).max``, not ``-inf``. The fast path
therefore never trusts implicit's order: it re-sorts the candidates, and a user whose k-th score
ties the smallest candidate score (the only case where implicit's set may differ from ours) is
re-ranked by the generic path. Results are identical to the generic path as long as the scores
are bitwise equal, which holds for float32 ``sgemm`` with >= 2 rows per product; single-row
products (``gemv``) round differently, so both paths never multiply a single row (they pad it).
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from harness import metrics as M
from harness.arms.base import FactorScorer, Scorer
from harness.spec import parse_metric

NEG = np.float32(-np.inf)
#: Catalogue size from which ``method="auto"`` uses implicit's fused top-k for factor models.
TOPK_MIN_ITEMS = 8192
#: Scores (float32) held at once by the generic path: 4 M x 4 B = 16 MiB, plus the argpartition copy
#: and int64 indices (~64 MiB peak). The batch is ``min(batch_size, GENERIC_MAX_ELEMS // n_items)``.
GENERIC_MAX_ELEMS = 1 << 22
#: The fast path asks implicit for ``k + (most seen items in the block) + 1`` candidates and drops
#: seen ones afterwards while that is at most this many (cheap: the heap stays small); beyond it,
#: implicit masks seen items itself (``filter_query_items``, a per-user Python loop inside implicit,
#: ~40 us per user) and ``k + 1`` candidates suffice.
POSTFILTER_MAX_K = 64
#: Rows per dot product inside ``implicit.cpu.topk`` (hard-coded there).
_IMPLICIT_BLOCK = 100


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


def _score(scorer: Scorer, b: np.ndarray) -> np.ndarray:
    """``scorer.score(b)`` as float32; a single user is scored as a pair (a one-row product uses
    ``gemv``, which rounds differently from the ``gemm`` of larger batches)."""
    if len(b) == 1:
        return np.asarray(scorer.score(np.repeat(b, 2)), dtype=np.float32)[:1]
    return np.asarray(scorer.score(b), dtype=np.float32)


def _generic_top(scorer: Scorer, b: np.ndarray, seen: sp.csr_matrix, k: int) -> tuple[np.ndarray, int]:
    """(top items (len(b), k), users with NaN scores) for one batch, by dense scoring."""
    scores = _score(scorer, b)
    n_nan = 0
    if scores.size and np.isnan(scores.min()):  # min propagates NaN; cheaper than isnan().any()
        nan = np.isnan(scores)
        n_nan = int(nan.any(axis=1).sum())
        scores = np.where(nan, NEG, scores)
    elif not scores.flags.writeable:
        scores = scores.copy()
    mask_rows(scores, seen, b)
    return top_k(scores, k), n_nan


def _generic_batch(n_items: int, batch_size: int) -> int:
    return max(2, min(int(batch_size), GENERIC_MAX_ELEMS // max(n_items, 1)))


def _fast_ok(scorer: Scorer, users: np.ndarray, kmax: int) -> bool:
    """Can the fused path reproduce the generic one? float32 factors, finite, no overflow possible."""
    if type(scorer) is not FactorScorer:
        return False
    u, v = scorer.user_vecs, scorer.item_vecs
    if not (isinstance(u, np.ndarray) and isinstance(v, np.ndarray) and u.dtype == np.float32
            and v.dtype == np.float32 and u.ndim == v.ndim == 2 and u.shape[1] == v.shape[1]):
        return False
    if kmax >= v.shape[0] or len(users) == 0:
        return False
    uu = u[users]
    if not (np.isfinite(uu).all() and np.isfinite(v).all()):
        return False
    # |u.v| and every partial sum are <= |u| |v| (Cauchy-Schwarz): no inf, hence no NaN, if small
    bound = np.sqrt(np.einsum("ij,ij->i", uu, uu, dtype=np.float64).max()) * \
        np.sqrt(np.einsum("ij,ij->i", v, v, dtype=np.float64).max())
    return bool(bound < 1e37)


def _implicit_topk(v: np.ndarray, q: np.ndarray, k: int, num_threads: int, filt=None):
    """implicit's top-k over ``q @ v.T``; pads q so no 100-row block has a single row (gemv)."""
    from implicit.cpu.topk import topk

    n = len(q)
    if n % _IMPLICIT_BLOCK == 1:
        q = np.concatenate([q, q[-1:]])
        if filt is not None:
            filt = sp.vstack([filt, filt[-1:]], format="csr")
    ids, vals = topk(v, q, k, filter_query_items=filt, num_threads=num_threads)
    return ids[:n], vals[:n]


def _fused_top(scorer: FactorScorer, b: np.ndarray, seen: sp.csr_matrix, k: int,
               num_threads: int) -> np.ndarray:
    """Top items (len(b), k) of a factor model without building the score matrix.

    implicit returns a best-``kq`` candidate set (any items scoring above its smallest candidate
    score ``s_min`` are in it); seen candidates are set to ``-inf`` and the rest re-sorted by
    (score desc, item index asc). If the k-th score is > ``s_min``, every unseen item scoring at
    least as high is a candidate, so the first k are exactly the generic path's. Otherwise (a tie
    at the boundary, or fewer than k unseen candidates) the user is re-ranked by the generic path.
    """
    v = scorer.item_vecs
    n_items = v.shape[0]
    q = scorer.user_vecs[b]
    n_seen = np.diff(seen.indptr)[b]
    kq = k + int(n_seen.max(initial=0)) + 1
    if kq <= max(POSTFILTER_MAX_K, 2 * k + 2) and kq <= n_items:
        ids, vals = _implicit_topk(v, q, kq, num_threads)
    else:
        ids, vals = _implicit_topk(v, q, k + 1, num_threads, filt=seen[b])
    ids = ids.astype(np.int64)
    s_min = vals.min(axis=1)
    neg = np.where(hit_matrix(ids, seen, b), np.inf, -vals.astype(np.float32))
    order = np.lexsort((ids, neg), axis=1)[:, :k]
    top = np.take_along_axis(ids, order, axis=1)
    s_k = -np.take_along_axis(neg, order[:, k - 1:k], axis=1)[:, 0]
    redo = np.flatnonzero(~(s_k > s_min))
    if len(redo):
        step = _generic_batch(n_items, 2048)
        for s in range(0, len(redo), step):
            r = redo[s:s + step]
            top[r] = _generic_top(scorer, b[r], seen, k)[0]
    return top


def top_items(scorer: Scorer, users: np.ndarray, seen: sp.csr_matrix, k: int, batch_size: int = 2048, *,
              num_threads: int = 1, method: str = "auto") -> np.ndarray:
    """Item indices (len(users), min(k, n_items)) recommended to ``users``, best first, seen items
    excluded (ranked last if fewer than k remain), ties by lower item index.

    ``method``, ``num_threads`` and ``batch_size`` as in :func:`evaluate`.
    """
    users = np.asarray(users, dtype=np.int64)
    out = None
    for pos, b, top, _ in _iter_top(scorer, users, seen, k, batch_size, num_threads, method):
        if out is None:
            out = np.empty((len(users), top.shape[1]), dtype=np.int64)
        out[pos] = top
    return out if out is not None else np.empty((0, min(k, seen.shape[1])), dtype=np.int64)


def _iter_top(scorer, users, seen, k, batch_size, num_threads, method):
    """Yield (positions in ``users``, user ids, top items, NaN users) batch by batch."""
    if method not in ("auto", "generic", "topk"):
        raise ValueError(f"method={method!r}: use 'auto', 'generic' or 'topk'")
    n_items = seen.shape[1]
    fast = method != "generic" and (method == "topk" or n_items >= TOPK_MIN_ITEMS) and \
        _fast_ok(scorer, users, k)
    if not fast:
        step = _generic_batch(n_items, batch_size)
        for start in range(0, len(users), step):
            pos = np.arange(start, min(start + step, len(users)))
            top, n_nan = _generic_top(scorer, users[pos], seen, k)
            yield pos, users[pos], top, n_nan
        return
    # blocks of users with similar seen counts keep the candidate lists short
    order = np.argsort(np.diff(seen.indptr)[users], kind="stable")
    step = max(2, int(batch_size))
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas") if num_threads != 1 else nullcontext():
        for start in range(0, len(users), step):
            pos = order[start:start + step]
            yield pos, users[pos], _fused_top(scorer, users[pos], seen, k, num_threads), 0


def evaluate(scorer: Scorer, users: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix,
             metric_names: tuple[str, ...], batch_size: int = 2048, *, num_threads: int = 1,
             method: str = "auto") -> PerUserScores:
    """Per-user metrics of ``scorer`` for ``users``.

    Parameters
    ----------
    scorer : fitted arm.
    users : int (n,), dense user indices to evaluate (each with >= 1 relevant item).
    seen : CSR (n_users, n_items), training interactions (masked out of rankings).
    relevant : CSR bool (n_users, n_items), relevant test items.
    metric_names : e.g. ``("ndcg@10", "recall@10")``.
    batch_size : users per block. Generic path: users scored per matrix product, capped so a block
        holds at most ``GENERIC_MAX_ELEMS`` scores (memory: batch x n_items float32). Fast path:
        users per ``implicit`` call (its memory is 100 x n_items float32 per thread).
    num_threads : threads for implicit's top-k (fast path only): 1 inside runner workers (the
        default), 0 = all cores when running standalone. With more than one, BLAS is limited to one
        thread during the call (implicit parallelises across user blocks itself).
    method : ``"auto"`` (implicit's fused top-k for a float32 ``FactorScorer`` on a catalogue of
        >= ``TOPK_MIN_ITEMS`` items, the generic path otherwise), ``"generic"`` or ``"topk"`` (fused
        whenever the scorer allows it). Both give the same rankings.
    """
    parsed = [parse_metric(m) for m in metric_names]
    kmax = max(k for _, k in parsed)
    users = np.asarray(users, dtype=np.int64)
    out = {m: np.empty(len(users)) for m in metric_names}
    n_rel_all = np.diff(relevant.indptr)[users]
    nan_users = 0
    for pos, b, top, n_nan in _iter_top(scorer, users, seen, kmax, batch_size, num_threads, method):
        nan_users += n_nan
        hits = hit_matrix(top, relevant, b)
        n_rel = n_rel_all[pos]
        for m, (name, k) in zip(metric_names, parsed):
            out[m][pos] = M.compute(name, k, hits, n_rel)
    return PerUserScores(users, out, n_rel_all, nan_users)
