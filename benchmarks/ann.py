"""ANN retrieval vs exact tiled scoring, item -> users: which users should see each item?

Usage::

    python benchmarks/ann.py [--users 1000000] [--items 10000] [--dim 64] [--k 100]
                             [--methods hnsw,faiss-ivf] [--threads 1]

An index over ``--users`` user vectors (``--dim`` float32) answers ``--items`` item queries for
their top ``--k`` users, through the harness' own code: exact = the fused ``tiled`` engine
(:func:`harness.evaluate.top_items` on ``FactorScorer(items, users)``), ANN =
:func:`harness.ann.index.build` + ``AnnScorer.top_k`` (the evaluator's ``topk`` path), both with
``--threads`` threads (default 1: the harness' deterministic setting; hnswlib's build is always
single-threaded there). For each method the build runs once and the search depth (hnswlib ``ef``,
faiss ``nprobe``) is swept; recall@k is measured on all queries against the exact lists. The ratio
is exact time / (build + query) at the first depth reaching recall >= 0.95 (the target: >= 10x); the
query-only ratio is what an index reused for many more queries approaches.
Memory: resident-set growth while building (the index; the 1M x 64 vectors alone are 256 MB).

Data: factor-like vectors, not isotropic noise: 256 Gaussian clusters in a space whose scale decays
as ``j ** -0.5`` over the dimensions (trained factor models have decaying spectra), users and items
drawn around the same centres with per-vector norms varying 0.5-1.5x, seed 0.

The machine is shared: the load average is printed; ratios come from the same run. No asserts.
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

from harness.ann.index import build  # noqa: E402
from harness.ann.quality import overlap_at_k  # noqa: E402
from harness.ann.spec import parse  # noqa: E402
from harness.arms.base import FactorScorer  # noqa: E402
from harness.evaluate import top_items  # noqa: E402

SWEEP = {"hnsw": ("ef", (100, 150, 200, 300, 400)), "faiss-hnsw": ("ef", (100, 150, 200, 300, 400)),
         "faiss-ivf": ("nprobe", (4, 8, 16, 32, 64))}


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def vectors(n_users: int, n_items: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    scale = (np.arange(1, d + 1) ** -0.5).astype(np.float32)
    centres = rng.standard_normal((256, d)).astype(np.float32)

    def draw(n: int) -> np.ndarray:
        x = centres[rng.integers(256, size=n)] + 0.7 * rng.standard_normal((n, d), dtype=np.float32)
        x *= scale
        x *= rng.uniform(0.5, 1.5, (n, 1)).astype(np.float32)
        return x

    return draw(n_users), draw(n_items)


def set_depth(index, method: str, value: int) -> None:
    if method == "hnsw":
        index.set_ef(value)
    elif method == "faiss-hnsw":
        index.hnsw.efSearch = value
    else:
        index.nprobe = value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--methods", default="hnsw,faiss-ivf")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=100)
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--space", default="ip", help="ip or mips (the exact MIPS -> L2 reduction)")
    args = ap.parse_args()
    print(f"{args.users} users x {args.dim} dims indexed, {args.items} item queries, top {args.k}, "
          f"{args.threads} thread(s); load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    users, items = vectors(args.users, args.items, args.dim)
    f = FactorScorer(items, users)  # queries = items, candidates = users
    exclude = sp.csr_matrix((args.items, args.users), dtype=np.float32)
    queries = np.arange(args.items)
    with threadpool_limits(args.threads, user_api="blas"):
        t = time.perf_counter()
        exact = top_items(f, queries, exclude, args.k, num_threads=args.threads, method="tiled")
        t_exact = time.perf_counter() - t
    print(f"exact tiled: {t_exact:.1f} s ({args.items / t_exact:.0f} queries/s; "
          f"{2 * args.items * args.users * args.dim / t_exact / 1e9:.1f} GFLOP/s)")
    for method in args.methods.split(","):
        param, depths = SWEEP[method]
        spec = {"method": method, "M": args.M, "ef_construction": args.ef_construction, "ef": args.k} \
            if method != "faiss-ivf" else {"method": method, "nlist": args.nlist, "nprobe": depths[0]}
        spec["space"] = args.space
        try:
            r0, t = rss_mb(), time.perf_counter()
            ann = build(f, parse(spec, "bench", args.k), 0, "bench")
            t_build, mem = time.perf_counter() - t, rss_mb() - r0
        except Exception as e:  # a missing optional library: say so and go on
            print(f"{method}: skipped ({e})")
            continue
        print(f"{method} {ann.spec.describe()}: build {t_build:.1f} s, index memory +{mem:.0f} MB RSS")
        best = None
        for depth in depths:
            set_depth(ann.index, method, max(depth, args.k) if param == "ef" else depth)
            t = time.perf_counter()
            with threadpool_limits(args.threads, user_api="blas"):
                got = top_items(ann, queries, exclude, args.k, num_threads=args.threads)
            t_query = time.perf_counter() - t
            recall = float(overlap_at_k(got, exact).mean())
            total = t_build + t_query
            print(f"  {param}={depth:4d}: query {t_query:6.1f} s, recall@{args.k} {recall:.4f}, "
                  f"build+query {total:.1f} s, exact / (build+query) = {t_exact / total:.1f}x, "
                  f"query only (build amortised) {t_exact / t_query:.1f}x")
            if best is None and recall >= 0.95:
                best = (depth, recall, total)
        if best is None:
            print(f"  {method}: no depth reached recall@{args.k} >= 0.95")
        else:
            print(f"  {method}: first {param} with recall >= 0.95: {best[0]} (recall {best[1]:.4f}): "
                  f"{t_exact / best[2]:.1f}x faster than exact (target >= 10x)")


if __name__ == "__main__":
    main()
