"""The ``tune=`` arm option, validated when the hypothesis loads (no optuna import unless it is used).

``tune={"sampler": "tpe", "n_trials": 30, "per": "seed", "space": {...}}``; the search itself runs in
:mod:`harness.runner.tuning.optuna_search`.
"""
from __future__ import annotations

import math
from typing import Any

from harness.errors import HarnessError, suggest

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
