"""Per-user metrics of a fitted arm: batched scoring, seen-item masking, top-k, metrics.

No per-user Python loop. Three ways to get each user's top-k, all ranking by (score desc, item
index asc) with seen items excluded: ``generic`` (any scorer; dense scores per batch,
:mod:`harness.evaluation.topk`), and for float32 factor models the fused engines ``tiled`` (the default from
``TOPK_MIN_ITEMS`` items) and ``implicit`` (:mod:`harness.evaluation.fused`).

A fourth, ``topk``, is the scorer's own: a scorer with a ``top_k(units, k, exclude) -> (items,
scores)`` method (an ANN index, :mod:`harness.evaluation.ann`, or a huge catalogue that must never be scored
densely) is asked for each unit's ``k`` best candidates with the rows of ``exclude`` left out;
``method="auto"`` prefers it. ``items`` is int (len(units), min(k, n_candidates)), best first; ``-1``
means "no item at this rank" and counts as a miss (never as an item: it is masked out of hits,
coverage and popularity metrics). Units are passed in blocks of ``TOPK_UNITS``, sorted by their number
of excluded items (so one block needs one search depth). The protocol is direction-free: for the
item -> users direction the units are items, the candidates users and ``exclude`` the transposed
seen matrix.

Reproducibility rests on what the harness controls, not on BLAS rounding:

- **A fixed partition.** Users are cut into batches (generic: ``batch_size`` capped by
  ``GENERIC_MAX_ELEMS``; tiled: blocks of ``TILE_USERS`` x item tiles of ``TILE_ITEMS``; implicit:
  its 100-row blocks) by their position in the sorted list of evaluated users and by these
  constants only. The runner always evaluates a variant's full user list in one call, and segments
  are slices of that result, so a user's batch never depends on ``n_jobs``, the backend (loky,
  Dask), the cache, the thread count or the number of users in a segment.
- **One BLAS thread.** Scoring runs with BLAS limited to one thread (threadpoolctl); parallelism
  comes from our own threads over whole batches, which does not change any product.
- **A fixed tie-break.** Equal scores are ranked by lower item index in every path.
- **The scorer's own promise** on the ``topk`` path: its result for a unit must not depend on the
  other units of the call (:class:`harness.evaluation.ann.index.AnnScorer` states and tests this).

What is promised. Same machine, same package versions: byte-identical per-user results for any
``n_jobs``, backend, thread count and from the cache. Another CPU or BLAS build: float32 scores
agree within float32 rounding (OpenBLAS picks kernels at run time, and the same product can differ
by ~1e-6 between kernels, or between a 1-row (gemv), a tiny ("small matrix" kernel) and a large
product on one kernel), so rankings may differ where two items' scores are that close, and per-user
metrics with them. Arms whose training calls BLAS (implicit's ALS) carry such differences through
their iterations, so their factors drift further (README, "Reproducibility"). Verdicts, which rest
on means over many users and several seeds, agree.
The paths also agree with each other only up to such near-ties: a fused engine's tile products may
round differently from the generic path's batch products.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import scipy.sparse as sp

from harness.evaluation import fused as F
from harness.evaluation import beyond as BY
from harness.evaluation import exposure as E
from harness.evaluation import metrics as M
from harness.arms.scorer import Scorer
from harness.errors import HarnessError
from harness.spec import parse_metric
from harness.evaluation.topk import generic_batch, generic_top, hit_matrix, mask_rows, top_k

__all__ = ["METHODS", "PerUserScores", "evaluate", "hit_matrix", "mask_rows", "top_items", "top_k"]

METHODS = ("auto", "generic", "tiled", "implicit", "topk")
#: Units per ``top_k`` call on the ``topk`` path (part of the fixed partition).
TOPK_UNITS = 256


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
    exposure : ``"gini@k"``, ``"entropy@k"``, ``"poplift@k"`` for every k of ``values``
        (:mod:`harness.evaluation.exposure`), when ``evaluate`` was asked for them; else empty.
    item_exposure : ``"exposure@k"`` -> float64 (n_items,): each item's rank-discounted exposure in the
        evaluated users' top-k (:func:`harness.evaluation.exposure.exposure` with ``discount=True``), with
        ``exposure``; the group exposure shares are formed from it after the run.
    """

    users: np.ndarray
    values: dict
    n_relevant: np.ndarray
    nan_scores: int = 0
    coverage: dict = field(default_factory=dict)
    exposure: dict = field(default_factory=dict)
    item_exposure: dict = field(default_factory=dict)


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
    if callable(getattr(scorer, "top_k", None)) and method in ("auto", "topk"):
        return "topk"
    if method == "topk":
        return "generic"
    if method == "auto" and seen.shape[1] < F.TOPK_MIN_ITEMS:
        return "generic"
    if not F.fast_ok(scorer, users, k):
        return "generic"
    return "tiled" if method == "auto" else method


def _units(users: np.ndarray, seen: sp.csr_matrix, k: int, batch_size: int, how: str) -> list[np.ndarray]:
    """Positions in ``users`` of each unit of work (one batch of users scored together).

    Fixed by the users' positions and by constants only (never by threads, workers or cache): this
    partition is what makes a user's scores reproducible (see the module docstring).
    """
    n = len(users)
    if how == "topk":  # blocks of users with similar seen counts: one search depth per block
        order = np.argsort(np.diff(seen.indptr)[users], kind="stable")
        return [order[s:s + TOPK_UNITS] for s in range(0, n, TOPK_UNITS)]
    if how == "implicit":
        # blocks of users with similar seen counts keep the candidate lists short; users with too
        # many seen items to filter afterwards form blocks of their own
        step = max(1, int(batch_size))
        n_seen = np.diff(seen.indptr)[users]
        order = np.argsort(n_seen, kind="stable")
        cut = int(np.searchsorted(n_seen[order], F.postfilter_max_k(k, seen.shape[1]) - k - 1, side="right"))
        return [order[s:min(s + step, hi)] for lo, hi in ((0, cut), (cut, n)) for s in range(lo, hi, step)]
    step = generic_batch(seen.shape[1], batch_size) if how == "generic" else F.TILE_USERS
    return [np.arange(s, min(s + step, n)) for s in range(0, n, step)]


def _top_of(how: str, scorer: Scorer, users: np.ndarray, seen: sp.csr_matrix, k: int, num_threads: int,
            pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(positions, user ids, top items, NaN users) of one unit of work."""
    b = users[pos]
    if how == "generic":
        top, n_nan = generic_top(scorer, b, seen, k)
        return pos, b, top, n_nan
    if how == "topk":
        return pos, b, _checked_top_k(scorer, b, seen, k), 0
    if how == "tiled":
        ids, vals = F.tiled_candidates(scorer, b, seen, k + 1)
    else:
        ids, vals = F.implicit_candidates(scorer, b, seen, k, num_threads)
    return pos, b, F.rank_candidates(scorer, b, seen, k, ids, vals), 0


def _checked_top_k(scorer, b: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """``scorer.top_k(b, k, seen)[0]`` after checking the protocol (shape, integer ids in range)."""
    from harness.errors import HarnessError

    top = np.asarray(scorer.top_k(b, k, seen)[0])
    want = (len(b), min(k, seen.shape[1]))
    if top.shape != want or top.dtype.kind not in "iu" or (top.size and not (-1 <= top.min() and
                                                                           top.max() < seen.shape[1])):
        raise HarnessError(f"{type(scorer).__name__}.top_k returned {top.dtype} {top.shape}; the protocol needs int "
                           f"item indices {want} in [0, {seen.shape[1]}) (-1: no item), best first")
    return top.astype(np.int64, copy=False)


def _iter_top(scorer, users, seen, k, batch_size, num_threads, method):
    """Yield (positions in ``users``, user ids, top items, NaN users) unit by unit, in order.

    BLAS is limited to one thread throughout; ``num_threads`` of our own run whole units (implicit
    uses its own threads over its 100-row blocks instead).
    """
    from threadpoolctl import threadpool_limits

    how = _choose(scorer, users, seen, k, method)
    units = _units(users, seen, k, batch_size, how)
    run = partial(_top_of, how, scorer, users, seen, k, _threads(num_threads))
    nt = 1 if how == "implicit" else min(_threads(num_threads), len(units))
    with threadpool_limits(1, user_api="blas"):
        if nt > 1:
            with ThreadPoolExecutor(nt) as pool:
                yield from pool.map(run, units)
        else:
            yield from map(run, units)


def evaluate(scorer: Scorer, users: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix,
             metric_names: tuple[str, ...], batch_size: int = 2048, *, num_threads: int = 1,
             method: str = "auto", item_content: np.ndarray | None = None, exposure: bool = False) -> PerUserScores:
    """Per-user metrics of ``scorer`` for ``users``.

    Parameters
    ----------
    scorer : fitted arm.
    users : int (n,), dense user indices to evaluate (each with >= 1 relevant item).
    seen : CSR (n_users, n_items), training interactions (masked out of rankings).
    relevant : CSR bool (n_users, n_items), relevant test items.
    metric_names : e.g. ``("ndcg@10", "recall@10")``.
    batch_size : users scored together by the generic path (one matrix product, capped so a batch
        holds at most ``GENERIC_MAX_ELEMS`` scores: memory batch x n_items float32) and by the
        implicit engine. The tiled engine works on blocks of ``TILE_USERS`` users (``TILE_USERS`` x
        ``TILE_ITEMS`` float32 per thread). Part of the fixed partition: keep the default for
        results comparable with the runner's.
    num_threads : threads over batches: 1 inside runner workers (the default), 0 = all available
        cores when running standalone. BLAS is limited to one thread throughout, whatever the
        caller configured, so results do not depend on either.
    method : ``"auto"`` (``"tiled"`` for a float32 finite ``FactorScorer`` on a catalogue of
        >= ``TOPK_MIN_ITEMS`` items, ``"generic"`` otherwise), ``"generic"``, ``"tiled"`` or
        ``"implicit"`` (fused whenever the scorer allows it, generic otherwise). The rankings agree
        up to near-ties within float32 rounding (see the module docstring). A scorer with ``top_k``
        (an ANN arm) is ranked by it under ``"auto"`` and ``"topk"``, and exactly (its ``score``) by
        ``"generic"``.
    item_content : float (n_items, d) item content (``TrainData.item_content``) or None: the vectors of
        ``ild`` (each arm's own ``item_vecs`` when None) and, when 0/1 multi-hot, the categories of
        ``calibration`` (:func:`list_context`).
    exposure : also the catalogue-level exposure metrics of the evaluated users' top-k
        (:attr:`PerUserScores.exposure`).
    """
    parsed = [parse_metric(m) for m in metric_names]
    kmax = max(k for _, k in parsed)
    users = np.asarray(users, dtype=np.int64)
    out = {m: np.empty(len(users)) for m in metric_names}
    n_rel_all = np.diff(relevant.indptr)[users]
    nan_users = 0
    n_items = seen.shape[1]
    in_top = {k: np.zeros(n_items, dtype=bool) for k in sorted({k for _, k in parsed})}
    item_users, n_train_users = None, 1
    if any(name in M.POPULARITY for name, _ in parsed):
        item_users = np.bincount(seen.indices, minlength=n_items)  # training users per item
        n_train_users = max(int((np.diff(seen.indptr) > 0).sum()), 1)
    ctx = list_context({name for name, _ in parsed}, scorer, seen, item_content)
    if exposure:
        pop_all = item_users if item_users is not None else np.bincount(seen.indices, minlength=n_items)
        counts = {k: np.zeros(n_items) for k in in_top}
        discounted = {k: np.zeros(n_items) for k in in_top}
        user_pop = {k: np.empty(len(users)) for k in in_top}
    for pos, b, top, n_nan in _iter_top(scorer, users, seen, kmax, batch_size, num_threads, method):
        nan_users += n_nan
        hits = hit_matrix(top, relevant, b)
        n_rel = n_rel_all[pos]
        padded = bool(top.size) and top.min() < 0  # a top_k scorer found no item at some ranks
        for k, mask in in_top.items():
            mask[top[:, :k][top[:, :k] >= 0] if padded else top[:, :k]] = True
            if exposure:
                counts[k] += E.exposure(top[:, :k], n_items)
                discounted[k] += E.exposure(top[:, :k], n_items, discount=True)
                user_pop[k][pos] = E.user_mean_popularity(top[:, :k], pop_all)
        for m, (name, k) in zip(metric_names, parsed):
            if name in M.POPULARITY and padded:
                out[m][pos] = _padded_popularity(name, top[:, :k], item_users, n_train_users)
            elif name == "novelty":
                out[m][pos] = M.novelty(top[:, :k], item_users, n_train_users)
            elif name == "avgpop":
                out[m][pos] = M.avg_popularity(top[:, :k], item_users)
            elif name in BY.LIST_METRICS:
                out[m][pos] = list_metric(name, top[:, :k], hits, users[pos], ctx)
            else:
                out[m][pos] = M.compute(name, k, hits, n_rel)
    cov = {f"coverage@{k}": float(mask.mean()) for k, mask in in_top.items()}
    exp: dict = {}
    if exposure:
        gap_p = E.history_gap(seen, users, pop_all)
        for k in in_top:
            exp.update(E.from_parts(counts[k], user_pop[k], gap_p, k))
    item_exp = {f"exposure@{k}": discounted[k] for k in in_top} if exposure else {}
    return PerUserScores(users, out, n_rel_all, nan_users, cov, exp, item_exp)


@dataclass(frozen=True)
class ListContext:
    """What the beyond-accuracy list metrics need besides the top-k (:mod:`harness.evaluation.beyond`)."""

    seen: sp.csr_matrix
    tail: np.ndarray | None = None
    vectors: np.ndarray | None = None
    categories: np.ndarray | None = None


def is_categories(item_content: np.ndarray | None) -> bool:
    """True when item content is 0/1 multi-hot (genres, tokens): usable as calibration's categories."""
    return item_content is not None and bool(np.isin(item_content, (0, 1)).all())


def list_context(names: set[str], scorer: Scorer, seen: sp.csr_matrix,
                 item_content: np.ndarray | None) -> ListContext:
    """Long-tail mask (``aplt``, ``serendipity``), ILD vectors (the item content when there is any, so
    every arm is compared on the same vectors; else the arm's own ``item_vecs``), calibration categories
    (0/1 multi-hot item content). A metric without what it needs is a one-line error."""
    tail = vectors = categories = None
    if names & {"aplt", "serendipity"}:
        tail = BY.long_tail(np.bincount(seen.indices, minlength=seen.shape[1]))
    if "ild" in names:
        own = getattr(getattr(scorer, "exact", scorer), "item_vecs", None)  # an ANN arm: its exact scorer's
        vectors = item_content if item_content is not None else own
        if vectors is None:
            raise HarnessError(f"metric ild: the data has no item content and this arm's scorer "
                               f"({type(scorer).__name__}) has no item factors (item_vecs); drop ild, or use data "
                               "with item content (e.g. --item-features FILE)")
    if "calibration" in names:
        if not is_categories(item_content):
            raise HarnessError("metric calibration: needs item categories (0/1 multi-hot item content such as "
                               "MovieLens genres); this data has " +
                               ("no item content" if item_content is None else "non-categorical item content"))
        categories = item_content
    return ListContext(seen, tail, vectors, categories)


def list_metric(name: str, top: np.ndarray, hits: np.ndarray, users: np.ndarray, ctx: ListContext) -> np.ndarray:
    """``ild`` / ``calibration`` / ``serendipity`` / ``aplt`` of users' top-k (``-1`` = empty position)."""
    if name == "aplt":
        return BY.aplt(top, ctx.tail)
    if name == "serendipity":
        return BY.serendipity(hits, top, ctx.tail)
    if name == "ild":
        return BY.ild(top, ctx.vectors)
    rows = ctx.seen[users]
    history = [rows.indices[rows.indptr[i]:rows.indptr[i + 1]] for i in range(len(users))]
    return BY.calibration(top, history, ctx.categories)


def _padded_popularity(name: str, top: np.ndarray, item_users: np.ndarray, n_train_users: int) -> np.ndarray:
    """novelty / avgpop over the ranks that hold an item (-1 = none); NaN for a user with none."""
    ok = top >= 0
    safe = np.where(ok, top, 0)
    one = safe.reshape(-1, 1)  # every rank as a list of one item
    per = (M.novelty(one, item_users, n_train_users) if name == "novelty" else
           M.avg_popularity(one, item_users)).reshape(top.shape)
    with np.errstate(invalid="ignore"):
        return np.where(ok, per, 0.0).sum(axis=1) / ok.sum(axis=1)
