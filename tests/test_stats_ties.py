"""Float noise in per-user deltas: mathematically tied deltas rank as ties, noise around 0 is a zero."""
import math

import numpy as np
import pytest
from scipy import stats

from harness.stats import (
    effect_sizes,
    randomization_test,
    rank_biserial,
    seed_agreement,
    seed_level_test,
    sign_test,
    wilcoxon,
)
from harness.stats._validate import tie_round

A, B = 1 / math.log2(3), 1 / math.log2(4)  # DCG gains of a hit at rank 2 and at rank 3
IDCG = 1 + A  # two relevant items
X1 = (1 + A) / IDCG - (1 + B) / IDCG  # delta of NDCG values: hits at ranks 1,2 vs ranks 1,3
X2 = (A - B) / IDCG  # the same delta, computed another way
NOISE_ZERO = 0.1 + 0.2 - 0.3  # 5.6e-17, mathematically 0


def test_fixture_is_really_noisy():
    assert X1 != X2 and abs(X1 - X2) < 1e-16
    assert NOISE_ZERO != 0 and abs(NOISE_ZERO) < 1e-16


def _deltas() -> tuple[np.ndarray, np.ndarray]:
    """(noisy, exact): 24 user deltas, the noisy ones as float arithmetic yields them."""
    noisy = np.array([X1, X2, X1, -X2, X2, -X1, X1, NOISE_ZERO, 0.0, -NOISE_ZERO, X2, X1,
                      0.3, -0.05, 0.2, 0.3 - 0.1, 0.1 + 0.1, -X1, X2, X1, 0.4, -0.2, X2, 0.05])
    exact = np.array([X2, X2, X2, -X2, X2, -X2, X2, 0.0, 0.0, 0.0, X2, X2,
                      0.3, -0.05, 0.2, 0.2, 0.2, -X2, X2, X2, 0.4, -0.2, X2, 0.05])
    return noisy, exact


def test_tie_round_makes_ties_and_zeros_exact():
    r = tie_round(np.array([X1, X2, -X1, NOISE_ZERO, 0.3 - 0.1, 0.2]))
    assert r[0] == r[1] == -r[2] and r[3] == 0.0 and r[4] == r[5]
    np.testing.assert_allclose(r, [X2, X2, -X2, 0, 0.2, 0.2], rtol=1e-11, atol=0)
    assert np.array_equal(tie_round(np.zeros(3)), np.zeros(3))


@pytest.mark.parametrize("zero_method", ["pratt", "wilcox", "zsplit"])
def test_wilcoxon_noisy_ties_equal_exact_ties_and_scipy(zero_method):
    noisy, exact = _deltas()
    raw = stats.wilcoxon(noisy, zero_method=zero_method, method="asymptotic")
    ref = stats.wilcoxon(exact, zero_method=zero_method, method="asymptotic")
    assert raw.pvalue != pytest.approx(ref.pvalue, rel=1e-6)  # unrounded noise does move scipy's p
    ours, ours_exact = wilcoxon(noisy, zero_method=zero_method), wilcoxon(exact, zero_method=zero_method)
    assert ours.method.endswith("normal approx")
    assert ours.statistic == ours_exact.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.pvalue == ours_exact.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert ours.n_zero == ours_exact.n_zero == 3
    assert ours.min_attainable_p == ours_exact.min_attainable_p


def test_rank_biserial_noisy_ties_hand_computed():
    noisy = np.array([X1, X2, X2, -X1, NOISE_ZERO, 0.3, -0.05])
    # nonzero |d|: 0.05 -> 1; four ties X -> average rank 3.5; 0.3 -> 6.  R+ = 3*3.5 + 6, R- = 3.5 + 1
    assert rank_biserial(noisy) == pytest.approx((16.5 - 4.5) / 21, rel=1e-12)
    assert rank_biserial(noisy) == rank_biserial([X2, X2, X2, -X2, 0.0, 0.3, -0.05])
    base = np.array([(1 + B) / IDCG, 0.0, 0.0, (1 + A) / IDCG, 0.3, 0.0, 0.05])
    treat = np.array([(1 + A) / IDCG, X2, X2, (1 + B) / IDCG, 0.3 + NOISE_ZERO, 0.3, 0.0])
    assert effect_sizes(base, treat).rank_biserial == pytest.approx(4 / 7, rel=1e-12)


def test_sign_tests_count_noise_as_zero():
    noisy, exact = _deltas()
    a, b = sign_test(noisy), sign_test(exact)
    assert (a.statistic, a.pvalue, a.n_zero) == (b.statistic, b.pvalue, b.n_zero) and a.n_zero == 3
    s = seed_level_test([0.01, -0.02, NOISE_ZERO, 0.03, 0.02])
    assert s.n_zero == 1 and s.statistic == 3.0
    d = np.array([[NOISE_ZERO, NOISE_ZERO], [0.1, 0.1], [0.2, 0.2]])
    assert seed_agreement(d) == (2, 3)  # the ~0 seed has sign 0, not +


def test_randomization_counts_noise_as_zero():
    noisy, exact = _deltas()
    rng = np.random.default_rng
    a, b = randomization_test(noisy, rng=rng(1)), randomization_test(exact, rng=rng(1))
    assert a.n_zero == b.n_zero == 3 and a.pvalue == b.pvalue and a.min_attainable_p == b.min_attainable_p
