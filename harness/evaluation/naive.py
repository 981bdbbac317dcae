"""Plain reference implementations, the way our users' notebooks compute things (slow, obvious).

Used by tests (our vectorised evaluation must equal them) and by benchmarks (the naive baseline).
"""
from __future__ import annotations

import numpy as np


def ndcg_one(scores: np.ndarray, seen_items: np.ndarray, relevant_items: np.ndarray, k: int = 10) -> float:
    """NDCG@k of one user's scores: mask seen items, stable sort (ties by lower item index), DCG / IDCG
    with the ideal capped at min(|relevant|, k)."""
    s = np.asarray(scores, dtype=np.float64).copy()
    s[seen_items] = -np.inf
    ranked = np.argsort(-s, kind="stable")[:k]
    rel = set(relevant_items)
    dcg = sum(1.0 / np.log2(i + 2) for i, it in enumerate(ranked) if it in rel)
    idcg = sum(1.0 / np.log2(i + 2) for i in range(min(len(rel), k)))
    return dcg / idcg


def predict_loop_ndcg(model, uf, itf, users, seen, relevant, k: int = 10) -> np.ndarray:
    """Per-user NDCG@k with LightFM's ``model.predict`` (one user at a time). float64 (len(users),)."""
    items = np.arange(seen.shape[1])
    return np.array([ndcg_one(model.predict(int(u), items, user_features=uf, item_features=itf, num_threads=1),
                              seen[u].indices, relevant[u].indices, k) for u in users])


def factor_loop_ndcg(user_vecs, item_vecs, users, seen, relevant, k: int = 10) -> np.ndarray:
    """Per-user NDCG@k with one ``user_vec @ item_vecs.T`` product per user. float64 (len(users),)."""
    return np.array([ndcg_one(user_vecs[u] @ item_vecs.T, seen[u].indices, relevant[u].indices, k) for u in users])
