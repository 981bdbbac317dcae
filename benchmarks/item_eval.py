"""Item -> users evaluation throughput vs users -> items on the same matrix, with ratios from one run.

Usage::

    python benchmarks/item_eval.py [--users 30000] [--items 10000] [--dim 64] [--k 100] [--loop-items 200]

A random factor model (``--users`` x ``--items`` x ``--dim`` float32), ~20 seen items per user and
~3 relevant (user, item) test pairs per user (the same pairs seen from either side). Measured:

1. ``harness.evaluation.users.evaluate`` over every user (users -> items, ndcg@k + recall@k) vs
   ``harness.evaluation.items.evaluate_items`` over every item with a relevant user (items -> users, the
   transposed factor path). Both compute the full users x items product once; target: the item
   direction within 2x of the user direction (ratio printed as item time / user time).
2. The item direction's generic path (any scorer: candidate users in fixed batches, running top-k
   merged per item) on the same model, as a ratio to the factor path.
3. The notebook-style loop (per item: score all users, mask seen, stable argsort, NDCG@k) on
   ``--loop-items`` items, as items/s and the vectorised path's speed-up over it; the largest NDCG
   difference between the loop and the vectorised values on those items is printed (0 up to rounding).

BLAS is limited to one thread (as in runner workers). The machine is shared: the load average is
printed; compare ratios from the same run. No asserts.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from harness.arms.scorer import FactorScorer  # noqa: E402
from harness.evaluation.users import evaluate  # noqa: E402
from harness.evaluation.items import evaluate_items  # noqa: E402


class Opaque:
    """The same model without the factor fast path (forces the generic streaming path)."""

    def __init__(self, f: FactorScorer):
        self.f = f

    def score(self, users):
        return self.f.score(users)


def random_pairs(rng, n_users, n_items, per_user) -> sp.csr_matrix:
    rows = np.repeat(np.arange(n_users), per_user)
    cols = rng.integers(0, n_items, len(rows))
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    m.sum_duplicates()
    m.data[:] = 1
    return m


def loop_ndcg(u, v, seen_t, rel_t, items, k) -> np.ndarray:
    """Notebook loop: per item, all users' scores, mask seen users, stable argsort, NDCG@k."""
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    out = []
    for i in items:
        s = u @ v[i]
        s[seen_t.indices[seen_t.indptr[i]:seen_t.indptr[i + 1]]] = -np.inf
        top = np.argsort(-s, kind="stable")[:k]
        rel = rel_t.indices[rel_t.indptr[i]:rel_t.indptr[i + 1]]
        out.append((np.isin(top, rel) * disc[:len(top)]).sum() / disc[:min(len(rel), k)].sum())
    return np.array(out)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=30000)
    ap.add_argument("--items", type=int, default=10000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--loop-items", type=int, default=200)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    u = rng.standard_normal((a.users, a.dim)).astype(np.float32)
    v = rng.standard_normal((a.items, a.dim)).astype(np.float32)
    seen = random_pairs(rng, a.users, a.items, 20)
    rel = random_pairs(rng, a.users, a.items, 3)
    rel = (rel - rel.multiply(seen)).tocsr()
    rel.eliminate_zeros()
    rel = rel.astype(bool)
    users = np.flatnonzero(np.diff(rel.indptr) > 0)
    rel_t = rel.T.tocsr()
    items = np.flatnonzero(np.diff(rel_t.indptr) > 0)
    cand = np.arange(a.users)
    metrics = (f"ndcg@{a.k}", f"recall@{a.k}")
    f = FactorScorer(u, v)
    print(f"{a.users} users x {a.items} items x {a.dim} factors, k={a.k}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with threadpool_limits(1, user_api="blas"):
        tu, _ = timed(lambda: evaluate(f, users, seen, rel, metrics))
        ti, res = timed(lambda: evaluate_items(f, items, seen, rel_t, cand, metrics))
        tg, gen = timed(lambda: evaluate_items(Opaque(f), items, seen, rel_t, cand, metrics))
        li = items[:a.loop_items]
        tl, ref = timed(lambda: loop_ndcg(u, v, seen.T.tocsr(), rel_t, li, a.k))
    pairs = a.users * a.items
    print(f"users -> items: {len(users)} users in {tu:.2f} s ({pairs / tu / 1e6:.0f} M scored pairs/s)")
    print(f"items -> users: {len(items)} items in {ti:.2f} s ({pairs / ti / 1e6:.0f} M scored pairs/s)")
    print(f"ratio item / user direction time: {ti / tu:.2f}  (target <= 2)")
    print(f"generic (streaming) vs factor path, items -> users: {tg:.2f} s vs {ti:.2f} s, ratio {tg / ti:.2f}; "
          f"max |ndcg diff| {np.abs(gen.values[metrics[0]] - res.values[metrics[0]]).max():.2e}")
    pos = np.searchsorted(items, li)
    diff = np.abs(res.values[metrics[0]][pos] - ref).max()
    print(f"notebook loop: {len(li) / tl:.1f} items/s; vectorised: {len(items) / ti:.1f} items/s; "
          f"speed-up {(len(items) / ti) / (len(li) / tl):.1f}x; max |ndcg diff| vs loop {diff:.2e}")


if __name__ == "__main__":
    main()
