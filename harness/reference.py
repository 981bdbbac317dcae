"""Plain reference implementations, the way our users' notebooks compute things (slow, obvious).

Used by tests (our vectorised evaluation must equal them) and by benchmarks (the naive baseline).
"""
from __future__ import annotations

import numpy as np


def predict_loop_ndcg(model, uf, itf, users, seen, relevant, k: int = 10) -> np.ndarray:
    """Per-user NDCG@k with LightFM's ``model.predict``: predict every item for one user, mask the
    user's seen items, sort (stable, so ties by lower item index), DCG / IDCG with the ideal
    capped at min(|relevant|, k). Returns float64 (len(users),)."""
    n_items = seen.shape[1]
    out = []
    for u in users:
        s = model.predict(int(u), np.arange(n_items), user_features=uf, item_features=itf, num_threads=1)
        s = s.astype(np.float64)
        s[seen[u].indices] = -np.inf
        ranked = np.argsort(-s, kind="stable")[:k]
        rel = set(relevant[u].indices)
        dcg = sum(1.0 / np.log2(i + 2) for i, it in enumerate(ranked) if it in rel)
        idcg = sum(1.0 / np.log2(i + 2) for i in range(min(len(rel), k)))
        out.append(dcg / idcg)
    return np.array(out)
