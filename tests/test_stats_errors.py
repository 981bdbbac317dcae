"""Bad input raises a one-line HarnessError that names the field and the fix."""
import numpy as np
import pytest

from harness.errors import HarnessError
from harness.stats import (
    adjust_pvalues,
    effect_sizes,
    false_positive_rate,
    hierarchical_bootstrap,
    mde,
    mde_from_se,
    paired_bootstrap,
    paired_t,
    randomization_test,
    relative_bootstrap,
    seed_user_interval,
    tost_paired,
    variance_components_interval,
    wilcoxon,
)

RNG = np.random.default_rng(0)
D = np.array([0.1, -0.2, 0.0, 0.3, 0.05])


@pytest.mark.parametrize("call,match", [
    (lambda: paired_bootstrap(D, method="bootstrap-t", rng=RNG),
     r"method must be one of 'percentile', 'bca'; got 'bootstrap-t'"),
    (lambda: paired_bootstrap(D, resampling="fast", rng=RNG), r"resampling must be one of 'auto', 'multinomial', 'index'"),
    (lambda: paired_bootstrap(D, confidence_level=95, rng=RNG), r"confidence_level must be in \(0, 1\), e.g. 0.95"),
    (lambda: paired_bootstrap(D, n_resamples=0, rng=RNG), r"n_resamples must be a positive integer, got 0"),
    (lambda: paired_bootstrap(D, rng=0), r"rng must be a numpy.random.Generator"),
    (lambda: paired_bootstrap(np.ones((2, 3)), rng=RNG), r"delta must be 1-D with shape \(n_users,\), got shape \(2, 3\)"),
    (lambda: paired_bootstrap([0.1, np.nan], rng=RNG), r"delta contains NaN or inf; drop or impute"),
    (lambda: paired_bootstrap([0.1], rng=RNG), r"delta needs at least 2 values, got 1"),
    (lambda: paired_bootstrap(["a", "b"], rng=RNG), r"delta must be numeric"),
    (lambda: relative_bootstrap([0.1, 0.2], [0.1, 0.2, 0.3], rng=RNG), r"base and treat must be paired per user"),
    (lambda: effect_sizes([0.1, 0.2], [0.1, 0.2, 0.3]), r"base and treat must be paired per user with equal length"),
    (lambda: hierarchical_bootstrap(D, rng=RNG), r"delta must be 2-D with shape \(n_seeds, n_users\)"),
    (lambda: seed_user_interval(np.ones((3, 1)), rng=RNG), r"delta needs >= 1 seed and >= 2 users"),
    (lambda: seed_user_interval(np.ones((3, 4)), rng=RNG, method="bayes"),
     r"method must be one of 'auto', 'variance_components', 'pigeonhole'"),
    (lambda: variance_components_interval(np.ones((1, 4))), r"variance components need >= 2 seeds, got 1"),
    (lambda: variance_components_interval(np.ones((2, 4)), quantile="z"),
     r"quantile must be one of 'fiducial', 'satterthwaite', 'seed_df'"),
    (lambda: wilcoxon(D, zero_method="drop"), r"zero_method must be one of 'pratt', 'wilcox', 'zsplit'; got 'drop'"),
    (lambda: paired_t(D, alternative="bigger"), r"alternative must be one of 'two-sided', 'less', 'greater'"),
    (lambda: randomization_test(D, rng=RNG, n_resamples=1.5), r"n_resamples must be a positive integer"),
    (lambda: tost_paired(D, -0.1), r"margin must be a positive number or a \(low, high\) pair with low < high"),
    (lambda: tost_paired(D, (0.1, 0.2, 0.3)), r"margin must be a positive number or a \(low, high\) pair"),
    (lambda: adjust_pvalues([0.1, 0.2], "sidak"), r"method must be one of 'holm', 'fdr_bh', 'bonferroni', 'none'"),
    (lambda: adjust_pvalues([0.1, 1.2]), r"pvalues must lie in \[0, 1\]"),
    (lambda: adjust_pvalues([[0.1]]), r"pvalues must be 1-D"),
    (lambda: mde(-1, 10), r"sd must be a finite number >= 0"),
    (lambda: mde(1, 0), r"n must be a positive integer"),
    (lambda: mde_from_se(0.1, power=1.0), r"power must be in \(0, 1\)"),
    (lambda: false_positive_rate([np.nan, np.nan]), r"no defined p-values to calibrate"),
    (lambda: false_positive_rate([0.1], alpha=5), r"alpha must be in \(0, 1\)"),
])
def test_error_messages(call, match):
    with pytest.raises(HarnessError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
