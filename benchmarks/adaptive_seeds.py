"""Seeds used by the adaptive plan (``--seeds auto``) vs the fixed design, per hypothesis, from one run.

Usage::

    python benchmarks/adaptive_seeds.py [--dataset synthetic-vk] [--hypotheses H2 H3 ...] [--n-jobs 2]

For each hypothesis: the verdict with its declared fixed seeds, and with ``Seeds.adaptive()`` (3, 5,
..., 15 seeds, O'Brien-Fleming spending); the seeds the adaptive plan trained, and the ratio of tasks
fitted (adaptive / fixed). Tasks are shared through one cache, so the fixed run's seeds are not trained
twice. Asserts nothing; prints the mean seeds used over the hypotheses.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from harness.runner import experiment, discover as registry  # noqa: E402
from harness.spec import Seeds  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="synthetic-vk")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--hypotheses", nargs="*", default=["H1", "H2", "H3", "H4", "H5"])
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="adaptive-bench-"))
    used, fixed_n = [], []
    print(f"{'hyp':<5} {'fixed seeds':>11} {'verdict (fixed)':<14} {'adaptive seeds':>14} {'verdict (adaptive)':<18} "
          f"{'looks':<16} seconds")
    for hid in args.hypotheses:
        hyp = registry.get(hid, _REPO / "hypotheses")
        kw = dict(dataset=args.dataset, data_dir=args.data_dir, results_dir=tmp / "results", cache_dir=tmp / "cache",
                  n_jobs=args.n_jobs, quiet=True)
        t0 = time.perf_counter()
        fixed = experiment.run(hyp.replace(adaptive=None), **kw)
        auto = experiment.run(hyp.replace(seeds=Seeds.adaptive(), adaptive=None), **kw)
        looks = auto.summary["sequential"]["looks"]
        n = looks[-1]["n_seeds"]
        used.append(n)
        fixed_n.append(len(hyp.seeds))
        print(f"{hid:<5} {len(hyp.seeds):>11} {fixed.verdict.status:<14} {n:>14} {auto.verdict.status:<18} "
              f"{'-'.join(str(k['n_seeds']) for k in looks):<16} {time.perf_counter() - t0:.0f}")
    print(f"mean seeds: adaptive {sum(used) / len(used):.1f} vs fixed {sum(fixed_n) / len(fixed_n):.1f} "
          f"(ratio {sum(used) / sum(fixed_n):.2f})")


if __name__ == "__main__":
    main()
