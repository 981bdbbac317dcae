"""Item -> users evaluation (``direction="item_to_users"``): each evaluated item ranks users.

The units of analysis are items: for item ``i`` the candidates are the users with at least one
training interaction, users seen with ``i`` in training are masked, and a user is relevant when
their test rows with ``i`` are positives (e.g. any engagement). Per-item metrics use the same
definitions as per-user ones (:mod:`harness.evaluation.metrics`), so ``ndcg@100`` of an item is
DCG / IDCG over its top-100 users, the ideal capped by the item's number of relevant users.

Three paths, all ranking by (score desc, user position asc):

- **factor** (a :class:`~harness.arms.scorer.FactorScorer`): the transpose is a factor model too
  (``item_vecs @ user_vecs.T``), so the item direction *is* the user direction on the transposed
  matrices and runs through :func:`harness.evaluation.users.evaluate` unchanged: same fixed partition, same
  engines, same reproducibility.
- **top-k** (a scorer with ``unit == "items"`` and ``top_k``: an ANN index over the candidate users,
  :func:`harness.evaluation.ann.index.build` with ``item_to_users=True, candidates=...``): the evaluator's
  ``top_k`` path with units = items, candidates = positions in ``candidates`` and ``exclude`` = the
  candidate users seen with each item; ``-1`` (no user at a rank) counts as a miss.
- **generic** (any scorer): candidate users are scored in fixed batches (by position, as
  :func:`harness.evaluation.topk.generic_batch`), and each item's running top-k is merged with the batch's
  column. Ties keep the lower position because earlier batches hold lower positions. Memory: one
  batch of scores plus (items x k) running candidates.

The statistics never know the direction: :class:`~harness.design.prepare.EvalData` for items holds the
evaluated items in ``users`` and an (items x candidates) ``relevant`` matrix.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from harness.evaluation import metrics as M
from harness.arms.scorer import FactorScorer, Scorer
from harness.errors import HarnessError
from harness.evaluation.users import PerUserScores, evaluate, top_items
from harness.design.prepare import EvalData
from harness.spec import parse_metric
from harness.spec.metric import BEYOND_ACCURACY
from harness.evaluation.topk import NEG, generic_batch, hit_matrix, mask_rows, top_k


def prepare_items(d: EvalData) -> EvalData:
    """The item-direction view of a prepared variant.

    Returns an :class:`EvalData` with ``unit="items"``; ``users``: sorted evaluated items (at least
    one relevant candidate user); ``candidates``: sorted users with at least one training
    interaction; ``relevant``: CSR bool (n_items, n_candidates); ``n_train_pos``: training
    positives per item; ``counts``: what was evaluated and excluded.
    """
    seen = d.train.seen
    candidates = np.flatnonzero(np.diff(seen.indptr) > 0).astype(np.int64)
    rel_t = d.relevant.T.tocsr()                       # (n_items, n_users)
    rel = rel_t[:, candidates].tocsr()
    rel.sort_indices()
    n_rel = np.diff(rel.indptr)
    items = np.flatnonzero(n_rel > 0).astype(np.int64)
    item_train_users = np.bincount(seen.indices, minlength=seen.shape[1])
    n_train_pos = np.bincount(d.train.positives.indices, minlength=seen.shape[1])
    counts = {
        "test_positives": d.counts.get("test_positives", int(d.relevant.nnz)),
        "test_positives_seen_in_train": d.counts.get("test_positives_seen_in_train", 0),
        "relevant_pairs": int(rel.nnz),
        "relevant_pairs_of_users_without_training_excluded": int(rel_t.nnz - rel.nnz),
        "candidate_users": int(len(candidates)),
        "items_with_test_positives": int((np.diff(rel_t.indptr) > 0).sum()),
        "eval_items": int(len(items)),
        "eval_items_cold": int((item_train_users[items] == 0).sum()),
    }
    return replace(d, users=items, relevant=rel, n_train_pos=n_train_pos, counts=counts, unit="items",
                   candidates=candidates)


def evaluate_items(scorer: Scorer, items: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix,
                   candidates: np.ndarray, metric_names: tuple[str, ...], batch_size: int = 2048, *,
                   num_threads: int = 1, method: str = "auto") -> PerUserScores:
    """Per-item metrics of ``scorer``: each of ``items`` ranks the ``candidates`` users.

    Parameters
    ----------
    scorer : fitted arm (users x items scores).
    items : int (n,), sorted dense item indices to evaluate.
    seen : CSR (n_users, n_items), training interactions (masked out of each item's ranking).
    relevant : CSR bool (n_items, len(candidates)), relevant candidate users per item.
    candidates : int (m,), sorted dense user indices that may be ranked.
    metric_names : accuracy metrics, e.g. ``("ndcg@100", "recall@100")``.
    batch_size, num_threads, method : as :func:`harness.evaluation.users.evaluate` (factor path); the generic
        path scores ``generic_batch(n_items, batch_size)`` candidate users at a time.

    Returns
    -------
    PerUserScores : ``users`` holds the items; ``coverage@k`` is the share of candidate users in at
        least one item's top-k.
    """
    parsed = [parse_metric(m) for m in metric_names]
    if any(name in BEYOND_ACCURACY for name, _ in parsed):
        raise HarnessError(f"metrics {list(metric_names)}: {'/'.join(BEYOND_ACCURACY)} are not defined for "
                           "direction='item_to_users'; use accuracy metrics such as ndcg@100")
    items = np.asarray(items, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    if isinstance(scorer, FactorScorer):
        transposed, seen_t = _transposed(scorer, seen, candidates)
        return evaluate(transposed, items, seen_t, relevant, metric_names, batch_size,
                        num_threads=num_threads, method=method)
    if ranks_items(scorer):
        return evaluate(scorer, items, candidate_seen(seen, candidates), relevant, metric_names, batch_size,
                        num_threads=num_threads, method=method)
    kmax = max(k for _, k in parsed)
    top, n_nan = _stream_top(scorer, items, seen, candidates, kmax, batch_size)
    hits = hit_matrix(top, relevant, items)
    n_rel = np.diff(relevant.indptr)[items]
    out = {m: M.compute(name, k, hits, n_rel) for m, (name, k) in zip(metric_names, parsed)}
    cov = {}
    for k in sorted({k for _, k in parsed}):
        mask = np.zeros(len(candidates), dtype=bool)
        mask[top[:, :k]] = True
        cov[f"coverage@{k}"] = float(mask.mean())
    return PerUserScores(items, out, n_rel, n_nan, cov)


def ranks_items(scorer: Scorer) -> bool:
    """Whether ``scorer`` is already in the item direction: ``top_k(items, k, exclude)`` over candidate
    positions (an :class:`~harness.evaluation.ann.index.AnnScorer` built with ``item_to_users=True``)."""
    return getattr(scorer, "unit", "users") == "items" and callable(getattr(scorer, "top_k", None))


def candidate_seen(seen: sp.csr_matrix, candidates: np.ndarray) -> sp.csr_matrix:
    """CSR (n_items, len(candidates)): the candidate positions of the users seen with each item."""
    return seen[candidates].T.tocsr()


def _transposed(scorer: FactorScorer, seen: sp.csr_matrix,
                candidates: np.ndarray) -> tuple[FactorScorer, sp.csr_matrix]:
    """The item direction as a user direction: (items x candidates scorer, CSR (n_items, m) of the
    candidate users seen with each item)."""
    return (FactorScorer(scorer.item_vecs, np.ascontiguousarray(scorer.user_vecs[candidates])),
            candidate_seen(seen, candidates))


def top_users(scorer: Scorer, items: np.ndarray, seen: sp.csr_matrix, candidates: np.ndarray, k: int,
              batch_size: int = 2048) -> np.ndarray:
    """Dense user indices (len(items), min(k, len(candidates))) each item ranks first: the ranking
    :func:`evaluate_items` computes its metrics on (same paths, masking and tie-break; users seen
    with the item are ranked last when fewer than k others remain; -1: no user found, top-k path)."""
    items = np.asarray(items, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    if isinstance(scorer, FactorScorer):
        transposed, seen_t = _transposed(scorer, seen, candidates)
        pos = top_items(transposed, items, seen_t, k, batch_size)
    elif ranks_items(scorer):
        pos = top_items(scorer, items, candidate_seen(seen, candidates), k, batch_size)
        return np.where(pos >= 0, candidates[np.maximum(pos, 0)], -1)  # -1: no user at this rank
    else:
        pos, _ = _stream_top(scorer, items, seen, candidates, k, batch_size)
    return candidates[pos]


def _stream_top(scorer: Scorer, items: np.ndarray, seen: sp.csr_matrix, candidates: np.ndarray, k: int,
                batch_size: int) -> tuple[np.ndarray, int]:
    """(top candidate positions (len(items), min(k, m)), items with a NaN score) by merging each
    fixed batch of candidate users into the running top-k of every item."""
    from threadpoolctl import threadpool_limits

    m = len(candidates)
    k = min(k, m)
    seen_sub = seen[candidates][:, items].tocsr()     # (m, n): training pairs among evaluated items
    step = generic_batch(seen.shape[1], batch_size)
    vals = np.empty((len(items), 0), dtype=np.float32)
    ids = np.empty((len(items), 0), dtype=np.int64)
    nan_items = np.zeros(len(items), dtype=bool)
    with threadpool_limits(1, user_api="blas"):
        for lo in range(0, m, step):
            pos = np.arange(lo, min(lo + step, m))
            s = np.asarray(scorer.score(candidates[pos]), dtype=np.float32)[:, items]
            nan = np.isnan(s)
            if nan.any():
                nan_items |= nan.any(axis=0)
                s = np.where(nan, NEG, s)
            mask_rows(s, seen_sub, pos)
            cat_vals = np.concatenate([vals, s.T], axis=1)
            cat_ids = np.concatenate([ids, np.broadcast_to(pos, (len(items), len(pos)))], axis=1)
            keep = top_k(cat_vals, k)                 # ties: lower column = lower position
            vals = np.take_along_axis(cat_vals, keep, axis=1)
            ids = np.take_along_axis(cat_ids, keep, axis=1)
    return ids, int(nan_items.sum())


def evaluate_data(scorer: Scorer, d: EvalData, metric_names: tuple[str, ...], *, exposure: bool = False) -> PerUserScores:
    """Per-unit metrics of ``scorer`` on prepared data, in its direction (users or items)."""
    if d.unit == "items":
        return evaluate_items(scorer, d.users, d.train.seen, d.relevant, d.candidates, metric_names)
    return evaluate(scorer, d.users, d.train.seen, d.relevant, metric_names, item_content=d.train.item_content,
                    exposure=exposure)


def top_data(scorer: Scorer, d: EvalData, k: int) -> np.ndarray:
    """Each evaluated unit's top-``k`` in its direction, dense indices: items per user
    (:func:`harness.evaluation.users.top_items`), or users per item (:func:`top_users`)."""
    if d.unit == "items":
        return top_users(scorer, d.users, d.train.seen, d.candidates, k)
    return top_items(scorer, d.users, d.train.seen, k)
