"""Result containers returned by :mod:`harness.stats`: small frozen dataclasses, no decisions."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided confidence interval.

    Attributes
    ----------
    low : lower bound (same unit as the estimate).
    high : upper bound.
    """

    low: float
    high: float

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low


@dataclass(frozen=True)
class IntervalResult:
    """An interval estimate of one scalar (mean delta, relative delta in %, ...).

    Attributes
    ----------
    estimate : the point estimate computed on the observed data.
    ci : the confidence interval.
    standard_error : standard error of the estimate (bootstrap SD, or analytic).
    method : human-readable description of how the interval was computed, shown in reports,
        e.g. ``"percentile bootstrap, multinomial over 37 distinct values"``.
    confidence_level : nominal coverage, e.g. 0.95.
    n_resamples : number of bootstrap resamples; 0 when the interval is analytic.
    df : degrees of freedom of the t quantile for analytic t intervals; ``inf`` otherwise.
    """

    estimate: float
    ci: ConfidenceInterval
    standard_error: float
    method: str
    confidence_level: float
    n_resamples: int
    df: float = float("inf")


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test on paired deltas. Holds a p-value, never a decision.

    Attributes
    ----------
    name : short test name, e.g. ``"wilcoxon"``, ``"paired_t"``.
    statistic : the test statistic (meaning depends on the test; see ``method``).
    pvalue : p-value; ``nan`` when ``defined`` is False.
    n : number of observations the test saw (users, or seeds for seed-level tests).
    method : text shown in reports, e.g.
        ``"wilcoxon signed-rank, zero_method=pratt, normal approx"``; says why when undefined.
    min_attainable_p : smallest p-value this test can produce for these data (its floor); a test
        whose floor exceeds alpha cannot reject, whatever the effect.
    n_zero : number of exactly-zero deltas.
    zero_share : ``n_zero / n``.
    defined : False when the test is undefined for these data (e.g. all deltas zero).
    """

    __test__ = False  # not a pytest test class

    name: str
    statistic: float
    pvalue: float
    n: int
    method: str
    min_attainable_p: float
    n_zero: int = 0
    zero_share: float = 0.0
    defined: bool = True


@dataclass(frozen=True)
class EffectSizes:
    """Paired effect sizes of treatment versus baseline.

    Attributes
    ----------
    mean_delta : ``mean(treat - base)`` (metric units).
    relative_delta_pct : ``100 * mean_delta / mean(base)``; ``nan`` when ``mean(base) == 0``.
    cohens_dz : ``mean(d) / sd(d, ddof=1)``; ``nan`` when the SD is 0 or n < 2.
    rank_biserial : matched-pairs rank-biserial correlation (Kerby 2014) in [-1, 1]:
        ``(R+ - R-) / (R+ + R-)`` over the ranks of the nonzero ``|d|``; ``nan`` if all d are 0.
    """

    mean_delta: float
    relative_delta_pct: float
    cohens_dz: float
    rank_biserial: float


@dataclass(frozen=True)
class FoldResult(IntervalResult):
    """An :class:`IntervalResult` of the mean delta over F rolling-origin folds, plus the per-fold parts.

    Attributes
    ----------
    (estimate, ci, standard_error, method, confidence_level, n_resamples, df) : the combined interval; ``df``
        is F - 1 for t intervals. With one fold, exactly that fold's seed x user interval.
    tau : fold-to-fold (test-window) SD, ``sqrt(tau2)``; nan with one fold.
    tau2 : the between-fold variance estimate (DerSimonian-Laird or Paule-Mandel, >= 0).
    seed_sd : seed SD pooled over folds, ``sqrt(mean_f max((MS_seed - MS_res) / n_f, 0))``; nan with one seed.
    fold_means : per-fold grand mean delta, in fold order.
    fold_standard_errors : per-fold seed x user SE (user-only with one seed).
    weights : relative weights of the folds in the combined estimate (sum to 1).
    folds : per-fold intervals (:func:`harness.stats.seeds.seed_user_interval`), in fold order.
    agreement_p : ``P(chi2_{F-1} <= Q)``, Q = Cochran's ``sum_f (y_f - m)^2 / v_f`` with the per-fold variances
        the combination used (fixed-effect mean m): small when the fold means agree more closely than their
        own SEs imply, which narrows a Hartung-Knapp interval below every fold's; nan with one fold.
    """

    tau: float = float("nan")
    tau2: float = float("nan")
    seed_sd: float = float("nan")
    fold_means: tuple[float, ...] = ()
    fold_standard_errors: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    folds: tuple[IntervalResult, ...] = ()
    agreement_p: float = float("nan")

    def holds_in(self, predicate: Callable[[IntervalResult], bool]) -> tuple[int, int]:
        """``(folds whose interval satisfies predicate, F)``, e.g. ``holds_in(lambda r: r.ci.low > 0)``."""
        return sum(bool(predicate(r)) for r in self.folds), len(self.folds)
