"""Tuning on the validation window inside training, one path for every search: :mod:`.window` (the
validation objective, grid search, epoch curves), :mod:`.optuna_search` (optuna TPE/random search) and
:mod:`.trials` (the shared :class:`~harness.runner.tuning.trials.Tuned` result).
"""
