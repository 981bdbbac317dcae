"""Coverage and power of the rolling-origin fold interval (harness.stats.folds), by simulation.

Usage::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/fold_coverage.py [--datasets 2000] [--seed 0]

Data: ``delta_f[s, i] = mu + c_f + a_{f,s} + b_{f,i} + e_{f,s,i}`` with ``c_f ~ N(0, tau^2)`` (the test
window), seed effects ``a ~ N(0, 0.013^2)``, user effects ``b ~ N(0, 0.1^2)`` and residuals
``e ~ N(0, 0.1^2)``, independent per fold; users per fold cycle through 300, 200, 400, 250, 350, 300 (so
the folds' SEs differ). With 5 seeds the seed and user parts of a fold mean's variance are about equal; with
3 seeds the seed part is larger. "tau share" is ``tau^2 / (tau^2 + mean_f v_f)``, the share of the
variance of the combined mean that comes from the window. Each row uses ``--datasets`` datasets (MC SE
of a 0.95 coverage: 0.005 at 2,000).

Table 1: coverage of nominal 95 % intervals of mu for each method of :func:`harness.stats.folds._combine`
(the code :func:`harness.stats.folds.fold_interval` runs), and the median half-width of the
Hartung-Knapp interval relative to the modified (max(1, q)) one.

Table 2: the same number of model fits spent two ways - F folds x k seeds (Hartung-Knapp, DL) versus one
fold x F*k seeds (:func:`harness.stats.seeds.seed_user_interval`, which cannot see the window effect):
the share of datasets whose 95 % interval excludes 0, at mu = 0 (the false-positive rate; the one-fold
design's target is ``mu + c_1``) and at mu > 0 (power).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import numpy as np  # noqa: E402

from harness.stats.folds import _combine, _fold_parts, _pooled_se  # noqa: E402
from harness.stats.seeds import _variance_components  # noqa: E402

SD_SEED, SD_USER, SD_RES = 0.013, 0.1, 0.1
USERS = (300, 200, 400, 250, 350, 300)
CHUNK = 500
#: (column, method, tau2 estimator, per-fold SEs: own or seed component pooled over folds)
METHODS = (("HK-DL", "hartung_knapp", "dl", False), ("HK-PM", "hartung_knapp", "pm", False),
           ("HK-DL pool", "hartung_knapp", "dl", True), ("mHK-DL", "modified_hartung_knapp", "dl", False),
           ("Wald-DL", "wald", "dl", False), ("unweighted t", "unweighted_t", "dl", False))


def fold_variance(k: int, n: int, sd_seed: float = SD_SEED) -> float:
    """True ``Var(y_f | c_f)`` of a fold mean."""
    return sd_seed**2 / k + SD_USER**2 / n + SD_RES**2 / (k * n)


def simulate_fold(rng: np.random.Generator, size: int, k: int, n: int, shift: np.ndarray,
                  sd_seed: float = SD_SEED) -> np.ndarray:
    """``size`` datasets of one fold, shape (size, k, n); ``shift`` (size,) is mu + c_f."""
    return (shift[:, None, None] + rng.normal(0, sd_seed, (size, k, 1)) + rng.normal(0, SD_USER, (size, 1, n))
            + rng.normal(0, SD_RES, (size, k, n)))


def fold_stats(rng: np.random.Generator, size: int, nf: int, k: int, mu: float, tau: float, users=USERS,
               sd_seed: float = SD_SEED):
    """Per-fold means, own SEs and seed-pooled SEs, each (size, F)."""
    c = rng.normal(0, tau, (size, nf)) if tau > 0 else np.zeros((size, nf))
    parts = [_fold_parts(simulate_fold(rng, size, k, users[f], mu + c[:, f], sd_seed)) for f in range(nf)]
    y, se, seed_var, rest = (np.stack(p, axis=-1) for p in zip(*parts))
    return y, se, _pooled_se(seed_var, rest, k)


def tau_for(share: float, nf: int, k: int, users=USERS, sd_seed: float = SD_SEED) -> float:
    vbar = float(np.mean([fold_variance(k, users[f], sd_seed) for f in range(nf)]))
    return float(np.sqrt(share / (1 - share) * vbar))


def coverage_table(n_datasets: int, rng: np.random.Generator) -> None:
    names = [m[0] for m in METHODS]
    print("Table 1: coverage of nominal 95 % intervals over", n_datasets, "datasets per row")
    print(f"{'F x k':<7} {'tau share':>9} " + " ".join(f"{n:>12}" for n in names) + f" {'HK/mHK width':>12}")
    for k in (5, 3):
        for nf in (2, 3, 4, 6):
            for share in (0.0, 0.2, 0.5, 0.8):
                tau = tau_for(share, nf, k)
                hits = np.zeros(len(METHODS))
                ratios = []
                for start in range(0, n_datasets, CHUNK):
                    size = min(CHUNK, n_datasets - start)
                    y, se, se_pooled = fold_stats(rng, size, nf, k, 0.0, tau)
                    halves = {}
                    for j, (name, method, est_tau, pooled) in enumerate(METHODS):
                        est, _, half, _, _ = _combine(y, se_pooled if pooled else se, 0.95, method, est_tau)
                        hits[j] += np.sum(np.abs(est) <= half)
                        halves[name] = half
                    ratios.append(halves["HK-DL"] / halves["mHK-DL"])
                cov = hits / n_datasets
                print(f"{nf} x {k:<3} {share:>9.1f} " + " ".join(f"{c:>12.3f}" for c in cov)
                      + f" {np.median(np.concatenate(ratios)):>12.2f}", flush=True)


def unequal_table(n_datasets: int, rng: np.random.Generator) -> None:
    print()
    print("Table 3: unequal folds (users 3000, 200, 1000, 300), k = 3, seed sd 0.004 (user variance dominates "
          "the small folds):\ncoverage, and median half-width relative to the unweighted t's")
    print(f"{'tau share':>9} {'HK-DL pool':>11} {'unweighted t':>12} {'width ratio':>11}")
    users = (3000, 200, 1000, 300)
    for share in (0.0, 0.2, 0.5, 0.8):
        tau = tau_for(share, 4, 3, users, 0.004)
        hits, ratios = np.zeros(2), []
        for start in range(0, n_datasets, CHUNK):
            size = min(CHUNK, n_datasets - start)
            _, _, se_pooled = y_se = fold_stats(rng, size, 4, 3, 0.0, tau, users, 0.004)
            est, _, half, _, _ = _combine(y_se[0], se_pooled, 0.95, "hartung_knapp", "dl")
            est_u, _, half_u, _, _ = _combine(y_se[0], y_se[1], 0.95, "unweighted_t", "dl")
            hits += np.sum(np.abs(est) <= half), np.sum(np.abs(est_u) <= half_u)
            ratios.append(half / half_u)
        print(f"{share:>9.1f} {hits[0] / n_datasets:>11.3f} {hits[1] / n_datasets:>12.3f} "
              f"{np.median(np.concatenate(ratios)):>11.2f}", flush=True)


def one_fold_reject(rng: np.random.Generator, size: int, k: int, mu: float, tau: float) -> np.ndarray:
    c = rng.normal(0, tau, size) if tau > 0 else np.zeros(size)
    est, _, half, _ = _variance_components(simulate_fold(rng, size, k, USERS[0], mu + c), 0.95)
    return np.abs(est) > half


def power_table(n_datasets: int, rng: np.random.Generator) -> None:
    print()
    print("Table 2: share of 95 % intervals excluding 0, same fits: F folds x k seeds (HK-DL pool) vs 1 fold x F*k seeds")
    print(f"{'F x k':<7} {'tau share':>9} {'mu':>6} {'F folds':>8} {'1 fold':>8}")
    for nf, k in ((2, 5), (4, 3), (4, 5)):
        for share in (0.0, 0.5):
            tau = tau_for(share, nf, k)
            for mu in (0.0, 0.01, 0.02):
                rej = np.zeros(2)
                for start in range(0, n_datasets, CHUNK):
                    size = min(CHUNK, n_datasets - start)
                    y, _, se_pooled = fold_stats(rng, size, nf, k, mu, tau)
                    est, _, half, _, _ = _combine(y, se_pooled, 0.95, "hartung_knapp", "dl")
                    rej[0] += np.sum(np.abs(est) > half)
                    rej[1] += np.sum(one_fold_reject(rng, size, nf * k, mu, tau))
                print(f"{nf} x {k:<3} {share:>9.1f} {mu:>6.2f} {rej[0] / n_datasets:>8.3f} {rej[1] / n_datasets:>8.3f}",
                      flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=2000, help="datasets per row (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-power", action="store_true")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    coverage_table(args.datasets, rng)
    unequal_table(args.datasets, rng)
    if not args.skip_power:
        power_table(args.datasets, rng)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
