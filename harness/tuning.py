"""Hyper-parameter selection on a validation window inside the training data (never the test window).

An arm declares a small grid: ``Arm("als", "als", factors=64, grid={"regularization": [0.01, 0.1, 1.0]})``.
For each task, every grid point is fitted on the training window minus each user's last
``VALIDATION_SHARE`` of training interactions (by time), scored on those held-out positives with the
hypothesis' primary metric, and the best point (ties: the first in grid order) is refitted on the
whole training window. The chosen values are reported with the task.
"""
from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Callable

import numpy as np
import scipy.sparse as sp

from harness.arms.base import TrainData
from harness.errors import HarnessError
from harness.evaluate import evaluate

#: Share of each user's training interactions (latest by time, at least one) held out for validation.
VALIDATION_SHARE = 0.2


def grid_points(grid: dict) -> list[dict]:
    """Every combination of the grid, in declaration order."""
    keys = list(grid)
    for k in keys:
        if not isinstance(grid[k], (list, tuple)) or len(grid[k]) == 0:
            raise HarnessError(f"grid[{k!r}] must be a non-empty list of values, e.g. grid={{'{k}': [0.01, 0.1]}}")
    return [dict(zip(keys, vals)) for vals in itertools.product(*(grid[k] for k in keys))]


def validation_split(train: TrainData) -> tuple[TrainData, sp.csr_matrix, np.ndarray]:
    """Inner (train, validation relevant CSR, validation users) from the training window's events."""
    ev = train.events
    if ev is None or "positive" not in ev.columns:
        raise HarnessError("tuning needs the training events; this is a harness bug if you see it")
    user = ev["user"].to_numpy()
    order = np.lexsort((np.arange(len(ev)), ev["time"].to_numpy(), user))
    n_per_user = np.bincount(user, minlength=train.n_users)
    starts = np.concatenate([[0], np.cumsum(n_per_user)[:-1]])
    u_sorted = user[order]
    from_end = n_per_user[u_sorted] - (np.arange(len(ev)) - starts[u_sorted])
    n_val = np.maximum(1, np.floor(VALIDATION_SHARE * n_per_user)).astype(int)
    is_val = np.zeros(len(ev), dtype=bool)
    is_val[order] = (from_end <= n_val[u_sorted]) & (n_per_user[u_sorted] >= 2)
    item, pos = ev["item"].to_numpy(), ev["positive"].to_numpy()
    shape = (train.n_users, train.n_items)

    def csr(mask: np.ndarray) -> sp.csr_matrix:
        m = sp.csr_matrix((np.ones(int(mask.sum()), dtype=np.float32), (user[mask], item[mask])), shape=shape)
        m.sum_duplicates()
        m.data[:] = 1
        return m

    seen = csr(~is_val)
    positives = csr(~is_val & pos)
    val = csr(is_val & pos)
    val = (val - val.multiply(seen)).tocsr()
    val.eliminate_zeros()
    users = np.flatnonzero((np.diff(positives.indptr) > 0) & (np.diff(val.indptr) > 0))
    if len(users) == 0:
        raise HarnessError("tuning: no user has a validation positive in the last part of the training window; "
                           "drop the grid or use more training data")
    inner = replace(train, positives=positives, seen=seen, events=ev[~is_val].reset_index(drop=True))
    return inner, val.astype(bool), users


def select(fit: Callable, train: TrainData, seed: int, params: dict, grid: dict, metric: str) -> tuple[dict, list]:
    """Best parameters for ``fit`` by ``metric`` on the validation window; returns (params, trials)."""
    inner, val, users = validation_split(train)
    trials = []
    for point in grid_points(grid):
        scorer = fit(inner, seed, **{**params, **point})
        score = float(np.mean(evaluate(scorer, users, inner.seen, val, (metric,)).values[metric]))
        trials.append((point, score))
    best = max(range(len(trials)), key=lambda i: (trials[i][1], -i))
    return {**params, **trials[best][0]}, trials
