"""Batched evaluation: score users with one matrix product, mask seen items, top-k, metrics.

No per-user Python loop. Three ways to get each user's top-k, all giving the same ranking by
(score desc, item index asc), seen items excluded:

- ``generic`` (any scorer): a batch of users is scored at once (``scorer.score``), seen items are
  masked through the CSR index arrays, top-k by ``argpartition``, then ranked by (score desc, item
  index asc); a tie at the k-th place is resolved exactly (lowest indices kept). Memory: at most
  ~``GENERIC_MAX_ELEMS`` float32 scores per batch (the batch shrinks on large catalogues).
- ``tiled`` (a float32 :class:`~harness.arms.base.FactorScorer`; ``auto`` picks it from
  ``TOPK_MIN_ITEMS`` items): a fused matmul + top-k in numpy. Blocks of ``TILE_USERS`` users are
  scored against tiles of ``TILE_ITEMS`` items (a 4 MiB score tile that stays in cache, never the
  full score matrix); seen items are masked inside the tile; each user keeps k + 1 candidates and
  a running threshold, and a tile only costs one comparison and one ``flatnonzero`` beyond its
  matmul. Blocks run on ``num_threads`` threads (numpy releases the GIL).
- ``implicit``: the same with ``implicit.cpu.topk.topk`` (implicit 0.7.x: per 100-user block, one
  numpy dot over all items, then a C++ heap select; multithreaded over blocks). It is ~1.3x slower
  than ``tiled`` on one thread here (benchmarks/evaluate.py) and masks seen items with a per-user
  Python loop, so it is not the default; kept for comparison.

How implicit orders ties (``implicit/cpu/select.h``): a min-heap of (score, item) pairs; an item
enters only if its score is strictly greater than the heap minimum, and the pair evicted is the
smallest (score, item), so at a tied k-th place it keeps neither the lowest nor the highest
indices consistently (scores [1, 1, 2, 1], k = 2 gives items [2, 1]); output is sorted by
(score, item) descending, i.e. ties by *higher* index first; filtered items score
``-finfo(float32).max``, not ``-inf``. Neither fused engine's order is trusted: both return a
candidate set, which :func:`_rank_candidates` re-sorts by (score desc, item index asc), and a user
whose k-th score ties the smallest candidate score (the only case where the candidate set may
miss a tied item the generic path would keep) is re-ranked by the generic path.

Bitwise-equal scores in every path: float32 products are ``sgemm`` calls, whose per-element
rounding does not depend on how rows and columns are blocked, except for two special kernels that
round differently: ``gemv`` (numpy uses it when a product has a single row or column) and
OpenBLAS' "small matrix" kernels (used up to M x N x K = 1e6 on x86-64). Every factor product here
is therefore padded (repeated rows) to at least 2 rows and more than ``2**20`` multiply-adds, so a
user's scores never depend on the batch, tile or thread count.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import scipy.sparse as sp

from harness import metrics as M
from harness.arms.base import FactorScorer, Scorer
from harness.spec import parse_metric

NEG = np.float32(-np.inf)
METHODS = ("auto", "generic", "tiled", "implicit")
#: Catalogue size from which ``method="auto"`` uses the fused ``tiled`` path for factor models.
TOPK_MIN_ITEMS = 4096
#: Scores (float32) held at once by the generic path: 4 M x 4 B = 16 MiB, plus the argpartition
#: indices (int64, ~32 MiB). The batch is ``min(batch_size, GENERIC_MAX_ELEMS // n_items)``.
GENERIC_MAX_ELEMS = 1 << 22
#: ``tiled``: users per block and items per tile (a 256 x 4096 float32 tile is 4 MiB), and the
#: first, smaller tile that seeds each user's candidates (its argpartition is the costly step).
TILE_USERS = 256
TILE_ITEMS = 4096
FIRST_TILE_ITEMS = 1024
#: ``implicit``: ask for ``k + (most seen items in the block) + 1`` candidates and drop seen ones
#: afterwards while that is at most this many; beyond it, implicit masks seen items itself
#: (``filter_query_items``, a per-user Python loop inside implicit, ~40 us per user).
POSTFILTER_MAX_K = 64
#: Rows per dot product inside ``implicit.cpu.topk`` (hard-coded there).
_IMPLICIT_BLOCK = 100
#: Products of at most this many multiply-adds are padded (OpenBLAS small-matrix kernels round
#: differently up to 1e6).
_SMALL_GEMM = 1 << 20


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
    coverage : ``"coverage@k"`` -> share of the catalogue in at least one evaluated user's top-k,
        for every k of ``values``.
    """

    users: np.ndarray
    values: dict
    n_relevant: np.ndarray
    nan_scores: int = 0
    coverage: dict = field(default_factory=dict)


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


def _min_rows(n_cols: int, d: int) -> int:
    """Rows a ``(rows, d) @ (d, n_cols)`` float32 product needs to use the plain gemm kernel."""
    return max(2, -(-(_SMALL_GEMM + 1) // max(1, n_cols * d)))


def _score(scorer: Scorer, b: np.ndarray) -> np.ndarray:
    """``scorer.score(b)`` as float32, padding small factor batches with repeated users (a single
    row uses ``gemv`` and a tiny product OpenBLAS' small-matrix kernel, which round differently
    from the ``gemm`` of larger batches)."""
    n = len(b)
    if type(scorer) is FactorScorer:
        need = _min_rows(scorer.item_vecs.shape[0], scorer.item_vecs.shape[1])
    else:
        need = 2
    if 0 < n < need:
        return np.asarray(scorer.score(np.resize(b, need)), dtype=np.float32)[:n]
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
    """Can a fused path reproduce the generic one? float32 factors, finite, no overflow possible."""
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


# ---- fused engine 1: tiled numpy ------------------------------------------------------------------

def _tile_edges(n: int, kq: int) -> np.ndarray:
    """Item tile boundaries: a first tile of ``FIRST_TILE_ITEMS`` (>= 2 kq) seeds the candidates,
    then ``TILE_ITEMS`` tiles; a short last tile is merged into the previous one."""
    first = min(n, max(FIRST_TILE_ITEMS, 2 * kq))
    edges = [0, first] + list(range(first + TILE_ITEMS, n, TILE_ITEMS))
    if edges[-1] != n:
        edges.append(n)
    if len(edges) > 2 and edges[-1] - edges[-2] < TILE_ITEMS // 2:
        del edges[-2]
    return np.asarray(edges)


def _tiled_candidates(scorer: FactorScorer, b: np.ndarray, seen: sp.csr_matrix,
                      kq: int) -> tuple[np.ndarray, np.ndarray]:
    """For each user of ``b``: ``kq`` items (int64) and their scores (float32, seen items -inf),
    such that every item left out scores <= the smallest returned score. Never builds more than one
    (users x TILE_ITEMS) score tile."""
    v = scorer.item_vecs
    n, d = v.shape
    nb = len(b)
    edges = _tile_edges(n, kq)
    widths = np.diff(edges)
    rows = np.resize(b, max(nb, _min_rows(int(widths.min()), d)))
    q = scorer.user_vecs[rows]
    nr = len(rows)
    starts = seen.indptr[rows]
    lens = seen.indptr[rows + 1] - starts
    s_rows = np.repeat(np.arange(nr), lens)
    s_cols = seen.indices[_gather(starts, lens)]
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
    return ids[:nb], vals[:nb]


# ---- fused engine 2: implicit's topk ----------------------------------------------------------------

def _implicit_topk(v: np.ndarray, q: np.ndarray, k: int, num_threads: int, filt=None):
    """implicit's top-k over ``q @ v.T``, padding q so that each of its 100-row dot products uses
    plain gemm (see the module docstring)."""
    from implicit.cpu.topk import topk

    n = len(q)
    need = _min_rows(v.shape[0], v.shape[1])
    tail = n % _IMPLICIT_BLOCK
    if 0 < tail < need:
        pad = np.resize(np.arange(n - tail, n), need - tail)
        q = np.concatenate([q, q[pad]])
        if filt is not None:
            filt = sp.vstack([filt, filt[pad]], format="csr")
    ids, vals = topk(v, q, k, filter_query_items=filt, num_threads=num_threads)
    return ids[:n], vals[:n]


def _postfilter_max_k(k: int, n_items: int) -> int:
    """Most candidates the implicit engine asks for before it lets implicit mask seen items."""
    return min(max(POSTFILTER_MAX_K, 2 * k + 2), n_items)


def _implicit_candidates(scorer: FactorScorer, b: np.ndarray, seen: sp.csr_matrix, k: int,
                         num_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """``k + (most seen in the block) + 1`` candidates, or ``k + 1`` with implicit's own filter."""
    v = scorer.item_vecs
    q = scorer.user_vecs[b]
    kq = k + int(np.diff(seen.indptr)[b].max(initial=0)) + 1
    if kq <= _postfilter_max_k(k, v.shape[0]):
        ids, vals = _implicit_topk(v, q, kq, num_threads)
    else:
        ids, vals = _implicit_topk(v, q, k + 1, num_threads, filt=seen[b])
    return ids.astype(np.int64), vals


# ---- shared by both fused engines -------------------------------------------------------------------

def _rank_candidates(scorer: FactorScorer, b: np.ndarray, seen: sp.csr_matrix, k: int,
                     ids: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Top items (len(b), k) from candidate sets in which every item left out scores <= the
    smallest candidate score ``s_min``.

    Seen candidates go to ``-inf``; the rest are sorted by (score desc, item index asc). If the
    k-th score is > ``s_min``, every unseen item scoring at least as high is a candidate, so the
    first k are exactly the generic path's. Otherwise (a tie at the boundary, or fewer than k unseen
    candidates) the user is re-ranked by the generic path.
    """
    s_min = vals.min(axis=1)
    neg = np.where(hit_matrix(ids, seen, b), np.inf, -vals)
    order = np.lexsort((ids, neg), axis=1)[:, :k]
    top = np.take_along_axis(ids, order, axis=1)
    s_k = -np.take_along_axis(neg, order[:, k - 1:k], axis=1)[:, 0]
    redo = np.flatnonzero(~(s_k > s_min))
    if len(redo):
        step = _generic_batch(seen.shape[1], 2048)
        for s in range(0, len(redo), step):
            r = redo[s:s + step]
            top[r] = _generic_top(scorer, b[r], seen, k)[0]
    return top


def _threads(num_threads: int) -> int:
    if num_threads > 0:
        return int(num_threads)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def top_items(scorer: Scorer, users: np.ndarray, seen: sp.csr_matrix, k: int, batch_size: int = 2048, *,
              num_threads: int = 1, method: str = "auto") -> np.ndarray:
    """Item indices (len(users), min(k, n_items)) recommended to ``users``, best first, seen items
    excluded (ranked last if fewer than k remain), ties by lower item index.

    ``method``, ``num_threads`` and ``batch_size`` as in :func:`evaluate`.
    """
    users = np.asarray(users, dtype=np.int64)
    out = None
    for pos, _b, top, _ in _iter_top(scorer, users, seen, k, batch_size, num_threads, method):
        if out is None:
            out = np.empty((len(users), top.shape[1]), dtype=np.int64)
        out[pos] = top
    return out if out is not None else np.empty((0, min(k, seen.shape[1])), dtype=np.int64)


def _choose(scorer, users, seen, k, method) -> str:
    if method not in METHODS:
        raise ValueError(f"method={method!r}: use one of {', '.join(METHODS)}")
    if method == "generic":
        return "generic"
    if method == "auto" and seen.shape[1] < TOPK_MIN_ITEMS:
        return "generic"
    if not _fast_ok(scorer, users, k):
        return "generic"
    return "tiled" if method == "auto" else method


def _iter_top(scorer, users, seen, k, batch_size, num_threads, method):
    """Yield (positions in ``users``, user ids, top items, NaN users) batch by batch."""
    how = _choose(scorer, users, seen, k, method)
    n_items = seen.shape[1]
    if how == "generic":
        step = _generic_batch(n_items, batch_size)
        for start in range(0, len(users), step):
            pos = np.arange(start, min(start + step, len(users)))
            top, n_nan = _generic_top(scorer, users[pos], seen, k)
            yield pos, users[pos], top, n_nan
        return
    from threadpoolctl import threadpool_limits

    step = max(2, int(batch_size))
    nt = _threads(num_threads)
    limit = threadpool_limits(1, user_api="blas")  # our threads (or implicit's) parallelise instead
    if how == "tiled":
        pool = ThreadPoolExecutor(nt) if nt > 1 else None
        try:
            with limit:
                for start in range(0, len(users), step):
                    pos = np.arange(start, min(start + step, len(users)))
                    b = users[pos]
                    blocks = [b[i:i + TILE_USERS] for i in range(0, len(b), TILE_USERS)]
                    run = partial(_tiled_candidates, scorer, seen=seen, kq=k + 1)
                    parts = list(pool.map(run, blocks)) if pool else [run(blk) for blk in blocks]
                    ids = np.concatenate([p[0] for p in parts])
                    vals = np.concatenate([p[1] for p in parts])
                    yield pos, b, _rank_candidates(scorer, b, seen, k, ids, vals), 0
        finally:
            if pool:
                pool.shutdown()
        return
    # implicit: blocks of users with similar seen counts keep the candidate lists short; users with
    # too many seen items to filter afterwards form blocks of their own
    n_seen = np.diff(seen.indptr)[users]
    order = np.argsort(n_seen, kind="stable")
    cut = int(np.searchsorted(n_seen[order], _postfilter_max_k(k, n_items) - k - 1, side="right"))
    with limit:
        for lo, hi in ((0, cut), (cut, len(users))):
            for start in range(lo, hi, step):
                pos = order[start:min(start + step, hi)]
                b = users[pos]
                ids, vals = _implicit_candidates(scorer, b, seen, k, num_threads)
                yield pos, b, _rank_candidates(scorer, b, seen, k, ids, vals), 0


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
        users ranked together (``tiled``: ``TILE_USERS`` x ``TILE_ITEMS`` float32 per thread;
        ``implicit``: 100 x n_items float32 per thread).
    num_threads : threads of the fused paths: 1 inside runner workers (the default), 0 = all
        available cores when running standalone. BLAS is limited to one thread meanwhile (the fused
        paths parallelise across user blocks themselves; small products on a busy multi-threaded
        BLAS are very slow). The generic path uses BLAS as configured by the caller.
    method : ``"auto"`` (``"tiled"`` for a float32 finite ``FactorScorer`` on a catalogue of
        >= ``TOPK_MIN_ITEMS`` items, ``"generic"`` otherwise), ``"generic"``, ``"tiled"`` or
        ``"implicit"`` (fused whenever the scorer allows it, generic otherwise). All give the same
        rankings (see the module docstring).
    """
    parsed = [parse_metric(m) for m in metric_names]
    kmax = max(k for _, k in parsed)
    users = np.asarray(users, dtype=np.int64)
    out = {m: np.empty(len(users)) for m in metric_names}
    n_rel_all = np.diff(relevant.indptr)[users]
    nan_users = 0
    n_items = seen.shape[1]
    in_top = {k: np.zeros(n_items, dtype=bool) for k in sorted({k for _, k in parsed})}
    if any(name in M.POPULARITY for name, _ in parsed):
        item_users = np.bincount(seen.indices, minlength=n_items)  # training users per item
        n_train_users = max(int((np.diff(seen.indptr) > 0).sum()), 1)
    for pos, b, top, n_nan in _iter_top(scorer, users, seen, kmax, batch_size, num_threads, method):
        nan_users += n_nan
        hits = hit_matrix(top, relevant, b)
        n_rel = n_rel_all[pos]
        for k, mask in in_top.items():
            mask[top[:, :k]] = True
        for m, (name, k) in zip(metric_names, parsed):
            if name == "novelty":
                out[m][pos] = M.novelty(top[:, :k], item_users, n_train_users)
            elif name == "avgpop":
                out[m][pos] = M.avg_popularity(top[:, :k], item_users)
            else:
                out[m][pos] = M.compute(name, k, hits, n_rel)
    cov = {f"coverage@{k}": float(mask.mean()) for k, mask in in_top.items()}
    return PerUserScores(users, out, n_rel_all, nan_users, cov)
