"""Per-user NDCG@10 throughput of harness.evaluation.metrics vs a plain per-user Python loop (users/s, one run).

Usage::

    python benchmarks/metrics.py [--users 200000] [--ref-users 20000] [--items 10000]

Input for both: each user's top-10 ranked items (int, distinct) and a CSR of relevant items
(~6 per user, some planted in the top 10). ``harness.evaluation.metrics`` builds the hit matrix with
``harness.evaluation.users.hit_matrix`` (vectorised) and computes NDCG@10 with array operations; the
reference walks users one by one with a Python set per user. Also reported: NDCG@10 from a ready
hit matrix, and all six metrics @10 from one hit matrix (what evaluate does per batch). One thread;
no asserts.
"""
from __future__ import annotations

import argparse
import math
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

from harness.evaluation import metrics as M  # noqa: E402
from harness.evaluation.users import hit_matrix  # noqa: E402

K = 10


def make_data(n_users: int, n_items: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, n_items, n_users)[:, None]
    top = (base + rng.integers(1, 50, (n_users, K)).cumsum(axis=1)) % n_items  # distinct per row
    n_rel = rng.poisson(5, n_users) + 1
    rows = np.repeat(np.arange(n_users), n_rel)
    cols = rng.integers(0, n_items, n_rel.sum())
    planted = rng.random((n_users, K)) < 0.08  # some relevant items in the top 10
    pr, pc = np.nonzero(planted)
    rows = np.concatenate([rows, pr])
    cols = np.concatenate([cols, top[pr, pc]])
    rel = sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(n_users, n_items))
    rel.sum_duplicates()
    return top, rel


def ref_ndcg(top: np.ndarray, rel: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
    """Plain per-user loop: a set of relevant items, DCG over the top 10, ideal min(|rel|, 10)."""
    out = np.empty(len(users))
    indptr, indices = rel.indptr, rel.indices
    for j, u in enumerate(users):
        r = set(indices[indptr[u]:indptr[u + 1]].tolist())
        dcg = sum(1.0 / math.log2(i + 2) for i, it in enumerate(top[u].tolist()) if it in r)
        idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(r), K)))
        out[j] = dcg / idcg
    return out


def best(fn, repeat=3):
    t_best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--ref-users", type=int, default=20_000, help="users for the Python reference loop")
    ap.add_argument("--items", type=int, default=10_000)
    args = ap.parse_args(argv)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    top, rel = make_data(args.users, args.items)
    users = np.arange(args.users)
    n_rel = np.diff(rel.indptr)
    ref_users = users[:args.ref_users]
    with threadpool_limits(1):
        t_ref, ref = best(lambda: ref_ndcg(top, rel, ref_users), 1)
        t_ours, ours = best(lambda: M.compute("ndcg", K, hit_matrix(top, rel, users), n_rel))
        hits = hit_matrix(top, rel, users)
        t_m, _ = best(lambda: M.compute("ndcg", K, hits, n_rel))
        t_all, _ = best(lambda: [M.compute(m, K, h, n_rel) for h in [hit_matrix(top, rel, users)]
                                 for m in M.PER_USER])
    r_ref = len(ref_users) / t_ref
    print(f"NDCG@10, {args.users:,} users (reference on {len(ref_users):,}), {args.items:,} items, "
          f"{rel.nnz / args.users:.1f} relevant per user, mean NDCG@10 {ours.mean():.3f}")
    print(f"  plain Python per-user loop                {r_ref:>14,.0f} users/s")
    print(f"  harness: hit_matrix + metrics.ndcg        {args.users / t_ours:>14,.0f} users/s   "
          f"ratio {args.users / t_ours / r_ref:6.0f}x")
    print(f"  harness: metrics.ndcg from a hit matrix   {args.users / t_m:>14,.0f} users/s   "
          f"ratio {args.users / t_m / r_ref:6.0f}x")
    print(f"  harness: hit_matrix + all six metrics     {args.users / t_all:>14,.0f} users/s")
    print(f"  max |harness - reference| = {np.abs(ours[:len(ref_users)] - ref).max():.1e}")


if __name__ == "__main__":
    main()
