"""What the approximation costs: recall@k against exact search and the metric difference exact - ANN.

Measured inside each (variant, arm, seed) task on a sample of the evaluated units (users, or items in
the item -> users direction) drawn with a fixed seed (0), so the same units are measured under every
seed and the differences form a (seeds, units) matrix: its interval is the seed x unit interval the
verdicts use (:func:`harness.stats.seed_user_interval`).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from harness.evaluation.ann.index import AnnScorer
from harness.evaluation.users import PerUserScores, evaluate, top_items


def sample_positions(n_users: int, size: int) -> np.ndarray:
    """Sorted positions of the sample in the sorted list of evaluated users (seed 0, without replacement)."""
    if size >= n_users:
        return np.arange(n_users)
    return np.sort(np.random.default_rng(0).choice(n_users, size, replace=False))


def overlap_at_k(approx: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Per row, the share of ``exact``'s items that ``approx`` also holds (recall@k of the ANN lists);
    float64 (n,). Vectorised; -1 entries of ``approx`` never match."""
    n, k = exact.shape
    ref = sp.csr_matrix((np.ones(exact.size, bool), exact.ravel(), np.arange(0, n * k + 1, k)),
                        shape=(n, int(max(exact.max(initial=0), approx.max(initial=0))) + 1))
    ref.sort_indices()
    from harness.evaluation.topk import hit_matrix

    return hit_matrix(approx, ref, np.arange(n)).sum(axis=1) / k


def measure(scorer: AnnScorer, users: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix,
            metrics: tuple[str, ...], evaluated: PerUserScores, *, item_content: np.ndarray | None = None) -> dict:
    """The quality record of one task: sample units, per-unit recall@k and per-unit metric values of
    exact search and of the ANN lists that were evaluated (``evaluated``), JSON-ready.

    Direction-free: ``users`` are the evaluated units and ``seen``, ``relevant`` are (units x
    candidates) in the scorer's own terms (items x candidate users for ``scorer.unit == "items"``:
    :func:`harness.evaluation.items.candidate_seen`); the record's ``unit`` says which.
    ``k`` is the largest metric k. The ANN lists are recomputed for the sample; a unit's ANN result
    does not depend on the other units (see :mod:`harness.evaluation.ann.index`), so they are the evaluated ones.
    """
    kmax = max(int(m.split("@")[1]) for m in metrics)
    pos = sample_positions(len(users), scorer.spec.sample)
    su = np.asarray(users, dtype=np.int64)[pos]
    exact_top = top_items(scorer.exact, su, seen, kmax)
    ann_top = top_items(scorer, su, seen, kmax)
    recall = overlap_at_k(ann_top, exact_top)
    exact = evaluate(scorer.exact, su, seen, relevant, metrics, item_content=item_content)
    return {"method": scorer.spec.method, "params": scorer.spec.to_dict(), "k": kmax, "unit": scorer.unit,
            "users": su.tolist(), "recall": recall.tolist(),
            "exact": {m: exact.values[m].tolist() for m in metrics},
            "ann": {m: np.asarray(evaluated.values[m])[pos].tolist() for m in metrics}}


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def summarize(records: list[tuple[str, str, int, dict]], level: float) -> dict:
    """variant -> arm -> {method, params, k, unit, n_users (sampled units), seeds, recall {mean, seed_means,
    min_user}, delta {metric: interval of exact - ANN}} from the tasks' records ``(variant, arm, seed, record)``."""
    from harness import stats as S

    groups: dict = {}
    for variant, arm, seed, rec in records:
        groups.setdefault((variant, arm), []).append((seed, rec))
    out: dict = {}
    for (variant, arm), items in groups.items():
        items.sort(key=lambda x: x[0])
        recs = [r for _, r in items]
        if any(r["users"] != recs[0]["users"] for r in recs):
            raise RuntimeError(f"ANN quality samples of arm {arm!r} differ between seeds")
        recall = np.array([r["recall"] for r in recs], dtype=np.float64)
        delta = {}
        for m in recs[0]["exact"]:
            d = np.array([np.subtract(r["exact"][m], r["ann"][m]) for r in recs], dtype=np.float64)
            d = d[:, ~np.isnan(d).any(axis=0)]
            iv = S.seed_user_interval(d, confidence_level=level, rng=np.random.default_rng(0))
            delta[m] = {"estimate": _num(iv.estimate), "low": _num(iv.ci.low), "high": _num(iv.ci.high),
                        "method": iv.method, "level": _num(iv.confidence_level)}
        out.setdefault(variant, {})[arm] = {
            "method": recs[0]["method"], "params": recs[0]["params"], "k": int(recs[0]["k"]),
            "unit": recs[0].get("unit", "users"),
            "n_users": len(recs[0]["users"]), "seeds": [int(s) for s, _ in items],
            "recall": {"mean": _num(recall.mean()), "seed_means": [_num(x) for x in recall.mean(axis=1)],
                       "min_user": _num(recall.min())},
            "delta": delta}
    return out
