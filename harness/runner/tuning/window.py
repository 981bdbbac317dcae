"""Everything decided on the validation window inside the training data (never the test window):
hyper-parameter grids, learning curves, early stopping and the convergence guard.

The validation window is each user's last ``VALIDATION_SHARE`` of training interactions (by time);
models are fitted on the rest (the "inner" training data) and scored on the held-out positives with
the hypothesis' primary metric, in the hypothesis' direction (:func:`validation_data`): per user
over items (``unit="users"``), or per item over the candidate users (``unit="items"``, users seen
with the item in the inner training masked, as :mod:`harness.evaluation.items`). Grids, optuna and
learning curves all score through that one function, so an arm is tuned for the objective it is
tested on.

- One objective (:func:`validation_objective`): a parameter point -> the mean primary metric of a fit
  on the inner data, over the validation units (users or items). Every search goes through it and returns one shape,
  :class:`Tuned` (chosen parameters + trials in order); the best trial (ties: the first) is refitted
  on the whole training window.
- Grids: ``Arm("als", "als", factors=64, grid={"regularization": [0.01, 0.1, 1.0]})``: an exhaustive
  search over the grid points, in declaration order.
- Optuna: ``tune={"sampler": "tpe", "n_trials": 30, "space": {...}, "per": "seed"}``: a seeded
  sampler proposes the points (:mod:`harness.runner.tuning.optuna_search`); trials run one after another inside
  the task (the harness parallelises across tasks).
- Learning curves (arms that train in epochs): the validation metric after each epoch of an inner
  fit, over up to ``CURVE_UNITS`` validation units. With ``epochs="auto"`` the inner fit stops after
  ``patience`` epochs without improvement (at most ``max_epochs``) and the best epoch is refitted on
  the whole training window (``refit="full"``), or the inner model as it was after its best epoch is
  kept (``refit="none"``: a snapshot taken during the curve, :func:`validation_curve_kept`). The
  chosen values are reported with the task.
- Convergence guard (:func:`still_improving`): an arm whose mean validation curve still gains more
  than ``CONVERGENCE_TOL`` of its final value over the last ``LAST_SHARE`` of its epochs is flagged
  in the report: the comparison may say "slower to train", not "worse".
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import replace
from typing import Callable

import numpy as np

from harness.arms.scorer import StopTraining, TrainData
from harness.errors import HarnessError
from harness.evaluation.items import evaluate_data, prepare_items
from harness.design.prepare import EvalData
from harness.design.validation import CURVE_UNITS, VALIDATION_SHARE, validation_split  # noqa: F401
from harness.runner.tuning.trials import Tuned, best_trial  # noqa: F401 (Tuned is part of this module's API)

#: A curve best after epoch 1 is flagged only if a later epoch fell below (1 - this) of it (a dip, not noise).
DIP_SHARE = 0.1
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


def validation_data(train: TrainData, unit: str = "users") -> EvalData:
    """The validation window as prepared data in the hypothesis' direction.

    Parameters
    ----------
    train : the training window (with its events).
    unit : ``"users"`` (each validation user ranks items; :func:`validation_split`'s users) or
        ``"items"`` (each item with a validation positive ranks the users with inner training
        history: :func:`harness.evaluation.items.prepare_items` on the validation window).

    Returns
    -------
    EvalData : ``train`` is the inner training data; score it with
        :func:`harness.evaluation.items.evaluate_data`.
    """
    inner, val, users = validation_split(train)
    d = EvalData("validation", inner, users, val, np.diff(inner.positives.indptr))
    if unit == "users":
        return d
    if unit != "items":
        raise HarnessError(f"unit {unit!r}: use 'users' or 'items'")
    d = prepare_items(d)
    if len(d.users) == 0:
        raise HarnessError("tuning: no item has a validation positive from a user with earlier training "
                           "interactions; drop the grid/tune/epochs='auto' or use more training data")
    return d


def _mean_metric(scorer, d: EvalData, metric: str) -> float:
    """Mean ``metric`` of ``scorer`` over the units of ``d``, in its direction."""
    return float(np.mean(evaluate_data(scorer, d, (metric,)).values[metric]))


def validation_objective(fit: Callable, train: TrainData, seed: int, params: dict,
                         metric: str, unit: str = "users") -> Callable[[dict], float]:
    """The one objective every search maximises: ``point -> validation score``.

    The validation window is split once (:func:`validation_data`, in the direction ``unit``); a point
    is fitted on the inner data with ``seed`` and ``{**params, **point}`` and scored by the mean
    ``metric`` over the validation units (users or items). An epoch-trained arm with
    ``epochs="auto"`` is scored by the best value of its early-stopped validation curve (over up to
    ``CURVE_UNITS`` units), the epoch being chosen later.
    """
    d = validation_data(train, unit)
    auto = params.get("epochs") == "auto"
    if auto:
        params = dict(params)
        max_epochs = params.pop("max_epochs", MAX_EPOCHS)
        patience = params.pop("patience", PATIENCE)
        params.pop("refit", None)
        params.pop("epochs")
        curve_d = _curve_units(d)

    def objective(point: dict) -> float:
        p = {**params, **point}
        if auto:
            return float(np.max(_curve(fit, curve_d, seed, p, metric, max_epochs, patience)))
        return _mean_metric(fit(d.train, seed, **p), d, metric)

    return objective


def grid_search(objective: Callable[[dict], float], params: dict, grid: dict, metric: str = "") -> Tuned:
    """Exhaustive search: every grid point through ``objective``, in declaration order."""
    trials = tuple((point, objective(point)) for point in grid_points(grid))
    chosen = trials[best_trial(trials)][0]
    return Tuned({**params, **chosen}, chosen, trials, "grid", "seed", metric)


def select(fit: Callable, train: TrainData, seed: int, params: dict, grid: dict, metric: str,
           unit: str = "users") -> tuple[dict, list]:
    """Best parameters for ``fit`` by ``metric`` on the validation window; returns (params, trials)."""
    t = grid_search(validation_objective(fit, train, seed, params, metric, unit), params, grid, metric)
    return t.params, list(t.trials)


def search(fit: Callable, train: TrainData, seed: int, params: dict, metric: str, unit: str = "users") -> Tuned:
    """Run the arm's ``grid`` or ``tune`` search (whichever ``params`` holds; it is removed from the
    parameters of the result), scored per ``unit`` (``"users"`` or ``"items"``)."""
    params = dict(params)
    if "grid" in params:
        grid = params.pop("grid")
        return grid_search(validation_objective(fit, train, seed, params, metric, unit), params, grid, metric)
    from harness.runner.tuning import optuna_search as optuna_tuning

    tune = params.pop("tune")
    fit_seed = optuna_tuning.fit_seed(tune, seed)
    return optuna_tuning.optuna_search(validation_objective(fit, train, fit_seed, params, metric, unit), params, tune,
                                       seed, metric)


def validation_curve(fit: Callable, train: TrainData, seed: int, params: dict, metric: str, epochs: int,
                     patience: int | None = None, unit: str = "users") -> np.ndarray:
    """Mean ``metric`` on the validation window after each epoch of a fit on the inner training data.

    Parameters
    ----------
    fit : an epoch-trained arm's fit (accepts ``epochs`` and ``on_epoch``).
    params : the arm's parameters without ``epochs``.
    epochs : epochs to train (the most, with ``patience``).
    patience : stop after this many epochs without a strict improvement on the best so far (None:
        train all ``epochs``).
    unit : ``"users"`` or ``"items"``: the direction the metric is computed in (:func:`validation_data`).

    Returns
    -------
    float64 (n_epochs_trained,): the mean over up to ``CURVE_UNITS`` validation units.
    """
    return _curve(fit, _curve_units(validation_data(train, unit)), seed, params, metric, epochs, patience)


def _curve_units(d: EvalData) -> EvalData:
    """``d`` restricted to up to ``CURVE_UNITS`` of its units, evenly by index."""
    return replace(d, users=d.users[np.linspace(0, len(d.users) - 1, min(CURVE_UNITS, len(d.users))).astype(int)])


def validation_curve_kept(fit: Callable, train: TrainData, seed: int, params: dict, metric: str, epochs: int,
                          patience: int | None = None, unit: str = "users") -> tuple[np.ndarray, object]:
    """:func:`validation_curve` plus the inner model as it was after the curve's best epoch
    (:func:`best_epoch`), for ``refit="none"``.

    The scorer ``on_epoch`` receives is deep-copied whenever its epoch becomes the best so far, so the
    epochs the curve runs on (until ``patience`` ends) cannot change the kept model, whatever the arm
    hands over (the built-in arms build fresh arrays each epoch; a user's arm may hand over live
    state). This is the model a fit of exactly the best epoch's count would give, without fitting again.
    """
    return _curve(fit, _curve_units(validation_data(train, unit)), seed, params, metric, epochs, patience, keep=True)


def _curve(fit: Callable, d: EvalData, seed: int, params: dict, metric: str, epochs: int,
           patience: int | None, keep: bool = False):
    """The validation curve (float64 (n_epochs_trained,)); with ``keep``, (curve, the scorer after the
    curve's best epoch)."""
    curve: list[float] = []
    kept: list = [None]

    def on_epoch(epoch: int, scorer) -> None:
        curve.append(_mean_metric(scorer, d, metric))
        best = int(np.argmax(curve))  # the first best (NaN: as best_epoch would choose it)
        if keep and best == len(curve) - 1:
            kept[0] = copy.deepcopy(scorer)
        if patience is not None and len(curve) - 1 - best >= patience:
            raise StopTraining

    try:
        fit(d.train, seed, **params, epochs=int(epochs), on_epoch=on_epoch)
    except StopTraining:
        pass
    out = np.asarray(curve, dtype=np.float64)
    if not keep:
        return out
    if kept[0] is None:
        raise HarnessError("refit='none': the arm's fit never called on_epoch, so there is no inner model to keep; "
                           "use refit='full'")
    return out, kept[0]


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


def best_at_start(curve: np.ndarray, drop: float = DIP_SHARE) -> bool:
    """True when a curve of several epochs was best after its first epoch and then fell by more than
    ``drop`` of that value: with early stopping, a curve that dips before it rises (LightFM BPR on
    sparse positives does, for 10+ epochs) stops there. A curve that is flat from the first epoch
    (within ``drop``) converged early and is not flagged."""
    c = np.asarray(curve, dtype=np.float64)
    if len(c) < 2 or np.isnan(c).all() or best_epoch(np.nan_to_num(c, nan=-np.inf)) != 1:
        return False
    return bool(np.nanmin(c[1:]) < (1 - drop) * c[0])
