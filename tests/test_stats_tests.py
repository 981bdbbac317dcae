"""Paired tests against scipy / statsmodels on shared inputs, floors, undefined cases."""
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_paired

from harness.stats import paired_t, randomization_test, seed_level_test, sign_test, tost_paired, wilcoxon


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    base = rng.choice([0.0, 0.0, 0.2, 0.5, 1.0], 120)
    treat = base.copy()
    flip = rng.random(120) < 0.6
    treat[flip] = rng.choice([0.0, 0.2, 0.3, 0.5, 1.0], flip.sum())
    return base, treat, treat - base


@pytest.mark.parametrize("zero_method", ["pratt", "wilcox", "zsplit"])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_wilcoxon_equals_scipy(pair, zero_method, alternative):
    base, treat, d = pair
    ours = wilcoxon(d, zero_method=zero_method, alternative=alternative)
    ref = stats.wilcoxon(treat, base, zero_method=zero_method, alternative=alternative)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert ours.statistic == pytest.approx(ref.statistic)
    assert ours.n_zero == int(np.sum(d == 0)) and ours.zero_share == pytest.approx(np.mean(d == 0))
    assert ours.method == f"wilcoxon signed-rank, zero_method={zero_method}, normal approx"


def test_wilcoxon_exact_small_sample_and_floor():
    d = np.array([0.3, -0.1, 0.25, 0.7, 0.05, 0.9, -0.2, 0.4])  # no ties, no zeros -> exact
    ours = wilcoxon(d)
    assert ours.pvalue == pytest.approx(stats.wilcoxon(d).pvalue)
    assert ours.method.endswith("exact")
    assert ours.min_attainable_p == pytest.approx(2 / 2**8)
    assert wilcoxon(d, alternative="greater").min_attainable_p == pytest.approx(1 / 2**8)
    small = np.array([0.1, 0.0, 0.1, -0.3, 0.2])  # zeros and ties, n <= 13 -> enumerated permutation
    r = wilcoxon(small)
    assert r.pvalue == pytest.approx(stats.wilcoxon(small, zero_method="pratt").pvalue)
    assert "exact permutation" in r.method


def test_wilcoxon_floor_for_normal_approx(pair):
    d = pair[2]
    floor = wilcoxon(d).min_attainable_p
    assert floor == pytest.approx(stats.wilcoxon(np.abs(d), zero_method="pratt").pvalue)
    assert 0 < floor < 1e-6


def test_wilcoxon_all_zero_is_undefined():
    r = wilcoxon(np.zeros(30))
    assert not r.defined and np.isnan(r.pvalue) and r.zero_share == 1.0 and "all 30 deltas are zero" in r.method


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_paired_t_equals_ttest_rel(pair, alternative):
    base, treat, d = pair
    ours = paired_t(d, alternative=alternative)
    ref = stats.ttest_rel(treat, base, alternative=alternative)
    assert (ours.statistic, ours.pvalue) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    assert ours.min_attainable_p == 0.0 and ours.method == "paired t-test, df=119"
    assert not paired_t(np.full(5, 0.1)).defined


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_sign_test_equals_binomtest(pair, alternative):
    d = pair[2]
    pos, nz = int(np.sum(d > 0)), int(np.sum(d != 0))
    ours = sign_test(d, alternative=alternative)
    assert ours.pvalue == pytest.approx(stats.binomtest(pos, nz, 0.5, alternative=alternative).pvalue, rel=1e-12)
    assert ours.statistic == pos and ours.n_zero == d.size - nz
    assert not sign_test(np.zeros(4)).defined


def test_seed_level_test_floor():
    r = seed_level_test([0.01, 0.02, 0.005, 0.03, 0.01])
    assert r.pvalue == pytest.approx(0.0625) and r.min_attainable_p == pytest.approx(2 / 2**5)
    assert seed_level_test([0.01] * 5, alternative="greater").min_attainable_p == pytest.approx(1 / 32)
    assert seed_level_test([0.01, -0.02, 0.005]).pvalue == pytest.approx(stats.binomtest(2, 3).pvalue)


def _mean_stat(x, axis=-1):
    return np.mean(x, axis=axis)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_randomization_exact_equals_scipy_permutation_test(alternative):
    d = np.array([0.13, -0.05, 0.0, 0.4, 0.22, -0.31, 0.08, 0.0, 0.5, 0.17, -0.02, 0.26])
    ours = randomization_test(d, n_resamples=10000, rng=np.random.default_rng(0), alternative=alternative)
    ref = stats.permutation_test((d,), _mean_stat, permutation_type="samples", vectorized=True,
                                 alternative=alternative, n_resamples=10000)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert "exact enumeration of 2^10" in ours.method
    assert ours.min_attainable_p == pytest.approx((2 if alternative == "two-sided" else 1) / 2**10)


def test_randomization_monte_carlo_within_mc_error_of_scipy():
    rng = np.random.default_rng(1)
    d = rng.normal(0.2, 1, 80)  # continuous values: random sign bits; p ~ 0.18
    ours = randomization_test(d, n_resamples=40000, rng=np.random.default_rng(2))
    ref = stats.permutation_test((d,), _mean_stat, permutation_type="samples", vectorized=True,
                                 n_resamples=40000, rng=np.random.default_rng(3))
    p = ref.pvalue
    assert abs(ours.pvalue - p) < 4 * np.sqrt(2 * p * (1 - p) / 40000)
    assert 0.1 < p < 0.3 and "random sign bits" in ours.method
    discrete = np.round(d, 1)  # few distinct |d|: binomial engine, same distribution
    ours = randomization_test(discrete, n_resamples=40000, rng=np.random.default_rng(4))
    exact_t = stats.ttest_1samp(discrete, 0).pvalue  # sign-flip test ~ t-test at n = 80
    assert "binomial over" in ours.method and abs(ours.pvalue - exact_t) < 0.03


def test_randomization_pvalue_never_zero():
    d = np.full(40, 0.5) + np.linspace(0, 0.01, 40)
    r = randomization_test(d, n_resamples=999, rng=np.random.default_rng(0))
    assert r.pvalue == pytest.approx(1 / 1000) and r.min_attainable_p == pytest.approx(1 / 1000)
    assert not randomization_test(np.zeros(5), rng=np.random.default_rng(0)).defined


@pytest.mark.parametrize("margin", [0.05, (-0.02, 0.08)])
def test_tost_equals_statsmodels(pair, margin):
    base, treat, d = pair
    low, high = (-margin, margin) if np.isscalar(margin) else margin
    ref_p, lower, upper = ttost_paired(treat, base, low, high)
    ours = tost_paired(d, margin)
    assert ours.pvalue == pytest.approx(ref_p, rel=1e-10)
    binding = lower if lower[1] >= upper[1] else upper
    assert ours.statistic == pytest.approx(binding[0], rel=1e-10)
    assert "90% t interval" in ours.method
