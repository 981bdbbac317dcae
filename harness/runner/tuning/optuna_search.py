"""Optuna search on the validation window (optional extra ``[tune]``): the ``tune=`` arm parameter.

``Arm("als", "als", factors=64, tune={"sampler": "tpe", "n_trials": 30, "per": "seed", "space": {
"factors": [32, 64, 128], "regularization": ("log", 1e-4, 1e-1), "iterations": ("int", 5, 30)}})``

Space entries: a list is categorical; ``("int", lo, hi)`` an integer in [lo, hi]; ``("float", lo, hi)``
a uniform float; ``("log", lo, hi)`` a log-uniform float (lo > 0). Samplers: ``"tpe"``
(``TPESampler(seed=...)``) and ``"random"`` (``RandomSampler(seed=...)``), seeded from the task seed
(:func:`sampler_seed`) so a rerun proposes the same points. ``per="seed"`` (default) searches in every
task with its own seed; ``per="once"`` searches with seed 0 (model and sampler) in every task, so every
seed gets the same parameters. Each trial is scored by :func:`harness.runner.tuning.window.validation_objective`,
the same objective a ``grid`` is searched over; trials run sequentially inside the task.
"""
from __future__ import annotations

import hashlib
from typing import Callable

from harness.runner.tuning.trials import Tuned, best_trial
from harness.spec.tune import (DEFAULTS, INSTALL, PER, RANGE_KINDS, SAMPLERS, bounds_points, check,  # noqa: F401
                               require_optuna, resolved)


def sampler_seed(seed: int) -> int:
    """The sampler's seed for a task seed (a fixed hash: distinct from the model's own seed)."""
    return int.from_bytes(hashlib.sha256(f"harness-tune|{int(seed)}".encode()).digest()[:4], "little")


def fit_seed(tune: dict, seed: int) -> int:
    """The seed the trials are fitted (and the sampler seeded) with: the task's, or 0 for ``per="once"``."""
    return 0 if resolved(tune)["per"] == "once" else int(seed)


def _suggest(trial, space: dict) -> dict:
    point = {}
    for name, entry in space.items():
        if isinstance(entry, list):
            point[name] = trial.suggest_categorical(name, entry)
        elif entry[0] == "int":
            point[name] = trial.suggest_int(name, entry[1], entry[2])
        else:
            point[name] = trial.suggest_float(name, float(entry[1]), float(entry[2]), log=entry[0] == "log")
    return point


def optuna_search(objective: Callable[[dict], float], params: dict, tune: dict, seed: int,
                  metric: str = "") -> Tuned:
    """``n_trials`` points proposed by the seeded sampler, each scored by ``objective`` (maximised).

    Parameters
    ----------
    objective : point -> validation score (:func:`harness.runner.tuning.window.validation_objective`).
    params : the arm's other parameters (the best point is merged into them).
    tune : the arm's ``tune`` spec.
    seed : the task seed (``per="once"``: ignored, seed 0 is used).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t = resolved(tune)
    s = sampler_seed(fit_seed(tune, seed))
    sampler = (optuna.samplers.TPESampler(seed=s) if t["sampler"] == "tpe"
               else optuna.samplers.RandomSampler(seed=s))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    trials: list[tuple[dict, float]] = []

    def run(trial) -> float:
        point = _suggest(trial, t["space"])
        score = objective(point)
        trials.append((point, score))
        return score

    study.optimize(run, n_trials=int(t["n_trials"]), n_jobs=1, show_progress_bar=False)
    chosen = trials[best_trial(trials)][0]
    return Tuned({**params, **chosen}, chosen, tuple(trials), t["sampler"], t["per"], metric)
