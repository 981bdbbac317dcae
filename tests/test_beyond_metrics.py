"""Beyond-accuracy metrics: every formula against a case computed by hand from its definition."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from harness.evaluation import beyond as B
from harness.evaluation import exposure as E
from harness.stats.over_seeds import seed_t_interval


def test_long_tail_cut_and_ties():
    # 5 items, head = ceil(0.2 * 5) = 1 item: only the most popular one
    assert B.long_tail(np.array([5, 3, 3, 1, 0])).tolist() == [False, True, True, True, True]
    # 10 items, head = 2; items 0,1,2 tie at the cut (popularity 3) -> all three in the head
    assert B.long_tail(np.array([3, 3, 3, 1, 1, 0, 0, 0, 0, 0])).tolist() == [False] * 3 + [True] * 7
    # never-seen items are long tail even when they tie at the cut
    assert B.long_tail(np.zeros(4, dtype=int)).all()


def test_aplt_hand_case():
    tail = np.array([False, True, True, True, True])
    out = B.aplt(np.array([[0, 1, 2], [3, -1, -1], [-1, -1, -1]]), tail)
    assert out[0] == pytest.approx(2 / 3) and out[1] == 1.0 and np.isnan(out[2])


def test_serendipity_hand_case():
    tail = np.array([False, True, True, True, True])
    topk = np.array([[0, 1, 2], [3, -1, -1]])
    hits = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
    # user 0: item 0 relevant but head, item 1 relevant and tail -> 1/3; user 1: item 3 -> 1/3 (k = 3 positions)
    assert B.serendipity(hits, topk, tail).tolist() == pytest.approx([1 / 3, 1 / 3])
    assert B.serendipity(np.zeros((2, 3), bool), topk, tail).tolist() == [0.0, 0.0]


def test_ild_hand_case_and_edges():
    v = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    out = B.ild(np.array([[0, 1, 2], [0, 1, -1], [0, -1, -1], [0, 3, -1]]), v)
    # pairs (0,1): 1 - 0; (0,2) and (1,2): 1 - 1/sqrt(2)
    assert out[0] == pytest.approx((1 + 2 * (1 - 1 / math.sqrt(2))) / 3, abs=1e-12)
    assert out[1] == pytest.approx(1.0)
    assert np.isnan(out[2])  # one item: no pair
    assert out[3] == pytest.approx(1.0)  # zero vector: cosine 0
    # scale-invariant (cosine), identical items -> 0
    assert B.ild(np.array([[0, 1]]), np.array([[2.0, 0], [5.0, 0]]))[0] == pytest.approx(0.0, abs=1e-12)


def test_calibration_hand_case():
    cats = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    history = [np.array([0, 2]), np.array([0, 2]), np.array([3]), np.array([0, 2])]
    topk = np.array([[1, -1], [0, 2], [0, 1], [3, -1]])
    out = B.calibration(topk, history, cats)
    p = np.array([0.75, 0.25])  # item 0 -> (1, 0), item 2 -> (.5, .5)
    qt = 0.99 * np.array([0.0, 1.0]) + 0.01 * p
    assert out[0] == pytest.approx(0.75 * math.log(0.75 / qt[0]) + 0.25 * math.log(0.25 / qt[1]), abs=1e-12)
    assert out[1] == pytest.approx(0.0, abs=1e-12)  # list mix == history mix
    assert np.isnan(out[2])  # history without a categorised item
    # an uncategorised list: q = 0, q~ = alpha p -> KL = log(1 / alpha)
    assert out[3] == pytest.approx(math.log(100), abs=1e-12)


def test_exposure_gini_entropy_hand_case():
    topk = np.array([[0, 1], [0, 2]])
    x = E.exposure(topk, 4)
    assert x.tolist() == [2, 1, 1, 0]
    # sorted (0, 1, 1, 2), weights 2i - n - 1 = (-3, -1, 1, 3): 6 / (4 * 4)
    assert E.gini(x) == pytest.approx(0.375)
    brute = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size ** 2 * x.mean())  # mean-difference form
    assert E.gini(x) == pytest.approx(brute)
    assert E.gini(np.ones(5)) == 0.0 and E.gini(np.array([0, 0, 0, 7.0])) == pytest.approx(3 / 4)
    assert E.entropy(x) == pytest.approx(1.5)  # p = (.5, .25, .25)
    assert E.entropy(x) == pytest.approx(stats.entropy(x, base=2))
    assert np.isnan(E.gini(np.zeros(3))) and np.isnan(E.entropy(np.zeros(3)))
    d = E.exposure(np.array([[0, 1], [0, -1]]), 3, discount=True)
    assert d.tolist() == pytest.approx([2.0, 1 / math.log2(3), 0.0])


def test_group_exposure_share_hand_case():
    topk = np.array([[0, 1], [0, 2]])
    share = E.group_exposure_share(topk, np.array([0, 0, 1, 1]), 2)
    w = 1 / math.log2(3)
    assert share.tolist() == pytest.approx([(2 + w) / (2 + 2 * w), w / (2 + 2 * w)])


def test_popularity_lift_hand_case():
    item_users = np.array([3, 2, 1, 0])
    history = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]))
    topk = np.array([[0, 1], [0, 2]])
    # GAP_r = mean(2.5, 2) = 2.25; GAP_p = mean(2.5, 1) = 1.75
    assert E.popularity_lift(topk, history, np.array([0, 1]), item_users) == pytest.approx(2.25 / 1.75 - 1)
    # the user without history (2) is left out of GAP_p but its list counts in GAP_r
    lift = E.popularity_lift(np.array([[0, 1], [0, 2], [3, 3]]), history, np.array([0, 1, 2]), item_users)
    assert lift == pytest.approx(((2.5 + 2 + 0) / 3) / 1.75 - 1)


@pytest.mark.parametrize("values", [[0.1, 0.3, 0.2], [1.0, 1.5], [0.4, 0.41, 0.39, 0.5, 0.45]])
def test_seed_t_interval_matches_scipy(values):
    r = seed_t_interval(values, 0.9)
    lo, hi = stats.t.interval(0.9, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert (r.ci.low, r.ci.high) == pytest.approx((lo, hi), abs=1e-12)
    assert r.df == len(values) - 1 and "seeds" in r.method
