"""Two-tower training throughput on synthetic KION-format data, and the cost of optuna tuning (one run).

Usage::

    python benchmarks/two_tower.py [--scales 1 4] [--epochs 3] [--trials 10] [--seeds 2] [--cache-dir .cache/harness]

1. For each scale N of ``synthetic-kion:xN`` (N times 4,000 users; generated once and cached, that
   time is not counted): the H8 two-tower configuration (``hypotheses/h8_two_tower_cold.py``) trained
   for ``--epochs`` epochs on the default split's training window, one thread as in a runner worker.
   Prints seconds per epoch ((time of N epochs - time of 1) / (N - 1)), training users per second and
   training positives per second (an epoch visits every training positive once), and the rest of a
   1-epoch fit ("setup": tower inputs plus every user's and item's tower output, the scorer).
2. Tuning cost: ALS with the H9 search space on synthetic-vk (per-user split of H9): one trial =
   one ALS fit on the inner training window + its validation NDCG@10; ``--trials`` TPE trials for
   each of ``--seeds`` seeds, then the projected cost of H9's 30 trials x 5 seeds (searched once,
   ``per="once"``, but every seed's task repeats the same search) and its ratio to the untuned arm.

No asserts; absolute numbers move with the load (printed), compare ratios of the same run.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _prepare(name: str, cache_dir: Path, split=None, positives: str | None = None, cold_users: bool = False):
    from harness.data import load_dataset
    from harness.design.prepare import prepare
    from harness.design.split import split as do_split

    inter = load_dataset(name, cache_dir=cache_dir)
    sp = do_split(inter, split or inter.default_split)
    return prepare(inter, sp, positives or inter.default_positives[0], cold_users=cold_users)


def two_tower(scales: list[int], epochs: int, cache_dir: Path) -> None:
    import numpy as np

    from harness.arms import two_tower as tt
    from harness.runner.discover import load_all

    h8 = next(e.hypothesis for e in load_all(REPO / "hypotheses") if e.hypothesis and e.hypothesis.id == "H8")
    params = {k: v for k, v in h8.treatment.kwargs.items() if k not in ("epochs", "max_epochs", "patience")}
    print(f"two-tower {params}")
    print(f"{'data':<20}{'users':>8}{'positives':>11}{'s/epoch':>10}{'users/s':>10}{'pos/s':>10}{'setup s':>10}")
    for n in scales:
        t = time.perf_counter()
        d = _prepare(f"synthetic-kion:x{n}", cache_dir, cold_users=True)
        t_load = time.perf_counter() - t
        if n == scales[0]:
            tt.fit(d.train, 0, epochs=1, **params)  # warm-up (torch import and kernels)
        t0 = time.perf_counter()
        tt.fit(d.train, 0, epochs=epochs, **params)
        total = time.perf_counter() - t0
        t1 = time.perf_counter()
        tt.fit(d.train, 0, epochs=1, **params)
        one = time.perf_counter() - t1  # inputs + one epoch + the final scorer
        per_epoch = (total - one) / max(epochs - 1, 1) if epochs > 1 else one
        scorer = max(one - per_epoch, 0.0)
        users = int((np.diff(d.train.positives.indptr) > 0).sum())
        print(f"{'synthetic-kion:x' + str(n):<20}{users:>8}{d.train.positives.nnz:>11}{per_epoch:>10.2f}"
              f"{users / per_epoch:>10.0f}{d.train.positives.nnz / per_epoch:>10.0f}{scorer:>10.2f}"
              f"   (load {t_load:.1f} s; {epochs} epochs {total:.1f} s)")


def tuning_cost(trials: int, seeds: int, cache_dir: Path) -> None:
    from harness.runner.tuning import window as tuning
    from harness.arms.registry import get_fit
    from harness.runner.discover import load_all

    h9 = next(e.hypothesis for e in load_all(REPO / "hypotheses") if e.hypothesis and e.hypothesis.id == "H9")
    d = _prepare("synthetic-vk", cache_dir, split=h9.split)
    fit = get_fit("als")
    fit(d.train, 0, **h9.baseline.kwargs)  # warm-up (imports, thread pools)
    t = time.perf_counter()
    fit(d.train, 0, **h9.baseline.kwargs)
    untuned = time.perf_counter() - t
    tune = dict(h9.treatment.kwargs["tune"], n_trials=trials, per="seed")
    per_seed = []
    for s in range(seeds):
        t = time.perf_counter()
        res = tuning.search(fit, d.train, s, {"tune": tune}, "ndcg@10")
        per_seed.append(time.perf_counter() - t)
        print(f"seed {s}: {trials} trials {per_seed[-1]:.1f} s ({per_seed[-1] / trials:.2f} s/trial), best "
              f"validation {max(sc for _, sc in res.trials):.4f} at {res.chosen}")
    per_trial = sum(per_seed) / (trials * seeds)
    full = h9.treatment.kwargs["tune"]["n_trials"] * len(h9.seeds) * per_trial
    print(f"untuned ALS fit {untuned:.2f} s; one trial {per_trial:.2f} s ({per_trial / untuned:.1f}x an untuned fit)")
    print(f"H9 as declared: {h9.treatment.kwargs['tune']['n_trials']} trials x {len(h9.seeds)} seeds ~ {full:.0f} s "
          f"of tuning on one core ({full / (untuned * len(h9.seeds)):.0f}x the untuned arm's {len(h9.seeds)} fits)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 4], help="synthetic-kion user multiples")
    ap.add_argument("--epochs", type=int, default=3, help="two-tower epochs timed per scale (default 3)")
    ap.add_argument("--trials", type=int, default=10, help="optuna trials timed per seed (default 10)")
    ap.add_argument("--seeds", type=int, default=2, help="seeds searched (default 2)")
    ap.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "harness",
                    help="the harness cache (generated synthetic data goes to its data/ folder)")
    args = ap.parse_args(argv)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        two_tower(args.scales, args.epochs, args.cache_dir)
        tuning_cost(args.trials, args.seeds, args.cache_dir)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
