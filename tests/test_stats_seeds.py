"""Seed x user intervals: hand-computed cases, ANOVA against statsmodels, limits, fallbacks."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.stats import (
    hierarchical_bootstrap,
    seed_agreement,
    seed_user_interval,
    user_t_interval,
    variance_components_interval,
)
from harness.stats.seeds import _mean_squares, _pigeonhole_means, _variance_components

# mu=10, seed effects a=(-1, 1), user effects b=(-2, 0, 2), interaction e with zero row/col sums
A, B = np.array([-1.0, 1.0]), np.array([-2.0, 0.0, 2.0])
E = np.array([[1.0, -2.0, 1.0], [-1.0, 2.0, -1.0]])
CONSTRUCTED = 10 + A[:, None] + B[None, :] + E


def test_pigeonhole_mean_hand_computed_2x3():
    d = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    w = np.array([[2, 0], [1, 1], [0, 2]])            # seeds drawn: (0, 0), (0, 1), (1, 1)
    u = np.array([[0, 1, 2], [3, 0, 0], [1, 1, 1]])   # users drawn: (1, 2, 2), (0, 0, 0), (0, 1, 2)
    # grids: rows [1,2,3] twice at cols (1,2,2) -> mean 8/3; column 0 of both seeds -> 2.5; all of seed 1 -> 5
    np.testing.assert_allclose(_pigeonhole_means(d, w, u), [8 / 3, 2.5, 5.0])
    rng = np.random.default_rng(0)
    si, ui = rng.integers(0, 2, 2), rng.integers(0, 3, 3)
    brute = d[si][:, ui].mean()
    assert _pigeonhole_means(d, np.bincount(si, minlength=2)[None], np.bincount(ui, minlength=3)[None])[0] == \
        pytest.approx(brute)


def _exact_pigeonhole_variance(d):
    """Var* of w @ d @ u / (k n) with w ~ Mult(k, 1/k), u ~ Mult(n, 1/n) independent."""
    k, n = d.shape
    ew = np.eye(k) + (1 - 1 / k) * np.ones((k, k))   # E[w w^T]
    eu = np.eye(n) + (1 - 1 / n) * np.ones((n, n))   # E[u u^T]
    return np.trace(ew @ d @ eu @ d.T) / (k * n) ** 2 - d.mean() ** 2


@pytest.mark.parametrize("discrete", [True, False])
def test_pigeonhole_bootstrap_variance_matches_theory(discrete):
    rng = np.random.default_rng(1)
    d = rng.normal(0, 1, (4, 60)) + rng.normal(0, 0.5, (4, 1))
    if discrete:
        d = np.round(rng.normal(0, 1, (4, 1)) + rng.choice([-1, 0, 1], 60))  # 3 distinct user columns
    r = hierarchical_bootstrap(d, n_resamples=40000, rng=np.random.default_rng(2))
    assert ("distinct columns" in r.method) == discrete
    assert r.standard_error**2 == pytest.approx(_exact_pigeonhole_variance(d), rel=0.03)
    assert r.estimate == pytest.approx(d.mean())


def test_mean_squares_hand_computed():
    ms_s, ms_u, ms_r = _mean_squares(CONSTRUCTED)
    # MS_seed = n sum(a^2)/(k-1) = 3*2/1; MS_user = k sum(b^2)/(n-1) = 2*8/2; MS_res = sum(e^2)/2 = 12/2
    assert (float(ms_s), float(ms_u), float(ms_r)) == pytest.approx((6.0, 8.0, 6.0))
    est, se, _, df = _variance_components(CONSTRUCTED, 0.95, "satterthwaite")
    assert float(est) == pytest.approx(10.0)
    assert float(se) == pytest.approx(np.sqrt((6 + (8 - 6)) / 6))  # (MS_s + MS_u - MS_r) / (k n)
    assert float(df) == 1.0  # Satterthwaite 64 / (36 + 32 + 18) < k - 1 = 1, clipped


def test_mean_squares_match_statsmodels_anova():
    smf = pytest.importorskip("statsmodels.formula.api")
    from statsmodels.stats.anova import anova_lm
    rng = np.random.default_rng(3)
    d = rng.normal(0, 1, (4, 25)) + rng.normal(0, 1, (4, 1)) + rng.normal(0, 1, (1, 25))
    df = pd.DataFrame({"y": d.ravel(), "seed": np.repeat(np.arange(4), 25), "user": np.tile(np.arange(25), 4)})
    table = anova_lm(smf.ols("y ~ C(seed) + C(user)", df).fit())
    np.testing.assert_allclose(_mean_squares(d), table["mean_sq"].to_numpy(), rtol=1e-10)


def test_vc_interval_limits_seed_only_is_t_and_user_only_is_normal():
    rng = np.random.default_rng(4)
    seed_only = rng.normal(0, 1, (5, 1)) + rng.normal(0, 1, (5, 200)) * 1e-9
    seed_only -= seed_only.mean(axis=0, keepdims=True) - 0.3  # no user main effect: C == 0
    r = variance_components_interval(seed_only)
    seed_means = seed_only.mean(axis=1)
    t_half = stats.t.ppf(0.975, 4) * seed_means.std(ddof=1) / np.sqrt(5)  # classic t over seed means
    assert r.ci.high - r.estimate == pytest.approx(t_half, rel=1e-5)
    assert r.df == pytest.approx(4, rel=1e-3)
    user_only = np.tile(rng.normal(0, 1, 300), (5, 1))  # identical seeds: MS_seed = MS_res = 0
    r = variance_components_interval(user_only, 0.9)
    z_half = stats.norm.ppf(0.95) * user_only[0].std(ddof=1) / np.sqrt(300)
    assert r.ci.high - r.estimate == pytest.approx(z_half, rel=1e-6)
    assert r.df == np.inf and r.n_resamples == 0


def test_vc_quantile_options_are_ordered():
    rng = np.random.default_rng(5)
    d = rng.normal(0, 1, (5, 100)) + rng.normal(0, 0.3, (5, 1))
    widths = {q: variance_components_interval(d, quantile=q).ci.width for q in ("satterthwaite", "fiducial", "seed_df")}
    assert widths["satterthwaite"] <= widths["fiducial"] <= widths["seed_df"]
    r = variance_components_interval(d, quantile="seed_df")
    se = np.sqrt(((_mean_squares(d)[0]) + max(_mean_squares(d)[1] - _mean_squares(d)[2], 0)) / 500)
    assert r.ci.width == pytest.approx(2 * stats.t.ppf(0.975, 4) * se)


def test_seed_user_interval_uses_variance_components_and_falls_back_with_one_seed():
    rng = np.random.default_rng(6)
    d = rng.normal(0.01, 0.1, (5, 200))
    r = seed_user_interval(d, rng=rng)
    assert r == variance_components_interval(d)
    assert "variance-components" in r.method and "fiducial" in r.method
    one = seed_user_interval(d[:1], rng=rng)
    ref = user_t_interval(d[0])
    assert (one.ci, one.estimate) == (ref.ci, ref.estimate)
    assert "1 seed" in one.method and "not estimable" in one.method
    p = seed_user_interval(d, rng=np.random.default_rng(0), method="pigeonhole", n_resamples=500)
    assert p.n_resamples == 500 and "pigeonhole" in p.method


def test_user_t_interval_matches_scipy():
    d = np.random.default_rng(7).normal(0.1, 1, 50)
    r = user_t_interval(d, 0.9)
    ref = stats.ttest_1samp(d, 0).confidence_interval(0.9)
    assert (r.ci.low, r.ci.high) == pytest.approx((ref.low, ref.high))


def test_seed_agreement():
    d = np.array([[0.1, 0.2], [0.3, -0.1], [-0.5, 0.1], [0.0, 0.0]])
    assert seed_agreement(d) == (2, 4)   # overall mean > 0; seeds 0 and 1 positive
    assert seed_agreement(-d) == (2, 4)
    assert seed_agreement(np.zeros((3, 4))) == (3, 3)


def test_degenerate_matrices():
    r = seed_user_interval(np.zeros((5, 10)), rng=np.random.default_rng(0))
    assert (r.ci.low, r.ci.high, r.standard_error, r.df) == (0.0, 0.0, 0.0, np.inf)
    seeds_only = np.arange(5.0)[:, None] + np.zeros((5, 10))  # pure seed effect: exact t_4 over seed means
    r = seed_user_interval(seeds_only, rng=np.random.default_rng(0))
    assert r.ci.high - 2.0 == pytest.approx(stats.t.ppf(0.975, 4) * np.std(np.arange(5.0), ddof=1) / np.sqrt(5),
                                            rel=1e-5)
