"""Paired bootstrap: equality with scipy.stats.bootstrap on the same resamples, exact engines."""
import numpy as np
import pytest
from scipy import stats

from harness.stats import bootstrap_distribution, paired_bootstrap, relative_bootstrap
from harness.stats.bootstrap import _bootstrap_from_indices, _mean_acceleration

_V = np.array([-1.0, -0.63, -0.5, -0.39, -0.13, 0.13, 0.39, 0.5, 0.63, 1.0])
_P = np.array([3, 4, 6, 8, 10, 12, 9, 7, 5, 4], float) / 68
TRUE_MEAN = 0.5 * float(_V @ _P)  # mean of ndcg_like with zero_share 0.5


def ndcg_like(rng, n, zero_share=0.5):
    """Per-user NDCG-like deltas: ~zero_share exact zeros, the rest on a small grid (skewed)."""
    d = rng.choice(_V, size=n, p=_P)
    d[rng.random(n) < zero_share] = 0.0
    return d


@pytest.fixture(scope="module")
def skewed():
    rng = np.random.default_rng(11)
    return rng.exponential(1.0, 250) - 0.9  # skewed so BCa differs from percentile


@pytest.mark.parametrize("method,scipy_method", [("percentile", "percentile"), ("bca", "BCa")])
def test_equals_scipy_bootstrap_with_same_resamples(skewed, method, scipy_method):
    ours = paired_bootstrap(skewed, n_resamples=3000, method=method, rng=np.random.default_rng(5), batch=700,
                            resampling="index")
    ref = stats.bootstrap((skewed,), np.mean, n_resamples=3000, method=scipy_method, batch=700,
                          rng=np.random.default_rng(5), vectorized=True)
    assert ours.ci.low == pytest.approx(ref.confidence_interval.low, rel=1e-12)
    assert ours.ci.high == pytest.approx(ref.confidence_interval.high, rel=1e-12)
    assert ours.standard_error == pytest.approx(ref.standard_error, rel=1e-12)
    assert ours.estimate == pytest.approx(skewed.mean())
    assert ours.n_resamples == 3000 and ours.confidence_level == 0.95


def test_explicit_index_matrix_matches_scipy(skewed):
    n = skewed.shape[0]
    idx = np.random.default_rng(9).integers(0, n, (2000, n))  # scipy's draws for rng seed 9, one batch
    for method, scipy_method in [("percentile", "percentile"), ("bca", "BCa")]:
        ours = _bootstrap_from_indices(skewed, idx, confidence_level=0.9, method=method)
        ref = stats.bootstrap((skewed,), np.mean, n_resamples=2000, method=scipy_method, confidence_level=0.9,
                              rng=np.random.default_rng(9), vectorized=True)
        np.testing.assert_allclose([ours.ci.low, ours.ci.high], ref.confidence_interval, rtol=1e-12)


def test_bca_differs_from_percentile_on_skewed_data(skewed):
    p = paired_bootstrap(skewed, n_resamples=4000, rng=np.random.default_rng(1), resampling="index")
    b = paired_bootstrap(skewed, n_resamples=4000, method="bca", rng=np.random.default_rng(1), resampling="index")
    assert b.ci.low > p.ci.low and b.ci.high > p.ci.high  # right skew shifts BCa to the right
    assert "BCa bootstrap" in b.method and "percentile bootstrap" in p.method


def test_closed_form_acceleration_equals_jackknife(skewed):
    n = skewed.shape[0]
    loo = np.array([np.delete(skewed, i).mean() for i in range(n)])
    u = loo.mean() - loo
    brute = np.sum(u**3) / (6 * np.sum(u**2) ** 1.5)
    assert _mean_acceleration(skewed) == pytest.approx(brute, rel=1e-9)
    d = skewed - skewed.mean()
    assert _mean_acceleration(skewed) == pytest.approx(np.sum(d**3) / (6 * np.sum(d**2) ** 1.5), rel=1e-9)


@pytest.mark.parametrize("method,scipy_method", [("percentile", "percentile"), ("bca", "BCa")])
def test_relative_bootstrap_equals_scipy_paired(method, scipy_method):
    rng = np.random.default_rng(3)
    base = rng.uniform(0.1, 0.6, 200)
    treat = base + rng.normal(0.02, 0.1, 200)

    def rel(b, t, axis=-1):
        return 100 * (t.mean(axis=axis) - b.mean(axis=axis)) / b.mean(axis=axis)

    ours = relative_bootstrap(base, treat, n_resamples=2000, rng=np.random.default_rng(4), method=method,
                              batch=500, resampling="index")
    ref = stats.bootstrap((base, treat), rel, paired=True, n_resamples=2000, method=scipy_method, batch=500,
                          rng=np.random.default_rng(4), vectorized=True)
    np.testing.assert_allclose([ours.ci.low, ours.ci.high], ref.confidence_interval, rtol=1e-10)
    assert ours.estimate == pytest.approx(100 * (treat.mean() - base.mean()) / base.mean())
    assert "relative change" in ours.method


def test_multinomial_engine_is_distributionally_equal_to_index():
    d = ndcg_like(np.random.default_rng(0), 2000)
    a = bootstrap_distribution(d, n_resamples=40000, rng=np.random.default_rng(1), resampling="multinomial")
    b = bootstrap_distribution(d, n_resamples=40000, rng=np.random.default_rng(2), resampling="index")
    se = d.std() / np.sqrt(d.shape[0])
    assert a.mean() == pytest.approx(d.mean(), abs=0.02 * se)
    assert a.std() == pytest.approx(se, rel=0.02) and b.std() == pytest.approx(se, rel=0.02)
    qs = [0.01, 0.025, 0.1, 0.5, 0.9, 0.975, 0.99]
    np.testing.assert_allclose(np.quantile(a, qs), np.quantile(b, qs), atol=0.05 * se)
    assert stats.ks_2samp(a, b).pvalue > 1e-3


def test_auto_engine_choice_and_method_text():
    d = ndcg_like(np.random.default_rng(0), 5000)
    r = paired_bootstrap(d, n_resamples=500, rng=np.random.default_rng(0))
    k = np.unique(d).shape[0]
    assert r.method == f"percentile bootstrap, multinomial over {k} distinct values"
    c = np.random.default_rng(0).normal(size=300)
    assert paired_bootstrap(c, n_resamples=500, rng=np.random.default_rng(0)).method == \
        "percentile bootstrap, index resampling of 300 users"


def test_multinomial_interval_matches_scipy_within_mc_error():
    d = ndcg_like(np.random.default_rng(7), 3000)
    ours = paired_bootstrap(d, n_resamples=20000, method="bca", rng=np.random.default_rng(8))
    ref = stats.bootstrap((d,), np.mean, n_resamples=20000, method="BCa", batch=500,
                          rng=np.random.default_rng(9), vectorized=True)
    se = ref.standard_error  # MC sd of each bound here is ~0.02-0.03 se; allow ~3 sd of the difference
    assert abs(ours.ci.low - ref.confidence_interval.low) < 0.1 * se
    assert abs(ours.ci.high - ref.confidence_interval.high) < 0.1 * se


def test_same_seed_same_result_and_batch_invariance():
    d = ndcg_like(np.random.default_rng(0), 1000)
    a = paired_bootstrap(d, n_resamples=999, rng=np.random.default_rng(1), batch=100)
    b = paired_bootstrap(d, n_resamples=999, rng=np.random.default_rng(1), batch=100)
    assert a == b


def test_relative_bootstrap_undefined_when_base_mean_is_zero():
    r = relative_bootstrap([0.0, 0.0, 0.0], [0.1, 0.0, 0.2], rng=np.random.default_rng(0))
    assert np.isnan(r.estimate) and np.isnan(r.ci.low) and "mean(base) is 0" in r.method


def test_relative_bootstrap_with_zero_baseline_resamples_hand_cases():
    """Resamples whose baseline mean is 0 (small segments with mostly-zero baselines, as H6's niche
    items): no RuntimeWarning, +inf where the treatment mean is positive, 0/0 dropped."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # n = 2: resamples {0,0} -> +200 % (1/4), {0,1} -> +300 % (1/2), {1,1} -> base mean 0 -> +inf (1/4)
        r = relative_bootstrap([1.0, 0.0], [3.0, 1.0], rng=np.random.default_rng(0))
        assert (r.estimate, r.ci.low, r.ci.high, r.standard_error) == (300.0, 200.0, np.inf, np.inf)
        assert "count as +-inf" in r.method and r.n_resamples == 2000
        # relative change +100 % in every resample where it is defined; resamples of zeros only are 0/0
        r = relative_bootstrap([0, 0, 0, 1.0], [0, 0, 0, 2.0], rng=np.random.default_rng(0), method="bca")
        assert (r.estimate, r.ci.low, r.ci.high, r.standard_error) == (100.0, 100.0, 100.0, 0.0)
        assert 400 < 2000 - r.n_resamples < 870 and "dropped" in r.method  # 2000 (3/4)^4 = 633 dropped


def test_relative_bootstrap_with_rare_zero_baseline_resamples_equals_a_hand_computation():
    """About 1 % of resamples have a zero baseline mean (some 0/0, some +inf): the interval is the
    percentile interval of the defined resamples, +inf ranked on top; the bounds stay finite."""
    import warnings

    base = np.r_[np.zeros(16), [0.5, 1.0, 0.25, 0.75]]
    treat = np.r_[[0.2, 0.1], np.zeros(14), [0.25, 1.0, 0.5, 0.5]]
    n_res, seed = 4000, 3
    idx = np.random.default_rng(seed).integers(0, 20, (n_res, 20))  # the index engine's draws
    mb, mt = base[idx].mean(axis=1), treat[idx].mean(axis=1)
    keep = (mb != 0) | (mt != 0)
    theta = np.where(mb[keep] == 0, 1e300, 100 * (mt[keep] - mb[keep]) / np.where(mb[keep] == 0, 1, mb[keep]))
    assert (mb == 0).sum() > (~keep).sum() > 0 and (theta == 1e300).mean() < 0.02  # both kinds present
    want = np.quantile(theta, [0.025, 0.975])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = relative_bootstrap(base, treat, n_resamples=n_res, rng=np.random.default_rng(seed), resampling="index")
    assert (r.ci.low, r.ci.high) == pytest.approx(tuple(want), abs=1e-9)
    assert r.estimate == pytest.approx(100 * (treat.mean() - base.mean()) / base.mean())
    assert r.n_resamples == keep.sum() and r.standard_error == np.inf


def test_constant_deltas_give_degenerate_interval():
    r = paired_bootstrap(np.full(10, 0.25), rng=np.random.default_rng(0))
    assert (r.ci.low, r.ci.high, r.standard_error, r.n_resamples) == (0.25, 0.25, 0.0, 0)


def test_coverage_of_the_mean_interval_iid():
    """Percentile interval of an i.i.d. mean covers at ~95 % (400 datasets, n=200)."""
    rng = np.random.default_rng(21)
    hits = 0
    for _ in range(400):
        d = ndcg_like(rng, 200)
        r = paired_bootstrap(d, n_resamples=1000, rng=rng)
        hits += r.ci.low <= TRUE_MEAN <= r.ci.high
    assert 0.92 <= hits / 400 <= 0.975

