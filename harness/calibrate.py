"""``calibrate``: each test's false-positive rate on the user's own data.

The baseline arm is trained with ``n_seeds`` seeds; every pair of seeds is an A/A comparison (the
same model, only the seed differs), so every rejection is a false positive. The share of pairs each
test rejects at ``alpha``, with a Clopper-Pearson interval, shows whether a per-user test can be
trusted here. Pairs share seeds, so they are not independent: the interval is indicative.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from harness import runner
from harness import stats as S
from harness.experiment import Prepared, progress_bar

CAL_SEED = 99


@dataclass(frozen=True)
class CalibrationRow:
    """One test's empirical false-positive rate over the A/A pairs."""

    test: str
    variant: str
    segment: str
    rate: float
    ci: S.ConfidenceInterval
    n_pairs: int


def aa_pvalues(values: np.ndarray, n_resamples: int, rng: np.random.Generator, alpha: float) -> dict[str, list[float]]:
    """p-values of each test for every seed pair of ``values`` (n_seeds, n_users).

    The user-only bootstrap has no p-value: its entry is 0 when its ``1 - alpha`` CI excludes 0, else 1.
    """
    out: dict[str, list[float]] = {"wilcoxon (pratt)": [], "paired t": [], "sign": [], "randomization": [],
                                   "bootstrap CI (users only)": []}
    for a, b in combinations(range(len(values)), 2):
        d = values[b] - values[a]
        out["wilcoxon (pratt)"].append(S.wilcoxon(d).pvalue)
        out["paired t"].append(S.paired_t(d).pvalue)
        out["sign"].append(S.sign_test(d).pvalue)
        out["randomization"].append(S.randomization_test(d, n_resamples=n_resamples, rng=rng).pvalue)
        ci = S.paired_bootstrap(d, n_resamples=n_resamples, confidence_level=1 - alpha, rng=rng).ci
        out["bootstrap CI (users only)"].append(0.0 if (ci.low > 0 or ci.high < 0) else 1.0)
    return out


def calibrate(p: Prepared, n_seeds: int, *, n_jobs: int, cache_dir, quiet: bool, n_resamples: int = 1000,
              backend: str = "loky") -> list[CalibrationRow]:
    """Train the baseline over ``n_seeds`` seeds and measure each test's A/A false-positive rate."""
    hyp = p.hyp
    alpha = hyp.alpha
    tasks = [runner.Task(v, hyp.baseline, s) for v in p.variants for s in range(n_seeds)]
    bar, tick = progress_bar(len(tasks), quiet, f"calibrate {hyp.id}")
    try:
        res = runner.execute(tasks, p.data, p.metrics, p.context, n_jobs=n_jobs, cache_dir=cache_dir,
                             backend=backend, progress=tick)
    finally:
        bar.close()
    rows = []
    rng = np.random.default_rng(CAL_SEED)
    for v in p.variants:
        for seg in hyp.segments:
            mask = p.masks[(v, seg.name)]
            if not mask.any():
                continue
            vals = np.stack([r.scores.values[hyp.primary][mask] for r in res if r.task.variant == v])
            for test, ps in aa_pvalues(vals, n_resamples, rng, alpha).items():
                rate, ci = S.false_positive_rate(np.asarray(ps), alpha=alpha)
                rows.append(CalibrationRow(test, v, seg.name, rate, ci, len(ps)))
    return rows


def render(rows: list[CalibrationRow], alpha: float, metric: str) -> str:
    lines = [f"A/A false-positive rates at alpha={alpha:g} ({metric}; the same arm, different seeds: every "
             "rejection is seed noise called significant)", "",
             f"{'variant':<22} {'segment':<10} {'test':<27} {'FPR':>6}  95 % CI           pairs"]
    for r in rows:
        lines.append(f"{r.variant:<22} {r.segment:<10} {r.test:<27} {r.rate:6.3f}  [{r.ci.low:.3f}, {r.ci.high:.3f}]"
                     f"  {r.n_pairs}")
    lines += ["", "A test whose FPR is well above alpha on this data over-rejects here; the harness' verdicts use "
              "the seed x user interval, which includes seed variance."]
    return "\n".join(lines)
