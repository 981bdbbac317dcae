"""The one shape every search on the validation window returns (grid or optuna), and its best trial.

Kept apart from :mod:`harness.runner.tuning.window` so the optuna sampler (:mod:`harness.runner.tuning.optuna_search`), which
:mod:`harness.runner.tuning.window` calls, depends on this module only: no import cycle.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tuned:
    """The result of a search on the validation window (grid or optuna: one shape).

    Attributes
    ----------
    params : the arm's parameters for the final fit (the best trial's point merged in).
    chosen : the best trial's point (only the searched parameters).
    trials : ``(point, validation score)`` per trial, in the order they ran.
    sampler : ``"grid"`` (exhaustive), ``"tpe"`` or ``"random"`` (optuna).
    per : ``"seed"`` (searched in every task with its seed) or ``"once"`` (seed 0's search, reused).
    metric : the validation metric (the hypothesis' primary metric).
    """

    params: dict
    chosen: dict
    trials: tuple[tuple[dict, float], ...]
    sampler: str = "grid"
    per: str = "seed"
    metric: str = ""

    @property
    def best_so_far(self) -> list[float]:
        """The tuning curve: the best validation score after each trial."""
        return [float(x) for x in np.fmax.accumulate([s for _, s in self.trials])]

    def to_dict(self) -> dict:
        """JSON form (cached with the task, summarised in summary.json)."""
        return {"sampler": self.sampler, "per": self.per, "metric": self.metric, "params": self.chosen,
                "trials": [{"params": p, "score": s} for p, s in self.trials], "best_so_far": self.best_so_far}


def best_trial(trials: list[tuple[dict, float]] | tuple) -> int:
    """Index of the trial with the highest score (ties, and NaN scores, go to the first / lose)."""
    keyed = [(-np.inf if np.isnan(s) else s, -i) for i, (_, s) in enumerate(trials)]
    return max(range(len(trials)), key=lambda i: keyed[i])
