"""Everything decided on the validation window inside the training data (never the test window):
hyper-parameter grids, learning curves, early stopping and the convergence guard.

The validation window is each user's last ``VALIDATION_SHARE`` of training interactions (by time);
models are fitted on the rest (the "inner" training data) and scored on the held-out positives with
the hypothesis' primary metric.

- Grids: ``Arm("als", "als", factors=64, grid={"regularization": [0.01, 0.1, 1.0]})``: every grid
  point is fitted on the inner data and the best (ties: the first in grid order) is refitted on the
  whole training window.
- Learning curves (arms that train in epochs): the validation metric after each epoch of an inner
  fit, over up to ``CURVE_USERS`` validation users. With ``epochs="auto"`` the inner fit stops after
  ``patience`` epochs without improvement (at most ``max_epochs``) and the best epoch is refitted on
  the whole training window. The chosen values are reported with the task.
- Convergence guard (:func:`still_improving`): an arm whose mean validation curve still gains more
  than ``CONVERGENCE_TOL`` of its final value over the last ``LAST_SHARE`` of its epochs is flagged
  in the report: the comparison may say "slower to train", not "worse".
"""
from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Callable

import numpy as np
import scipy.sparse as sp

from harness.arms.base import StopTraining, TrainData
from harness.errors import HarnessError
from harness.evaluate import evaluate

#: Share of each user's training interactions (latest by time, at least one) held out for validation.
VALIDATION_SHARE = 0.2
#: Validation users (evenly by index) scored after each epoch, to bound the cost of curves.
CURVE_USERS = 2000
#: ``epochs="auto"`` defaults.
MAX_EPOCHS = 50
PATIENCE = 3
#: Convergence guard: flagged when the mean validation curve gains more than this share of its final
#: value over the last ``LAST_SHARE`` of the epochs.
CONVERGENCE_TOL = 0.01
LAST_SHARE = 0.2


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


def validation_curve(fit: Callable, train: TrainData, seed: int, params: dict, metric: str, epochs: int,
                     patience: int | None = None) -> np.ndarray:
    """Mean ``metric`` on the validation window after each epoch of a fit on the inner training data.

    Parameters
    ----------
    fit : an epoch-trained arm's fit (accepts ``epochs`` and ``on_epoch``).
    params : the arm's parameters without ``epochs``.
    epochs : epochs to train (the most, with ``patience``).
    patience : stop after this many epochs without a strict improvement on the best so far (None:
        train all ``epochs``).

    Returns
    -------
    float64 (n_epochs_trained,).
    """
    inner, val, users = validation_split(train)
    users = users[np.linspace(0, len(users) - 1, min(CURVE_USERS, len(users))).astype(int)]
    curve: list[float] = []

    def on_epoch(epoch: int, scorer) -> None:
        curve.append(float(np.mean(evaluate(scorer, users, inner.seen, val, (metric,)).values[metric])))
        if patience is not None and len(curve) - 1 - int(np.argmax(curve)) >= patience:
            raise StopTraining

    try:
        fit(inner, seed, **params, epochs=int(epochs), on_epoch=on_epoch)
    except StopTraining:
        pass
    return np.asarray(curve, dtype=np.float64)


def best_epoch(curve: np.ndarray) -> int:
    """The (first) epoch with the highest validation value, counted from 1."""
    return int(np.argmax(curve)) + 1


def still_improving(curve: np.ndarray, tol: float = CONVERGENCE_TOL) -> float | None:
    """The gain of ``curve`` over its last ``LAST_SHARE`` of epochs when it exceeds ``tol`` times the
    final value (the arm had not converged), else None. Curves under 5 epochs are not judged."""
    c = np.asarray(curve, dtype=np.float64)
    c = c[~np.isnan(c)]
    if len(c) < 5:
        return None
    start = int(np.floor((1 - LAST_SHARE) * len(c))) - 1  # the epoch before the last 20 %
    gain = float(c[-1] - c[start])
    return gain if gain > tol * abs(c[-1]) else None
