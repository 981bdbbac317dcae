"""``calibrate``: the false-positive rate of the deciding interval (and of naive tests) on the user's
own data. The units are the hypothesis' (users, or items for ``direction="item_to_users"``); the
names below say "user" for either.

The baseline arm is trained with ``n_seeds`` seeds. Every comparison below is A/A (the same model,
only the seed differs), so every rejection is a false positive, and comparisons never share a seed,
so they are independent and the exact binomial interval of each rate is valid:

- **The deciding interval** (what every verdict rests on): seeds are cut into disjoint groups of
  ``2 K`` (``K`` = the hypothesis' seed count); in each, the first ``K`` seeds play the baseline and
  the last ``K`` the treatment, paired in order as in a real run, and the seed x user ``1 - alpha``
  interval of the mean delta (:func:`harness.stats.seed_user_interval`) either excludes 0 (a
  rejection) or not. ``n_seeds // (2 K)`` comparisons per cell.
- **Naive per-user tests** on disjoint seed pairs (0, 1), (2, 3), ...: Wilcoxon, paired t, sign,
  randomization and the users-only bootstrap CI. ``n_seeds // 2`` comparisons per cell.

With rolling-origin folds (``Split.rolling``) the baseline is trained with every seed in every fold; the
deciding interval of a group is then :func:`harness.stats.fold_interval` of the group's per-fold deltas (the
same seed labels in every fold, each trained with its fold's own stream, :func:`harness.design.split.fold_seed`;
each fold's own users and segments), and the naive tests run on every (user, fold)
pair stacked as one unit.

A rate above alpha beyond chance (one-sided exact binomial test at 5 %) means the test calls seed
noise significant on this data; below alpha beyond chance means it is conservative (power lost).

Python use (notebooks)::

    from harness import calibrate
    result = calibrate.run("H1", dataset="ml-100k", data_dir="../shared/data/ml-100k", n_seeds=40)
    print(calibrate.render(result))
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats as sps

from harness.runner import backends, tasks as runner
from harness import stats as S
from harness.errors import HarnessError
from harness.runner.monitor import progress_bar
from harness.runner.prepared import Prepared, prepare_hypothesis
from harness.spec import Hypothesis

CAL_SEED = 99
DECIDING = "seed x user interval (deciding)"
#: The deciding interval of a rolling-origin hypothesis: the random-effects combination over its folds.
DECIDING_FOLDS = "fold interval (deciding)"
NAIVE = ("wilcoxon (pratt)", "paired t", "sign", "randomization", "bootstrap CI (users only)")
#: One-sided level of the binomial test that flags a rate as above / below alpha beyond chance.
FLAG_LEVEL = 0.05


@dataclass(frozen=True)
class CalibrationRow:
    """One test's empirical false-positive rate in one (variant, segment) over independent A/A
    comparisons.

    Attributes
    ----------
    test : test name (``DECIDING`` for the seed x user interval).
    variant, segment : the cell.
    rejected, n_comparisons : rejections out of independent A/A comparisons.
    rate : ``rejected / n_comparisons`` (NaN when there is no comparison).
    ci : exact (Clopper-Pearson) 95 % interval of the rate.
    p_above, p_below : one-sided exact binomial p-values of "rate > alpha" and "rate < alpha".
    """

    test: str
    variant: str
    segment: str
    rejected: int
    n_comparisons: int
    rate: float
    ci: S.ConfidenceInterval
    p_above: float
    p_below: float

    @property
    def deciding(self) -> bool:
        return self.test in (DECIDING, DECIDING_FOLDS)


@dataclass(frozen=True)
class Calibration:
    """Everything ``calibrate`` measured.

    Attributes
    ----------
    hypothesis, metric, alpha : what was calibrated.
    n_seeds : seeds trained per variant; ``k`` : seeds per arm in a real run (the group size).
    rows : one :class:`CalibrationRow` per (variant, segment, test), deciding interval first.
    unit : the units of analysis, ``"users"`` or ``"items"`` (``direction="item_to_users"``: every
        test then runs over items, and :func:`render` says so).
    """

    hypothesis: str
    metric: str
    alpha: float
    n_seeds: int
    k: int
    rows: tuple[CalibrationRow, ...]
    unit: str = "users"
    folds: int = 1


def group_rejections(values: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """Whether the deciding interval rejects, for each disjoint A/A group of ``values``.

    Parameters
    ----------
    values : (n_seeds, n_users) per-seed per-user metric values of one arm.
    k : seeds per arm; group g compares seeds ``[2gk, 2gk + k)`` (baseline) with
        ``[2gk + k, 2gk + 2k)`` (treatment), paired in order.
    alpha : the decision's alpha (two-sided ``1 - alpha`` interval).

    Returns
    -------
    bool (n_seeds // (2 k),): the interval excludes 0.
    """
    out = []
    for g in range(values.shape[0] // (2 * k)):
        a = values[2 * g * k:2 * g * k + k]
        b = values[2 * g * k + k:2 * (g + 1) * k]
        ci = S.seed_user_interval(b - a, confidence_level=1 - alpha, rng=np.random.default_rng(CAL_SEED)).ci
        out.append(bool(ci.low > 0 or ci.high < 0))
    return np.asarray(out, dtype=bool)


def fold_group_rejections(values: list[np.ndarray], k: int, alpha: float,
                          users: list[np.ndarray] | None = None) -> np.ndarray:
    """:func:`group_rejections` over rolling-origin folds: ``values`` holds one (n_seeds, n_users_f) array per
    fold (the same seeds in each); group g's interval is :func:`harness.stats.fold_interval` of the folds'
    ``treatment - baseline`` seed groups (folds without users left out); ``users``: each fold's user ids
    (users shared between folds counted, as in the verdict)."""
    keep = [i for i, v in enumerate(values) if v.shape[1] > 0]
    used = [values[i] for i in keep]
    ids = None if users is None else [users[i] for i in keep]
    out = []
    for g in range(used[0].shape[0] // (2 * k) if used else 0):
        deltas = [v[2 * g * k + k:2 * (g + 1) * k] - v[2 * g * k:2 * g * k + k] for v in used]
        ci = S.fold_interval(deltas, confidence_level=1 - alpha, users=ids).ci
        out.append(bool(ci.low > 0 or ci.high < 0))
    return np.asarray(out, dtype=bool)


def pair_pvalues(values: np.ndarray, n_resamples: int, rng: np.random.Generator,
                 alpha: float) -> dict[str, np.ndarray]:
    """p-values of each naive per-user test for the disjoint seed pairs (0, 1), (2, 3), ... of
    ``values`` (n_seeds, n_users).

    The users-only bootstrap has no p-value: its entry is 0 when its ``1 - alpha`` CI excludes 0,
    else 1.
    """
    out: dict[str, list[float]] = {t: [] for t in NAIVE}
    for a in range(0, values.shape[0] - 1, 2):
        d = values[a + 1] - values[a]
        out["wilcoxon (pratt)"].append(S.wilcoxon(d).pvalue)
        out["paired t"].append(S.paired_t(d).pvalue)
        out["sign"].append(S.sign_test(d).pvalue)
        out["randomization"].append(S.randomization_test(d, n_resamples=n_resamples, rng=rng).pvalue)
        ci = S.paired_bootstrap(d, n_resamples=n_resamples, confidence_level=1 - alpha, rng=rng).ci
        out["bootstrap CI (users only)"].append(0.0 if (ci.low > 0 or ci.high < 0) else 1.0)
    return {t: np.asarray(p, dtype=float) for t, p in out.items()}


def rate_row(test: str, variant: str, segment: str, rejected: np.ndarray, alpha: float) -> CalibrationRow:
    """A :class:`CalibrationRow` from per-comparison rejections (bool array)."""
    n, hits = int(len(rejected)), int(np.count_nonzero(rejected))
    if n == 0:
        nan = float("nan")
        return CalibrationRow(test, variant, segment, 0, 0, nan, S.ConfidenceInterval(nan, nan), nan, nan)
    rate, ci = S.false_positive_rate(np.where(rejected, 0.0, 1.0), alpha=alpha)
    above = sps.binomtest(hits, n, alpha, alternative="greater").pvalue
    below = sps.binomtest(hits, n, alpha, alternative="less").pvalue
    return CalibrationRow(test, variant, segment, hits, n, rate, ci, float(above), float(below))


def calibrate(p: Prepared, n_seeds: int, *, n_jobs: int = 1, cache_dir=None, quiet: bool = True,
              n_resamples: int = 1000, backend: str = "loky", scheduler: str | None = None) -> Calibration:
    """Train the baseline of ``p.hyp`` with seeds ``0 .. n_seeds - 1`` and measure the A/A
    false-positive rate of the deciding interval and of the naive tests in every (variant, segment)."""
    hyp = p.hyp
    k = len(hyp.seeds)
    if n_seeds < 2:
        raise HarnessError(f"--seeds {n_seeds}: calibrate needs at least 2 seeds (one A/A pair); "
                           f"{2 * k} or more to measure the deciding interval ({k} seeds per arm)")
    alpha = hyp.alpha
    folds = p.folds or (p,)
    rolling = bool(p.folds)
    tasks = [runner.Task(v, hyp.baseline, s, fold=f if rolling else None)
             for f in range(len(folds)) for v in p.variants for s in range(n_seeds)]
    bar, tick = progress_bar(len(tasks), quiet, f"calibrate {hyp.id}", [t.arm.name for t in tasks], n_jobs)
    try:
        with backends.backend(backend, n_jobs, scheduler) as active:
            res = runner.execute(tasks, p.task_data, p.metrics, p.context, n_jobs=n_jobs, cache_dir=cache_dir,
                                 backend=active, progress=tick)
    finally:
        bar.close()
    rows = []
    rng = np.random.default_rng(CAL_SEED)
    for v in p.variants:
        for seg in hyp.segments:
            masks = [fp.masks[(v, seg.name)] for fp in folds]
            if not any(m.any() for m in masks):
                continue
            per_fold = [np.stack([r.scores.values[hyp.primary][m] for r in res
                                  if r.task.variant == v and r.task.fold == (f if rolling else None)])
                        for f, m in enumerate(masks)]
            if rolling:
                users = [next(r.scores.users for r in res if r.task.variant == v and r.task.fold == f)[m]
                         for f, m in enumerate(masks)]
                rows.append(rate_row(DECIDING_FOLDS, v, seg.name,
                                     fold_group_rejections(per_fold, k, alpha, users), alpha))
            else:
                rows.append(rate_row(DECIDING, v, seg.name, group_rejections(per_fold[0], k, alpha), alpha))
            for test, ps in pair_pvalues(np.hstack(per_fold), n_resamples, rng, alpha).items():
                ok = ~np.isnan(ps)
                rows.append(rate_row(test, v, seg.name, ps[ok] <= alpha, alpha))
    return Calibration(hyp.id, hyp.primary, alpha, n_seeds, k, tuple(rows), hyp.unit, len(p.folds) or 1)


def run(hypothesis: str | Hypothesis, *, dataset: str | None = None, data_dir: str | Path | None = None,
        n_seeds: int = 20, n_jobs: int = 1, cache_dir: str | Path | None = Path(".cache/harness"),
        hypotheses_dir: str | Path | None = None, quiet: bool = True) -> Calibration:
    """Load the hypothesis (an id such as ``"H1"`` or a :class:`Hypothesis`) and its dataset, then
    :func:`calibrate`; for notebooks. ``cache_dir=None`` disables the task cache."""
    from harness.runner import discover as registry
    from harness.data import load_dataset

    hyp = registry.get(hypothesis, hypotheses_dir) if isinstance(hypothesis, str) else hypothesis
    name = dataset or hyp.dataset
    inter = load_dataset(name, None if data_dir is None else Path(data_dir), None if cache_dir is None else Path(cache_dir),
                         positives=hyp.positives)
    p = prepare_hypothesis(hyp.replace(dataset=name), inter)
    return calibrate(p, n_seeds, n_jobs=n_jobs, quiet=quiet,
                     cache_dir=None if cache_dir is None else Path(cache_dir) / "tasks")


def _fmt(r: CalibrationRow) -> str:
    if r.n_comparisons == 0:
        return "     -  (no comparison)"
    return f"{r.rate:6.3f}  [{r.ci.low:.3f}, {r.ci.high:.3f}]  {r.rejected:>3}/{r.n_comparisons:<4}"


def findings(cal: Calibration) -> list[str]:
    """The plain-language lines about the deciding interval: above / below alpha beyond chance, or
    too few comparisons to tell."""
    out = []
    for r in (r for r in cal.rows if r.deciding):
        where = f"{r.variant} / {r.segment}"
        if r.n_comparisons == 0:
            out.append(f"{where}: no independent {cal.k}-vs-{cal.k} comparison fits in {cal.n_seeds} seeds; "
                       f"use --seeds {4 * cal.k} or more (every comparison needs {2 * cal.k} new seeds)")
        elif r.p_above < FLAG_LEVEL:
            out.append(f"WARNING {where}: the deciding interval rejected {r.rejected} of {r.n_comparisons} A/A "
                       f"comparisons ({r.rate:.3f}), above alpha={cal.alpha:g} beyond chance (binomial p = "
                       f"{r.p_above:.3g}): verdicts on this data call seed noise an effect too often")
        elif r.p_below < FLAG_LEVEL:
            out.append(f"{where}: the deciding interval is conservative here ({r.rate:.3f} < alpha={cal.alpha:g}, "
                       f"binomial p = {r.p_below:.3g}): its false positives are under control, at some cost in power")
        else:
            out.append(f"{where}: the deciding interval's rate {r.rate:.3f} is consistent with alpha={cal.alpha:g} "
                       f"over {r.n_comparisons} independent comparisons (95 % CI [{r.ci.low:.3f}, {r.ci.high:.3f}]"
                       + ("; more seeds narrow it)" if r.ci.high - r.ci.low > 0.1 else ")"))
    return out


def label(test: str, unit: str) -> str:
    """A test's name for the units: ``"seed x user interval (deciding)"`` -> ``"seed x item ..."``."""
    return test if unit == "users" else test.replace("users", unit).replace("user", unit[:-1])


def _over_folds(cal: Calibration) -> str:
    """`` in each of 4 rolling-origin folds, combined by the fold interval`` (empty without folds)."""
    if cal.folds == 1:
        return ""
    return f" in each of {cal.folds} rolling-origin folds, combined by the fold interval"


def render(cal: Calibration) -> str:
    """The calibration table and findings as text (naming the units: users, or items)."""
    per = f" per {cal.unit[:-1]}" if cal.unit != "users" else ""
    lines = [f"{cal.hypothesis}: A/A false-positive rates at alpha={cal.alpha:g} ({cal.metric}{per}; the baseline "
             f"trained with {cal.n_seeds} seeds: every rejection is seed noise called significant)",
             f"deciding interval: disjoint groups of {cal.k} vs {cal.k} seeds ({cal.n_seeds // (2 * cal.k)} "
             f"independent comparisons){_over_folds(cal)}; naive tests: disjoint seed pairs ({cal.n_seeds // 2} "
             f"comparisons{', (user, fold) pairs as units' if cal.folds > 1 else ''})", "",
             f"{'variant':<22} {'segment':<10} {'test':<32} {'FPR':>6}  95 % CI           rejected"]
    for r in cal.rows:
        lines.append(f"{r.variant:<22} {r.segment:<10} {label(r.test, cal.unit):<32} {_fmt(r)}")
    lines += [""] + findings(cal)
    u = cal.unit[:-1]
    lines += ["", f"Naive per-{u} tests ignore seed variance: a rate well above alpha there is why verdicts rest on "
              f"the seed x {u} interval."]
    return "\n".join(lines)
