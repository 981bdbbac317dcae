"""Optuna search on the validation window (optional extra ``[tune]``): the ``tune=`` arm parameter.

``Arm("als", "als", factors=64, tune={"sampler": "tpe", "n_trials": 30, "per": "seed", "space": {
"factors": [32, 64, 128], "regularization": ("log", 1e-4, 1e-1), "iterations": ("int", 5, 30)}})``

Space entries: a list is categorical; ``("int", lo, hi)`` an integer in [lo, hi]; ``("float", lo, hi)``
a uniform float; ``("log", lo, hi)`` a log-uniform float (lo > 0). Samplers: ``"tpe"``
(``TPESampler(seed=...)``) and ``"random"`` (``RandomSampler(seed=...)``), seeded from the task seed
(:func:`sampler_seed`) so a rerun proposes the same points. ``per="seed"`` (default) searches in every
task with its own seed; ``per="once"`` searches with seed 0 (model and sampler) in every task, so every
seed gets the same parameters. Each trial is scored by :func:`harness.tuning.validation_objective`,
the same objective a ``grid`` is searched over; trials run sequentially inside the task.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any, Callable

from harness.errors import HarnessError, suggest
from harness.trials import Tuned, best_trial

#: Keys of a ``tune`` spec, and their defaults (``space`` is required).
DEFAULTS = {"sampler": "tpe", "n_trials": 30, "per": "seed", "space": None}
SAMPLERS = ("tpe", "random")
PER = ("seed", "once")
RANGE_KINDS = ("int", "float", "log")
INSTALL = 'pip install -e ".[tune]"'


def require_optuna() -> None:
    """Raise a one-line error when optuna is not installed."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise HarnessError(f"tune= needs optuna, which is not installed; run: {INSTALL} "
                           "(or pip install 'optuna>=3.4')") from None


def resolved(tune: dict) -> dict:
    """``tune`` with its defaults filled in."""
    return {**DEFAULTS, **tune}


def check(tune: Any, arm: str) -> dict:
    """Validate a ``tune`` spec (keys, sampler, n_trials, per, space entries); returns the space.

    Raises a one-line :class:`HarnessError` naming ``arm`` and the field. Parameter names and value
    types are checked against the arm by the caller (:func:`harness.arms.registry.check_params`).
    """
    where = f"Arm {arm!r}: tune"
    if not isinstance(tune, dict):
        raise HarnessError(f"{where} must be a dict, e.g. tune={{'space': {{'factors': [32, 64]}}, 'n_trials': 20}}")
    for key in tune:
        if key not in DEFAULTS:
            raise HarnessError(f"{where}: " + suggest(str(key), list(DEFAULTS), "key"))
    t = resolved(tune)
    if t["sampler"] not in SAMPLERS:
        raise HarnessError(f"{where}['sampler']={t['sampler']!r}; use one of {', '.join(SAMPLERS)}")
    n = t["n_trials"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise HarnessError(f"{where}['n_trials']={n!r} must be an integer >= 1")
    if t["per"] not in PER:
        raise HarnessError(f"{where}['per']={t['per']!r}; use 'seed' (search in every seed) or 'once' "
                           "(search with seed 0, reuse for every seed)")
    space = t["space"]
    if not isinstance(space, dict) or not space:
        raise HarnessError(f"{where}['space'] must be a non-empty dict of parameter -> [choices] or "
                           "('int'|'float'|'log', low, high), e.g. {'factors': [32, 64], 'regularization': "
                           "('log', 1e-4, 0.1)}")
    for name, entry in space.items():
        _check_entry(f"{where}['space'][{name!r}]", entry)
    return space


def _check_entry(where: str, entry: Any) -> None:
    if isinstance(entry, list):
        if not entry:
            raise HarnessError(f"{where} is an empty list; give the choices, e.g. [32, 64]")
        for v in entry:
            if v is not None and not isinstance(v, (bool, int, float, str)):
                raise HarnessError(f"{where}: choice {v!r} is a {type(v).__name__}; choices must be numbers, "
                                   "strings, booleans or None")
        return
    ok = isinstance(entry, tuple) and len(entry) == 3 and entry[0] in RANGE_KINDS
    if ok:
        kind, lo, hi = entry
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in (lo, hi))
        if kind == "int":
            numbers = numbers and all(isinstance(x, int) for x in (lo, hi))
        ok = numbers and lo < hi and (kind != "log" or lo > 0)
    if not ok:
        raise HarnessError(f"{where}={entry!r}: write a list of choices or ('int', lo, hi) with integers, "
                           "('float', lo, hi) or ('log', lo, hi) with lo < hi (lo > 0 for 'log')")


def bounds_points(space: dict) -> list[dict]:
    """Single-parameter points covering each entry's choices and bounds (for type/range checks)."""
    out = []
    for name, entry in space.items():
        if isinstance(entry, list):
            out += [{name: v} for v in entry]
        else:
            kind, lo, hi = entry
            cast = int if kind == "int" else float
            out += [{name: cast(lo)}, {name: cast(hi)}]
    return out


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
    objective : point -> validation score (:func:`harness.tuning.validation_objective`).
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
