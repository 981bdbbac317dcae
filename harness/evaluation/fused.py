"""Fused matmul + top-k for float32 factor models: the k best items per user without ever holding a
user's full score row, for catalogues where dense scoring is the bottleneck.

Two engines return a *candidate set* per user (every item left out scores <= the smallest candidate
score); :func:`rank_candidates` turns it into exactly the ranking the dense path
(:func:`harness.evaluation.topk.top_k`) gives for the same scores: (score desc, item index asc), seen items
excluded.

- ``tiled``: blocks of ``TILE_USERS`` users are scored against tiles of ``TILE_ITEMS`` items (a
  4 MiB score tile that stays in cache); seen items are masked inside the tile; each user keeps
  ``k + 1`` candidates and a running threshold, so a tile costs one comparison and one
  ``flatnonzero`` beyond its matmul.
- ``implicit``: ``implicit.cpu.topk.topk`` (implicit 0.7.x: per 100-user block, one numpy dot over
  all items, then a C++ heap select). ~1.3x slower than ``tiled`` on one thread here
  (benchmarks/evaluate.py) and it masks seen items with a per-user Python loop; kept for comparison.

How implicit orders ties (``implicit/cpu/select.h``): a min-heap of (score, item) pairs; an item
enters only if its score is strictly greater than the heap minimum, and the pair evicted is the
smallest (score, item), so at a tied k-th place it keeps neither the lowest nor the highest indices
consistently (scores [1, 1, 2, 1], k = 2 gives items [2, 1]); output is sorted by (score, item)
descending; filtered items score ``-finfo(float32).max``, not ``-inf``. Neither engine's order is
trusted: :func:`rank_candidates` re-sorts, and a user whose k-th score ties the smallest candidate
score (the only case where the candidate set may miss a tied item) is re-ranked densely.

Scores are float32 products whose rounding depends on the BLAS kernel and on the product's shape
(see :mod:`harness.evaluation.users`): a fused engine's scores may differ from the dense path's in the last
bits, so the two rankings agree wherever the score gap at each position exceeds float32 rounding.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from harness.arms.scorer import FactorScorer, Scorer
from harness.evaluation.topk import NEG, gather, generic_batch, generic_top, hit_matrix

#: Catalogue size from which ``method="auto"`` uses the fused ``tiled`` engine for factor models.
TOPK_MIN_ITEMS = 4096
#: ``tiled``: users per block and items per tile (a 256 x 4096 float32 tile is 4 MiB), and the
#: first, smaller tile that seeds each user's candidates (its argpartition is the costly step).
TILE_USERS = 256
TILE_ITEMS = 4096
FIRST_TILE_ITEMS = 1024
#: ``implicit``: ask for ``k + (most seen items in the block) + 1`` candidates and drop seen ones
#: afterwards while that is at most this many; beyond it, implicit masks seen items itself
#: (``filter_query_items``, a per-user Python loop inside implicit, ~40 us per user).
POSTFILTER_MAX_K = 64


def fast_ok(scorer: Scorer, users: np.ndarray, kmax: int) -> bool:
    """Can a fused engine reproduce the dense path? float32 factors, finite, no overflow possible."""
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


# ---- engine 1: tiled numpy --------------------------------------------------------------------------

def tile_edges(n: int, kq: int) -> np.ndarray:
    """Item tile boundaries: a first tile of ``FIRST_TILE_ITEMS`` (>= 2 kq) seeds the candidates,
    then ``TILE_ITEMS`` tiles; a short last tile is merged into the previous one."""
    first = min(n, max(FIRST_TILE_ITEMS, 2 * kq))
    edges = [0, first] + list(range(first + TILE_ITEMS, n, TILE_ITEMS))
    if edges[-1] != n:
        edges.append(n)
    if len(edges) > 2 and edges[-1] - edges[-2] < TILE_ITEMS // 2:
        del edges[-2]
    return np.asarray(edges)


def tiled_candidates(scorer: FactorScorer, b: np.ndarray, seen: sp.csr_matrix,
                     kq: int) -> tuple[np.ndarray, np.ndarray]:
    """For each user of ``b``: ``kq`` items (int64) and their scores (float32, seen items -inf),
    such that every item left out scores <= the smallest returned score. Never builds more than one
    (len(b) x TILE_ITEMS) score tile."""
    v = scorer.item_vecs
    n = v.shape[0]
    nr = len(b)
    edges = tile_edges(n, kq)
    widths = np.diff(edges)
    q = scorer.user_vecs[b]
    starts = seen.indptr[b]
    lens = seen.indptr[b + 1] - starts
    s_rows = np.repeat(np.arange(nr), lens)
    s_cols = seen.indices[gather(starts, lens)]
    o = np.argsort(s_cols, kind="stable")
    s_rows, s_cols = s_rows[o], s_cols[o]
    cuts = np.searchsorted(s_cols, edges)
    wmax = int(widths.max())
    s_buf = np.empty(nr * wmax, np.float32)
    m_buf = np.empty(nr * wmax, bool)
    ids = vals = thr = None
    for t, w in enumerate(widths):
        start = int(edges[t])
        s = s_buf[:nr * w].reshape(nr, w)
        np.matmul(q, v[start:start + w].T, out=s)
        lo, hi = cuts[t], cuts[t + 1]
        if hi > lo:
            s[s_rows[lo:hi], s_cols[lo:hi] - start] = NEG
        if ids is None:  # first tile: a best-kq set
            part = np.argpartition(s, w - kq, axis=1)[:, w - kq:]
            vals = np.take_along_axis(s, part, axis=1)
            ids = part + start
            thr = vals.min(axis=1)
            continue
        m = m_buf[:nr * w].reshape(nr, w)
        np.greater(s, thr[:, None], out=m)
        flat = np.flatnonzero(m)
        if len(flat) == 0:
            continue
        # merge the new candidates (flat is sorted by row) into each row's best kq
        r = flat // w
        cnt = np.bincount(r, minlength=nr)
        extra = int(cnt.max())
        slot = np.arange(len(flat)) - (np.cumsum(cnt) - cnt)[r] + kq
        all_v = np.full((nr, kq + extra), NEG, np.float32)
        all_i = np.zeros((nr, kq + extra), np.int64)
        all_v[:, :kq], all_i[:, :kq] = vals, ids
        all_v[r, slot] = s.reshape(-1)[flat]
        all_i[r, slot] = flat - r * w + start
        keep = np.argpartition(all_v, extra, axis=1)[:, extra:]
        vals = np.take_along_axis(all_v, keep, axis=1)
        ids = np.take_along_axis(all_i, keep, axis=1)
        thr = vals.min(axis=1)
    return ids, vals


# ---- engine 2: implicit's topk ----------------------------------------------------------------------

def postfilter_max_k(k: int, n_items: int) -> int:
    """Most candidates the implicit engine asks for before it lets implicit mask seen items."""
    return min(max(POSTFILTER_MAX_K, 2 * k + 2), n_items)


def implicit_candidates(scorer: FactorScorer, b: np.ndarray, seen: sp.csr_matrix, k: int,
                        num_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """``k + (most seen in the block) + 1`` candidates, or ``k + 1`` with implicit's own filter."""
    from implicit.cpu.topk import topk

    v = scorer.item_vecs
    q = scorer.user_vecs[b]
    kq = k + int(np.diff(seen.indptr)[b].max(initial=0)) + 1
    if kq <= postfilter_max_k(k, v.shape[0]):
        ids, vals = topk(v, q, kq, num_threads=num_threads)
    else:
        ids, vals = topk(v, q, k + 1, filter_query_items=seen[b], num_threads=num_threads)
    return ids.astype(np.int64), vals


# ---- shared by both engines -------------------------------------------------------------------------

def rank_candidates(scorer: FactorScorer, b: np.ndarray, seen: sp.csr_matrix, k: int,
                    ids: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Top items (len(b), k) from candidate sets in which every item left out scores <= the
    smallest candidate score ``s_min``.

    Seen candidates go to ``-inf``; the rest are sorted by (score desc, item index asc). If the
    k-th score is > ``s_min``, every unseen item scoring at least as high is a candidate, so the
    first k are exactly the ranking of these scores. Otherwise (a tie at the boundary, or fewer than
    k unseen candidates) the user is re-ranked densely; the users re-ranked and their batches are
    fixed by the data, so this too is reproducible.
    """
    s_min = vals.min(axis=1)
    neg = np.where(hit_matrix(ids, seen, b), np.inf, -vals)
    order = np.lexsort((ids, neg), axis=1)[:, :k]
    top = np.take_along_axis(ids, order, axis=1)
    s_k = -np.take_along_axis(neg, order[:, k - 1:k], axis=1)[:, 0]
    redo = np.flatnonzero(~(s_k > s_min))
    if len(redo):
        step = generic_batch(seen.shape[1], 2048)
        for s in range(0, len(redo), step):
            r = redo[s:s + step]
            top[r] = generic_top(scorer, b[r], seen, k)[0]
    return top
