"""Benchmark: paired bootstrap of the mean delta, ours vs scipy.stats.bootstrap, in one run.

NDCG@10-like per-user deltas (about half exactly 0, few distinct values), 100,000 users,
10,000 resamples, percentile and BCa. Prints each time, the ratio scipy / ours, and whether the
intervals agree within Monte Carlo error (both are exact bootstraps; they differ only in draws).

    python benchmarks/bootstrap.py [--users 100000] [--resamples 10000] [--batch 100]
"""
from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
from scipy import stats

from harness.stats import hierarchical_bootstrap, paired_bootstrap, seed_user_interval


def ndcg_deltas(rng: np.random.Generator, n: int) -> np.ndarray:
    """Differences of two NDCG@10-like scores (binary relevance, one relevant item): few values."""
    gains = np.r_[0.0, 1.0 / np.log2(np.arange(2, 12))]             # 0 (miss) or 1/log2(rank+1)
    probs = np.r_[0.5, np.full(10, 0.05)]
    base = rng.choice(gains, n, p=probs)
    treat = np.where(rng.random(n) < 0.3, base, rng.choice(gains, n, p=probs))  # ~half zero deltas
    return treat - base


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--resamples", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=100, help="scipy batch (memory: batch x users)")
    args = ap.parse_args()
    d = ndcg_deltas(np.random.default_rng(0), args.users)
    n, b = args.users, args.resamples
    print(f"{n} users, {b} resamples; {np.mean(d == 0):.0%} zeros, {np.unique(d).size} distinct deltas, "
          f"mean {d.mean():.5f}")
    print(f"{'method':11s} {'ours s':>8s} {'scipy s':>8s} {'ratio':>7s}  {'ours CI':>22s}  {'scipy CI':>22s}  agree")
    # MC sd of a 2.5 % quantile, in SE units, is sqrt(p (1-p) / B) / phi(z_p); the gap between two
    # independent runs has sqrt(2) times that; allow 4 sd (BCa adds a little z0 noise)
    tol = 4 * np.sqrt(2 * 0.025 * 0.975 / b) / stats.norm.pdf(stats.norm.ppf(0.025))
    for ours_m, scipy_m in (("percentile", "percentile"), ("bca", "BCa")):
        ours, t_ours = timed(partial(paired_bootstrap, d, n_resamples=b, method=ours_m, rng=np.random.default_rng(1)))
        ref, t_ref = timed(partial(stats.bootstrap, (d,), np.mean, n_resamples=b, method=scipy_m, batch=args.batch,
                                   vectorized=True, rng=np.random.default_rng(2)))
        lo, hi = ref.confidence_interval
        gap = max(abs(ours.ci.low - lo), abs(ours.ci.high - hi)) / ref.standard_error
        print(f"{ours_m:11s} {t_ours:8.2f} {t_ref:8.2f} {t_ref / t_ours:6.0f}x  "
              f"[{ours.ci.low:.6f}, {ours.ci.high:.6f}]  [{lo:.6f}, {hi:.6f}]  "
              f"{'yes' if gap < tol else 'NO'} (max gap {gap:.3f} SE, tolerance {tol:.3f})")
    print(f"ours: {ours.method}")
    idx, t_idx = timed(lambda: paired_bootstrap(d, n_resamples=b, rng=np.random.default_rng(1), resampling="index"))
    print(f"ours, index engine (same work as scipy), percentile: {t_idx:.2f} s, "
          f"CI [{idx.ci.low:.6f}, {idx.ci.high:.6f}]")
    rng = np.random.default_rng(3)
    grid = np.vstack([ndcg_deltas(rng, n) + rng.normal(0, 0.003) for _ in range(5)])
    hb, t_hb = timed(lambda: hierarchical_bootstrap(grid, n_resamples=b, rng=np.random.default_rng(4)))
    vc, t_vc = timed(lambda: seed_user_interval(grid, rng=np.random.default_rng(5)))
    print(f"5 seeds x {n} users: pigeonhole bootstrap {t_hb:.2f} s [{hb.ci.low:.6f}, {hb.ci.high:.6f}]; "
          f"seed_user_interval {t_vc:.3f} s [{vc.ci.low:.6f}, {vc.ci.high:.6f}] ({vc.method})")


if __name__ == "__main__":
    main()
