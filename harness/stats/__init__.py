"""Paired per-user statistics: intervals, tests, effect sizes, corrections, power, calibration.

Everything here is pure: no printing, no environment, randomness only through an explicit
``rng: numpy.random.Generator``. Functions return p-values and intervals, never decisions (alpha
and margins live in :mod:`harness.decision.verdict`). Bad input raises :class:`harness.errors.HarnessError`.

Modules: :mod:`.bootstrap` (paired percentile/BCa bootstrap, exact multinomial engine),
:mod:`.seeds` (seed x user intervals), :mod:`.paired_tests` (Wilcoxon, t, sign, TOST, seed-level),
:mod:`.randomization`, :mod:`.effects`, :mod:`.multiple`, :mod:`.power`, :mod:`.calibration`,
:mod:`.disparity` (the seed x user interval of a difference between two user groups' deltas),
:mod:`.folds` (the interval of the mean delta over rolling-origin folds, a random effect of the test window).

May import: :mod:`harness.errors` only (a leaf, below every other stage).
"""
from harness.stats._results import ConfidenceInterval, EffectSizes, FoldResult, IntervalResult, TestResult
from harness.stats.bootstrap import bootstrap_distribution, paired_bootstrap, relative_bootstrap
from harness.stats.calibration import false_positive_rate
from harness.stats.effects import effect_sizes, rank_biserial
from harness.stats.folds import fold_interval
from harness.stats.multiple import ADJUST_METHODS, adjust_pvalues
from harness.stats.paired_tests import paired_t, seed_level_test, sign_test, tost_paired, wilcoxon
from harness.stats.power import mde, mde_from_se
from harness.stats.randomization import randomization_test
from harness.stats.seeds import (
                                 hierarchical_bootstrap,
                                 seed_agreement,
                                 seed_user_interval,
                                 user_t_interval,
                                 variance_components_interval,
)

__all__ = [
    "ADJUST_METHODS", "ConfidenceInterval", "EffectSizes", "FoldResult", "IntervalResult", "TestResult",
    "adjust_pvalues", "bootstrap_distribution", "effect_sizes", "false_positive_rate", "fold_interval", "hierarchical_bootstrap",
    "mde", "mde_from_se", "paired_bootstrap", "paired_t", "randomization_test", "rank_biserial",
    "relative_bootstrap", "seed_agreement", "seed_level_test", "seed_user_interval", "sign_test", "tost_paired",
    "user_t_interval", "variance_components_interval", "wilcoxon",
]
