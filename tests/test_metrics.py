"""harness.evaluation.metrics: hand-computed cases, a plain per-user reference on random data, catalogue metrics."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from harness.evaluation import metrics as M
from harness.evaluation.users import hit_matrix

# hit matrix at k = 5 (rank 1 first) and the number of relevant items per user
HITS = np.array([
    [1, 0, 1, 0, 0],  # A: hits at ranks 1 and 3, 3 relevant
    [0, 0, 0, 1, 0],  # B: hit at rank 4, 1 relevant
    [0, 0, 0, 0, 0],  # C: no hit, 2 relevant
    [1, 1, 1, 1, 1],  # D: all hits, 10 relevant (ideal capped at k = 5)
    [0, 1, 0, 0, 0],  # E: hit at rank 2, 6 relevant
], dtype=bool)
N_REL = np.array([3, 1, 2, 10, 6])

# Expected values, worked out by hand (log2(3) = 1.5849625, log2(5) = 2.3219281, log2(6) = 2.5849625):
EXPECTED_AT_5 = {
    # A: (1 + 1/log2 4) / (1 + 1/log2 3 + 1/log2 4) = 1.5 / 2.1309298
    # B: (1/log2 5) / 1;  D: ideal = DCG of 5 hits;  E: (1/log2 3) / (1 + 1/log2 3 + 1/2 + 1/log2 5 + 1/log2 6)
    "ndcg": [0.7039180890341347, 0.43067655807339306, 0.0, 1.0, 0.21398626473452756],
    "recall": [2 / 3, 1.0, 0.0, 0.5, 1 / 6],
    "precision": [0.4, 0.2, 0.0, 1.0, 0.2],
    # A: (1/1 + 2/3) / min(3, 5);  B: (1/4) / 1;  D: 5 / 5;  E: (1/2) / min(6, 5)
    "map": [0.5555555555555556, 0.25, 0.0, 1.0, 0.1],
    # as map but / |relevant| (trec_eval, ranx): D: 5 / 10;  E: (1/2) / 6
    "map_trec": [0.5555555555555556, 0.25, 0.0, 0.5, 1 / 12],
    "mrr": [1.0, 0.25, 0.0, 1.0, 0.5],
    "hitrate": [1.0, 1.0, 0.0, 1.0, 1.0],
}

# The same users at k = 2 (first two columns): A = [1, 0], B = [0, 0], C = [0, 0], D = [1, 1], E = [0, 1]
EXPECTED_AT_2 = {
    # A: 1 / (1 + 1/log2 3) with ideal min(3, 2) = 2;  E: (1/log2 3) / (1 + 1/log2 3)
    "ndcg": [0.6131471927654584, 0.0, 0.0, 1.0, 0.38685280723454163],
    "recall": [1 / 3, 0.0, 0.0, 0.2, 1 / 6],
    "precision": [0.5, 0.0, 0.0, 1.0, 0.5],
    "map": [0.5, 0.0, 0.0, 1.0, 0.25],  # E: (1/2) / min(6, 2)
    "map_trec": [1 / 3, 0.0, 0.0, 0.2, 1 / 12],  # A: 1 / 3;  D: (1 + 1) / 10;  E: (1/2) / 6
    "mrr": [1.0, 0.0, 0.0, 1.0, 0.5],
    "hitrate": [1.0, 0.0, 0.0, 1.0, 1.0],
}


@pytest.mark.parametrize("name", sorted(M.PER_USER))
def test_hand_cases_at_5(name):
    np.testing.assert_allclose(M.compute(name, 5, HITS, N_REL), EXPECTED_AT_5[name], rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", sorted(M.PER_USER))
def test_hand_cases_at_2_use_the_first_two_ranks(name):
    np.testing.assert_allclose(M.compute(name, 2, HITS, N_REL), EXPECTED_AT_2[name], rtol=0, atol=1e-15)


def test_map_and_map_trec_differ_only_when_relevant_exceeds_k():
    """4 relevant items, k = 3, hits at ranks 1 and 3: AP sum = 1/1 + 2/3 = 5/3.
    map@3 = (5/3) / min(4, 3) = 5/9; map_trec@3 (trec_eval / ranx) = (5/3) / 4 = 5/12.
    With 2 relevant items both are (5/3) / 2 = 5/6."""
    hits = np.array([[1, 0, 1], [1, 0, 1]], dtype=bool)
    n_rel = np.array([4, 2])
    np.testing.assert_allclose(M.compute("map", 3, hits, n_rel), [5 / 9, 5 / 6], rtol=0, atol=1e-15)
    np.testing.assert_allclose(M.compute("map_trec", 3, hits, n_rel), [5 / 12, 5 / 6], rtol=0, atol=1e-15)


def test_map_trec_is_a_metric_name():
    from harness.errors import HarnessError
    from harness.evaluation.beyond import LIST_METRICS
    from harness.spec import METRICS, parse_metric

    assert "map_trec" in METRICS and set(METRICS) == set(M.PER_USER) | set(M.POPULARITY) | set(LIST_METRICS) == set(M.DEFINITIONS)
    assert parse_metric("map_trec@10") == ("map_trec", 10) and parse_metric("MAP@5") == ("map", 5)
    with pytest.raises(HarnessError, match="Did you mean: map_trec"):
        parse_metric("map_tre@10")
    with pytest.raises(HarnessError, match="bad metric '_map@10'"):
        parse_metric("_map@10")


def test_ndcg_ideal_is_min_relevant_k():
    # one hit at rank 1: NDCG = 1 exactly when there is one relevant item, below 1 with two
    hits = np.array([[1, 0, 0], [1, 0, 0], [1, 1, 1]], dtype=bool)
    got = M.ndcg(hits.astype(float), np.array([1, 2, 50]))
    np.testing.assert_allclose(got, [1.0, 1 / (1 + 1 / math.log2(3)), 1.0], rtol=0, atol=1e-15)


# ---- plain per-user references (definitions written out, one user at a time) --------------------

def ref_metrics(ranked: list[int], rel: set[int], k: int) -> dict[str, float]:
    top = ranked[:k]
    hit = [1 if it in rel else 0 for it in top]
    dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hit))
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(rel), k)))
    n_hits = sum(hit)
    ap, seen_hits = 0.0, 0
    for i, h in enumerate(hit):
        if h:
            seen_hits += 1
            ap += seen_hits / (i + 1)
    first = next((i for i, h in enumerate(hit) if h), None)
    return {
        "ndcg": dcg / idcg,
        "recall": n_hits / len(rel),
        "precision": n_hits / k,
        "map": ap / min(len(rel), k),
        "map_trec": ap / len(rel),
        "mrr": 0.0 if first is None else 1.0 / (first + 1),
        "hitrate": float(n_hits > 0),
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_random_data_matches_per_user_reference(seed):
    rng = np.random.default_rng(seed)
    n_users, n_items, kmax = 300, 40, 20
    ranked = np.array([rng.permutation(n_items)[:kmax] for _ in range(n_users)])
    n_rel = rng.integers(1, 25, n_users)
    rel_sets = [set(rng.choice(n_items, size=r, replace=False).tolist()) for r in n_rel]
    rows = np.repeat(np.arange(n_users), n_rel)
    cols = np.concatenate([sorted(s) for s in rel_sets])
    relevant = sp.csr_matrix((np.ones(len(cols), bool), (rows, cols)), shape=(n_users, n_items))
    users = np.arange(n_users)
    hits = hit_matrix(ranked, relevant, users)
    for k in (1, 3, 10, 20):
        ref = [ref_metrics(ranked[u].tolist(), rel_sets[u], k) for u in users]
        for name in M.PER_USER:
            got = M.compute(name, k, hits, n_rel)
            assert got.dtype == np.float64
            np.testing.assert_allclose(got, [r[name] for r in ref], rtol=1e-13, atol=1e-15,
                                       err_msg=f"{name}@{k}")


def test_hit_matrix_on_unsorted_users_and_empty_rows():
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=bool))
    top = np.array([[3, 0], [1, 2], [0, 1]])
    got = hit_matrix(top, relevant, np.array([2, 1, 0]))
    # user 2 has item 0 relevant; user 1 has none; user 0 has items 1 and 3
    np.testing.assert_array_equal(got, [[False, True], [False, False], [False, True]])


# ---- catalogue metrics ---------------------------------------------------------------------------

def test_coverage():
    assert M.coverage(np.array([[0, 1], [1, 2]]), n_items=10) == 0.3  # items {0, 1, 2} of 10
    assert M.coverage(np.array([[4, 3]]), n_items=5) == 0.4


def test_novelty():
    item_users = np.array([50, 10, 0, 100])  # training users per item, of 100 users
    got = M.novelty(np.array([[0, 1], [1, 2], [3, 3]]), item_users, n_users=100)
    # [0, 1]: (-log2 0.5 - log2 0.1) / 2 = (1 + 3.3219281) / 2
    # [1, 2]: item 2 has no users, counted as 1: (-log2 0.1 - log2 0.01) / 2 = (3.3219281 + 6.6438562) / 2
    # [3, 3]: -log2 1 = 0
    np.testing.assert_allclose(got, [2.160964047443681, 4.9828921423310435, 0.0], rtol=0, atol=1e-14)


def test_avg_popularity():
    item_users = np.array([30, 5, 0, 7])
    got = M.avg_popularity(np.array([[0, 1], [2, 3], [1, 1]]), item_users)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [17.5, 3.5, 5.0])


def test_evaluate_novelty_avgpop_and_coverage_by_hand():
    """3 users x 5 items; popularity from the seen matrix; a constant ranking [0, 1, 2, 3, 4]."""
    import scipy.sparse as sp

    from harness.arms.scorer import ConstantScorer
    from harness.evaluation.users import evaluate

    seen = sp.csr_matrix(np.array([[0, 0, 0, 1, 0],
                                   [0, 0, 0, 1, 1],
                                   [0, 0, 0, 0, 1]], dtype=np.float32))
    relevant = sp.csr_matrix(np.array([[1, 0, 0, 0, 0]] * 3, dtype=bool))
    scorer = ConstantScorer(np.array([5, 4, 3, 2, 1], dtype=np.float32))
    res = evaluate(scorer, np.arange(3), seen, relevant, ("novelty@2", "avgpop@2", "ndcg@2"))
    # every user's top-2 is items 0 and 1, never seen by anyone: popularity 0 (clipped to 1 user of 3)
    np.testing.assert_allclose(res.values["novelty@2"], np.log2(3))
    np.testing.assert_allclose(res.values["avgpop@2"], 0.0)
    np.testing.assert_allclose(res.values["ndcg@2"], 1.0)
    assert res.coverage == {"coverage@2": 2 / 5}
    res3 = evaluate(scorer, np.arange(3), seen, relevant, ("avgpop@3",))
    # top-3 = items 0, 1, 2 for all users -> popularity (0 + 0 + 0) / 3
    np.testing.assert_allclose(res3.values["avgpop@3"], 0.0)
    assert res3.coverage == {"coverage@3": 3 / 5}
    seen2 = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=np.float32))
    res4 = evaluate(scorer, np.array([2]), seen2, relevant, ("avgpop@2", "novelty@2"))
    # user 2 saw nothing: top-2 = items 0 (2 users) and 1 (1 user); 2 training users in all
    np.testing.assert_allclose(res4.values["avgpop@2"], [1.5])
    np.testing.assert_allclose(res4.values["novelty@2"], [(-np.log2(2 / 2) - np.log2(1 / 2)) / 2])
