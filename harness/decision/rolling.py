"""Rolling-origin folds: every cell compared per fold, then combined across the folds' test windows.

Each fold (a test window with its own training data, segments and users) is compared like any run
(:func:`harness.decision.analysis.compare` on that fold's rows of the per-user table). The combined cell's
deciding interval is :func:`harness.stats.fold_interval` of the folds' (seeds x users) delta arrays: a
random-effects combination that counts the window-to-window variance (tau) beside seeds and users, and
users evaluated in several folds as the same users (their persistent effect is shared, not averaged out). Its
descriptive statistics (user-level tests, effect sizes, user-only interval, seed-noise floor) are those of
every (user, fold) pair stacked as one unit; its ``n_users`` counts (user, fold) pairs.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from harness import stats as S
from harness.decision import analysis
from harness.decision.analysis import Cell
from harness.errors import HarnessError
from harness.spec import Hypothesis


def compare_folds(hyp: Hypothesis, per_user: pd.DataFrame, variants: tuple[str, ...],
                  labels: tuple[str, ...]) -> list[Cell]:
    """Every (variant, segment, metric) cell combined over the folds of ``per_user`` (its ``fold`` column,
    0-based, one per entry of ``labels``), each holding its per-fold cells in ``folds``; p-values adjusted by
    ``hyp.correction`` across the combined cells."""
    if any(d.rule == "no_disparity" for _, d in hyp.decisions):
        raise HarnessError("decision no_disparity does not combine rolling-origin folds yet; use a split= other "
                           "than Split.rolling for it")
    fold_col = per_user["fold"].to_numpy()
    by_fold = [per_user[fold_col == f] for f in range(len(labels))]
    per_fold = [analysis.compare(hyp, rows, variants) for rows in by_fold]
    level = 1 - hyp.alpha
    cells = []
    for i, first in enumerate(per_fold[0]):
        parts = [analysis.matrices(rows, first.variant, hyp.baseline.name, hyp.treatment.name, first.metric,
                                   f"seg_{first.segment}", with_users=True) for rows in by_fold]
        users = [u for *_, u in parts]
        parts = [(s, b, t) for s, b, t, _ in parts]
        folds = tuple((label, cells_f[i]) for label, cells_f in zip(labels, per_fold))
        cells.append(combine(parts, folds, variant=first.variant, segment=first.segment, metric=first.metric,
                             level=level, n_boot=int(hyp.n_boot),
                             rng=np.random.default_rng([analysis.STATS_SEED, i]), users=users))
    return analysis.adjust(hyp, cells)


def combine(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], folds: tuple, *, variant: str, segment: str,
            metric: str, level: float, n_boot: int, rng: np.random.Generator,
            users: list[np.ndarray] | None = None) -> Cell:
    """One combined cell from each fold's ``(seeds, base (k, n_f), treat (k, n_f))`` (folds without users are
    left out of the interval): the stacked cell of :func:`harness.decision.analysis.analyse_cell` whose
    ``primary`` is :func:`harness.stats.fold_interval` of the folds' deltas, with its p-value and MDE;
    ``users``: each fold's user ids, so that users evaluated in several folds count as shared."""
    keep = [i for i, (_, b, _) in enumerate(parts) if b.shape[1] > 0]
    used = [parts[i] for i in keep]
    used_users = None if users is None else [users[i] for i in keep]
    k = max((len(s) for s, _, _ in parts), default=0)
    if not used:
        return Cell(variant, segment, metric, 0, k, folds=folds)
    seeds = used[0][0]
    if any(not np.array_equal(s, seeds) for s, _, _ in used):
        raise RuntimeError(f"cell {variant} / {segment} / {metric}: folds were evaluated on different seeds")
    base = np.hstack([b for _, b, _ in used])
    treat = np.hstack([t for _, _, t in used])
    stacked = analysis.analyse_cell(base, treat, seeds, variant=variant, segment=segment, metric=metric,
                                    level=level, n_boot=n_boot, rng=rng)
    primary = S.fold_interval([t - b for _, b, t in used], confidence_level=level, users=used_users)
    return replace(stacked, primary=primary, primary_p=analysis.primary_pvalue(primary),
                   mde=float(S.mde_from_se(primary.standard_error, alpha=1 - level, df=primary.df)), folds=folds)
