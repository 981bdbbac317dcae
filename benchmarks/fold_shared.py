"""What the rolling-origin fold interval assumes, and what breaks it: seeds and users shared by folds.

Usage::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/fold_shared.py [--datasets 1000]

``harness.stats.fold_interval`` combines per-fold seed x user estimates as independent. Rolling folds are
not independent in two ways, each simulated here (seed sd 0.013, user sd 0.1, residual sd 0.1; users per
fold 300, 200, 400, 250, ...; 95 % intervals of mu = 0, ``--datasets`` per row):

Table 1 - the same seed stream in every fold. A seed's effect is then (partly) the same in each fold
(correlation rho across folds), which the fold-to-fold dispersion cannot see. The harness trains seed s of
fold f with its own stream (``harness.design.split.fold_seed``), i.e. rho = 0.

Table 2 - the same users in several folds (a pool of 450 users; each fold draws its users from it). A share
of each user's effect persists across folds. Columns: plain Hartung-Knapp (users taken as disjoint);
Hartung-Knapp plus the shared-user variance on Satterthwaite df; the rule ``fold_interval(..., users=)`` uses,
the larger of the two.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from harness.stats.folds import fold_interval, shared_user_variance  # noqa: E402

SD_SEED, SD_USER, SD_RES = 0.013, 0.1, 0.1
USERS = (300, 200, 400, 250)
POOL = 450


def shared_seeds(rng: np.random.Generator, nf: int, k: int, rho: float, tau: float) -> list[np.ndarray]:
    shared = rng.normal(0, SD_SEED, k)
    c = rng.normal(0, tau, nf)
    out = []
    for f in range(nf):
        n = USERS[f % 4]
        a = np.sqrt(rho) * shared + np.sqrt(1 - rho) * rng.normal(0, SD_SEED, k)
        out.append(c[f] + a[:, None] + rng.normal(0, SD_USER, (1, n)) + rng.normal(0, SD_RES, (k, n)))
    return out


def shared_users(rng: np.random.Generator, nf: int, k: int, rho_b: float, tau: float):
    b = rng.normal(0, SD_USER * np.sqrt(rho_b), POOL)
    c = rng.normal(0, tau, nf)
    out, ids = [], []
    for f in range(nf):
        n = USERS[f % 4]
        u = np.sort(rng.choice(POOL, n, replace=False))
        g = rng.normal(0, SD_USER * np.sqrt(1 - rho_b), n)
        out.append(c[f] + rng.normal(0, SD_SEED, (k, 1)) + (b[u] + g)[None, :] + rng.normal(0, SD_RES, (k, n)))
        ids.append(u)
    return out, ids


def covers(d: list[np.ndarray], ids: list[np.ndarray]) -> tuple[bool, bool, bool]:
    hk = fold_interval(d)
    nf = len(d)
    w = np.asarray(hk.weights)
    s2, m = shared_user_variance(d, ids)
    vb = s2 * float(w @ (m / np.outer(np.diag(m), np.diag(m))) @ w)
    v = hk.standard_error**2
    df = (v + vb) ** 2 * (nf - 1) / v**2
    satt = stats.t.ppf(0.975, df) * np.sqrt(v + vb)
    used = fold_interval(d, users=ids)
    return (bool(hk.ci.low <= 0 <= hk.ci.high), bool(abs(hk.estimate) <= satt),
            bool(used.ci.low <= 0 <= used.ci.high))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    n = ap.parse_args().datasets
    rng = np.random.default_rng(ap.parse_args().seed)
    print(f"Table 1: one seed stream in every fold ({n} datasets per row)\n")
    print("| F x k | seed correlation across folds | tau | coverage |\n|---|---|---|---|")
    for nf, k in ((4, 5), (4, 3)):
        for rho in (0.0, 0.5, 0.9):
            for tau in (0.0, 0.005):
                hit = sum(bool((r := fold_interval(shared_seeds(rng, nf, k, rho, tau))).ci.low <= 0 <= r.ci.high)
                          for _ in range(n))
                print(f"| {nf} x {k} | {rho:.1f} | {tau} | {hit / n:.3f} |", flush=True)
    print(f"\nTable 2: folds sharing users from a pool of {POOL} ({n} datasets per row)\n")
    print("| F x k | persistent share of user variance | tau | HK | HK + V_b, Satterthwaite | max of the two "
          "(users=) |\n|---|---|---|---|---|---|")
    for nf, k in ((2, 5), (3, 3), (4, 5), (4, 3), (6, 5)):
        for rho in (0.0, 0.5, 0.9):
            for tau in (0.0, 0.005):
                hits = np.zeros(3)
                for _ in range(n):
                    hits += covers(*shared_users(rng, nf, k, rho, tau))
                print(f"| {nf} x {k} | {rho:.1f} | {tau} | " + " | ".join(f"{h / n:.3f}" for h in hits) + " |",
                      flush=True)


if __name__ == "__main__":
    main()
