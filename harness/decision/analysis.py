"""Per-user table -> statistics for every (variant, segment, metric): the comparison orchestrator.

For each cell the delta is treatment - baseline on the same user and the same seed. The primary
interval is the seed x user interval (:func:`harness.stats.seed_user_interval`); user-level tests
run on each user's delta averaged over seeds. The seed-noise floor compares the baseline with
itself across seeds (A/A). p-values are adjusted across all accuracy-metric cells of the hypothesis
(novelty/avgpop/ild/calibration/serendipity/aplt cells form their own family).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness import stats as S
from harness.errors import HarnessError
from harness.spec import Hypothesis, parse_metric
from harness.spec.metric import BEYOND_ACCURACY

#: Fixed so that the same per-user table always gives the same statistics.
STATS_SEED = 20240607


@dataclass(frozen=True)
class NoiseFloor:
    """The baseline against itself across seeds (A/A), for one cell.

    Attributes
    ----------
    pairs : (seed_a, seed_b, mean delta, user-only CI low, CI high, wilcoxon p) per consecutive seed pair.
    seed_sd : SD over seeds of the baseline's seed-level mean (metric units); nan with one seed.
    max_abs_mean : largest |mean A/A delta| over the pairs.
    share_ci_excludes_0 : share of pairs whose user-only CI excludes 0 (seed noise that a
        user-only analysis would call significant).
    """

    pairs: tuple
    seed_sd: float
    max_abs_mean: float
    share_ci_excludes_0: float


@dataclass(frozen=True)
class Disparity:
    """The primary metric's delta in two user groups and the seed x user interval of their difference (A - B),
    for a ``Decision.no_disparity`` (:func:`harness.stats.disparity.group_difference_interval`).

    Attributes
    ----------
    attribute : the user metadata column.
    groups : its two values compared, (A, B).
    n_users : users of the cell in A and in B.
    mean_delta : the mean delta (over seeds and users) in A and in B.
    difference : the interval of ``mean_delta[0] - mean_delta[1]``.
    left_out : users of the cell in neither group (another value, or none).
    """

    attribute: str
    groups: tuple
    n_users: tuple[int, int]
    mean_delta: tuple[float, float]
    difference: S.IntervalResult
    left_out: int


@dataclass(frozen=True)
class Cell:
    """Statistics of one (variant, segment, metric).

    Attributes
    ----------
    n_users : users in the segment (evaluated users only).
    n_seeds : seeds (paired by seed across arms).
    mean_base, mean_treat : means over seeds and users.
    seed_means_base, seed_means_treat : per-seed means, in seed order.
    primary : seed x user interval of the mean delta (the decision's interval).
    primary_p : two-sided p-value of "mean delta = 0" from the primary interval's estimate/SE.
    user_ci : user-only paired bootstrap interval of the mean delta (seed-averaged deltas).
    relative : bootstrap interval of the relative delta in %.
    tests : name -> TestResult (wilcoxon, paired_t, sign, randomization, seed_level).
    effects : effect sizes on seed-averaged per-user values.
    seeds_agree : (seeds whose mean delta has the overall sign, number of seeds).
    mde : minimum detectable effect at 80 % power from the primary SE (metric units).
    noise : the seed-noise floor.
    adjusted : p-value name -> adjusted p across the hypothesis (filled by :func:`compare`).
    folds : rolling-origin folds only (:func:`harness.decision.rolling.compare_folds`): ``(label, Cell)`` per
        fold, each fold's own cell; ``primary`` is then their :func:`harness.stats.fold_interval`.
    """

    variant: str
    segment: str
    metric: str
    n_users: int
    n_seeds: int
    mean_base: float = float("nan")
    mean_treat: float = float("nan")
    seed_means_base: tuple = ()
    seed_means_treat: tuple = ()
    primary: S.IntervalResult | None = None
    primary_p: float = float("nan")
    user_ci: S.IntervalResult | None = None
    relative: S.IntervalResult | None = None
    tests: dict = field(default_factory=dict)
    effects: S.EffectSizes | None = None
    seeds_agree: tuple = (0, 0)
    mde: float = float("nan")
    noise: NoiseFloor | None = None
    adjusted: dict = field(default_factory=dict)
    disparity: Disparity | None = None
    folds: tuple = ()

    @property
    def empty(self) -> bool:
        return self.n_users == 0


def matrices(per_user: pd.DataFrame, variant: str, arm_base: str, arm_treat: str, metric: str,
             seg_col: str, with_users: bool = False) -> tuple[np.ndarray, ...]:
    """(seeds, base (k, n), treat (k, n)) for one cell, users in dense-index order; ``with_users``: and the
    users' dense indices (n,) as a fourth element."""
    d = per_user[(per_user["variant"] == variant) & per_user[seg_col]]
    mats = []
    for arm in (arm_base, arm_treat):
        wide = d[d["arm"] == arm].pivot(index="seed", columns="user_index", values=metric).sort_index()
        mats.append(wide)
    base, treat = mats
    if not (base.index.equals(treat.index) and base.columns.equals(treat.columns)):
        raise RuntimeError(f"arms {arm_base} and {arm_treat} were not evaluated on the same seeds and users")
    out = (base.index.to_numpy(), base.to_numpy(dtype=np.float64), treat.to_numpy(dtype=np.float64))
    return (*out, base.columns.to_numpy()) if with_users else out


def noise_floor(base: np.ndarray, seeds: np.ndarray, rng: np.random.Generator, n_boot: int,
                level: float) -> NoiseFloor | None:
    """Baseline vs itself on consecutive seed pairs (A/A)."""
    k = len(seeds)
    if k < 2:
        return None
    pairs = []
    for i in range(k - 1 if k == 2 else k):
        a, b = i, (i + 1) % k
        d = base[b] - base[a]
        ci = S.paired_bootstrap(d, n_resamples=n_boot, confidence_level=level, rng=rng)
        w = S.wilcoxon(d)
        pairs.append((int(seeds[a]), int(seeds[b]), float(d.mean()), ci.ci.low, ci.ci.high, w.pvalue))
    means = np.array([p[2] for p in pairs])
    excl = np.array([(p[3] > 0) or (p[4] < 0) for p in pairs])
    return NoiseFloor(tuple(pairs), float(base.mean(axis=1).std(ddof=1)), float(np.abs(means).max()),
                      float(excl.mean()))


def analyse_cell(base: np.ndarray, treat: np.ndarray, seeds: np.ndarray, *, variant: str, segment: str,
                 metric: str, level: float, n_boot: int, rng: np.random.Generator) -> Cell:
    """All statistics of one cell from its (k, n) baseline and treatment matrices."""
    k, n = base.shape
    if n == 0:
        return Cell(variant, segment, metric, 0, k)
    delta = treat - base
    d_user = delta.mean(axis=0)
    base_u, treat_u = base.mean(axis=0), treat.mean(axis=0)
    primary = S.seed_user_interval(delta, confidence_level=level, n_resamples=n_boot, rng=rng)
    p = primary_pvalue(primary)
    tests = {
        "wilcoxon": S.wilcoxon(d_user, zero_method="pratt"),
        "paired_t": S.paired_t(d_user),
        "sign": S.sign_test(d_user),
        "randomization": S.randomization_test(d_user, n_resamples=n_boot, rng=rng),
        "seed_level": S.seed_level_test(delta.mean(axis=1)),
    }
    return Cell(
        variant, segment, metric, n, k,
        mean_base=float(base.mean()), mean_treat=float(treat.mean()),
        seed_means_base=tuple(float(x) for x in base.mean(axis=1)),
        seed_means_treat=tuple(float(x) for x in treat.mean(axis=1)),
        primary=primary, primary_p=p,
        user_ci=S.paired_bootstrap(d_user, n_resamples=n_boot, confidence_level=level, rng=rng),
        relative=S.relative_bootstrap(base_u, treat_u, n_resamples=n_boot, confidence_level=level, rng=rng)
        if base_u.mean() != 0 else None,
        tests=tests, effects=S.effect_sizes(base_u, treat_u), seeds_agree=S.seed_agreement(delta),
        mde=float(S.mde_from_se(primary.standard_error, alpha=1 - level, df=primary.df)),
        noise=noise_floor(base, seeds, rng, n_boot, level),
    )


def primary_pvalue(primary: S.IntervalResult) -> float:
    """Two-sided p of "mean delta = 0" from an interval's estimate / SE (t on its df, normal for infinite df)."""
    if primary.standard_error > 0:
        z = primary.estimate / primary.standard_error
        return float(2 * (sps.t.sf(abs(z), primary.df) if np.isfinite(primary.df) else sps.norm.sf(abs(z))))
    return 1.0 if primary.estimate == 0 else 0.0


#: p-values adjusted across the hypothesis' cells (raw and adjusted are both reported).
ADJUSTED = ("primary", "wilcoxon", "paired_t")


def compare(hyp: Hypothesis, per_user: pd.DataFrame, variants: tuple[str, ...]) -> list[Cell]:
    """Every (variant, segment, metric) cell, with p-values adjusted by ``hyp.correction``."""
    level = 1 - hyp.alpha
    cells = []
    for v in variants:
        for seg in hyp.segments:
            for m in hyp.metrics:
                rng = np.random.default_rng([STATS_SEED, len(cells)])
                seeds, base, treat = matrices(per_user, v, hyp.baseline.name, hyp.treatment.name, m, f"seg_{seg.name}")
                if base.shape[1] == 1:  # 0 is an empty cell (reported); 1 has no paired statistics at all
                    raise HarnessError(f"dataset {hyp.dataset!r}: only 1 {hyp.unit[:-1]} has a test positive in "
                                       f"segment {seg.name!r} for positives {v!r}; the paired statistics need at "
                                       f"least 2 {hyp.unit}: use more data or another split")
                cells.append(analyse_cell(base, treat, seeds, variant=v, segment=seg.name, metric=m, level=level,
                                          n_boot=int(hyp.n_boot), rng=rng))
    return [_with_disparity(hyp, per_user, c) for c in adjust(hyp, cells)]


def adjust(hyp: Hypothesis, cells: list[Cell]) -> list[Cell]:
    """``cells`` with their p-values (:data:`ADJUSTED`) adjusted by ``hyp.correction``, accuracy and
    beyond-accuracy metrics as separate families."""
    raw = {"primary": [c.primary_p for c in cells],
           "wilcoxon": [c.tests["wilcoxon"].pvalue if c.tests else np.nan for c in cells],
           "paired_t": [c.tests["paired_t"].pvalue if c.tests else np.nan for c in cells]}
    # Two families: accuracy metrics, and descriptive beyond-accuracy metrics (novelty, avgpop, ild,
    # calibration, serendipity, aplt), so that describing the recommendations never weakens the accuracy claims.
    descriptive = np.array([parse_metric(c.metric)[0] in BEYOND_ACCURACY for c in cells])
    adj = {}
    for name, p in raw.items():
        p = np.asarray(p, dtype=float)
        out = np.full(len(p), np.nan)
        for fam in (descriptive, ~descriptive):
            if fam.any():
                out[fam] = S.adjust_pvalues(p[fam], method=hyp.correction)
        adj[name] = out
    return [_with_adjusted(c, {name: float(adj[name][i]) for name in ADJUSTED}) for i, c in enumerate(cells)]


#: The per-user table's column of a user metadata attribute (added by the runner for no_disparity decisions).
def attribute_column(attribute: str) -> str:
    return f"attr_{attribute}"


def _with_disparity(hyp: Hypothesis, per_user: pd.DataFrame, cell: Cell) -> Cell:
    """``cell`` with its :class:`Disparity` when a no_disparity decision is about its segment (primary metric)."""
    from dataclasses import replace

    decision = next((d for seg, d in hyp.decisions if seg == cell.segment and d.rule == "no_disparity"
                      and (d.metric or hyp.primary) == cell.metric), None)
    if decision is None or cell.empty:
        return cell
    return replace(cell, disparity=disparity(hyp, per_user, cell, decision))


def disparity(hyp: Hypothesis, per_user: pd.DataFrame, cell: Cell, decision) -> Disparity:
    """The :class:`Disparity` of ``cell`` under ``decision`` (a no_disparity Decision)."""
    from harness.stats.disparity import group_difference_interval

    col = attribute_column(decision.attribute)
    seeds, base, treat = matrices(per_user, cell.variant, hyp.baseline.name, hyp.treatment.name, cell.metric,
                                  f"seg_{cell.segment}")
    rows = per_user[(per_user["variant"] == cell.variant) & per_user[f"seg_{cell.segment}"]]
    values = rows.drop_duplicates("user_index").set_index("user_index")[col]
    values = values.reindex(sorted(values.index))  # matrices' column order: dense user index
    text = values.map(lambda x: None if pd.isna(x) else str(x)).to_numpy(dtype=object)
    if decision.groups is not None:
        groups = tuple(str(g) for g in decision.groups)
        present = set(x for x in text if x is not None)
        missing = [g for g in groups if g not in present]
        if missing:
            raise HarnessError(f"decision no_disparity: attribute {decision.attribute!r} has no evaluated user with "
                               f"value {missing[0]!r} in segment {cell.segment!r} (values: "
                               f"{', '.join(sorted(present)[:10]) or 'none'}); fix groups=")
    else:
        found = sorted(set(x for x in text if x is not None))
        if len(found) != 2:
            raise HarnessError(f"decision no_disparity: attribute {decision.attribute!r} has {len(found)} values among "
                               f"the evaluated users of segment {cell.segment!r} ({', '.join(found[:10])}); name the "
                               "two to compare with groups=(A, B)")
        groups = tuple(found)
    in_a, in_b = text == groups[0], text == groups[1]
    keep = in_a | in_b
    delta = (treat - base)[:, keep]
    interval = group_difference_interval(delta, in_a[keep], confidence_level=1 - hyp.alpha)
    means = (float(delta[:, in_a[keep]].mean()), float(delta[:, in_b[keep]].mean()))
    return Disparity(decision.attribute, groups, (int(in_a.sum()), int(in_b.sum())), means, interval,
                     int((~keep).sum()))


def _with_adjusted(cell: Cell, adjusted: dict) -> Cell:
    from dataclasses import replace

    return replace(cell, adjusted=adjusted)
