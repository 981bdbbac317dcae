"""Effect sizes, multiple-comparison adjustment, power, calibration: hand values and references."""
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

from harness.stats import (
    ConfidenceInterval,
    adjust_pvalues,
    effect_sizes,
    false_positive_rate,
    mde,
    mde_from_se,
    rank_biserial,
)


def test_effect_sizes_hand_computed():
    base = np.array([0.5, 0.2, 0.0, 0.4, 0.1])
    treat = np.array([0.7, 0.2, 0.3, 0.3, 0.1])  # d = (0.2, 0, 0.3, -0.1, 0)
    e = effect_sizes(base, treat)
    assert e.mean_delta == pytest.approx(0.08)
    assert e.relative_delta_pct == pytest.approx(100 * 0.08 / 0.24)
    assert e.cohens_dz == pytest.approx(0.08 / np.sqrt(0.108 / 4))
    assert e.rank_biserial == pytest.approx((2 + 3 - 1) / 6)  # |d| ranks 0.1->1, 0.2->2, 0.3->3


def test_rank_biserial_ties_and_extremes():
    assert rank_biserial([0.1, 0.1, -0.1, 0.0]) == pytest.approx((2 + 2 - 2) / 6)  # average ranks 2,2,2
    assert rank_biserial([0.2, 0.5]) == 1.0 and rank_biserial([-0.2, -0.5]) == -1.0
    assert np.isnan(rank_biserial([0.0, 0.0]))
    e = effect_sizes([0.0, 0.0], [0.1, 0.1])
    assert np.isnan(e.relative_delta_pct) and np.isnan(e.cohens_dz) and e.rank_biserial == 1.0


@pytest.mark.parametrize("method", ["holm", "fdr_bh", "bonferroni"])
def test_adjust_pvalues_matches_multipletests_and_passes_nan(method):
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.2, 0.001])
    ok = ~np.isnan(p)
    out = adjust_pvalues(p, method)
    np.testing.assert_allclose(out[ok], multipletests(p[ok], method=method)[1], rtol=1e-12)
    assert np.isnan(out[1])
    np.testing.assert_array_equal(adjust_pvalues(p, "none"), p)
    assert np.isnan(adjust_pvalues([np.nan, np.nan])).all()


def test_holm_hand_values():
    np.testing.assert_allclose(adjust_pvalues([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])


def test_mde_formula_and_statsmodels():
    assert mde(0.2, 400) == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * 0.01)
    assert mde(0.2, 400, two_sided=False) == pytest.approx((stats.norm.ppf(0.95) + stats.norm.ppf(0.8)) * 0.01)
    # statsmodels one-sample normal power (ratio=0) solves for the standardized effect
    es = NormalIndPower().solve_power(nobs1=400, alpha=0.05, power=0.8, ratio=0.0)
    assert mde(1.0, 400) == pytest.approx(es, rel=1e-4)
    assert mde_from_se(0.01) == pytest.approx(mde(0.2, 400))
    assert mde_from_se(0.01, df=4) == pytest.approx((stats.t.ppf(0.975, 4) + stats.t.ppf(0.8, 4)) * 0.01)


def test_false_positive_rate_clopper_pearson():
    p = np.r_[np.full(7, 0.01), np.full(93, 0.5), np.nan]
    rate, ci = false_positive_rate(p)
    ref = stats.binomtest(7, 100).proportion_ci(0.95, method="exact")
    assert rate == 0.07 and ci == ConfidenceInterval(pytest.approx(ref.low), pytest.approx(ref.high))
    assert (ci.low, ci.high) == pytest.approx((0.02860, 0.13892), abs=1e-4)  # textbook CP interval for 7/100
