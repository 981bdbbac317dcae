"""Item -> users evaluation: per-item metrics against a notebook-style loop, both paths, masking."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from harness.arms.scorer import FactorScorer, ItemScorer
from harness.errors import HarnessError
from harness.evaluation.items import evaluate_items


def notebook_ndcg(scores: np.ndarray, seen: sp.csr_matrix, relevant_users: dict, items, candidates, k: int):
    """The notebook's loop: for each item, rank candidate users (seen masked), NDCG@k against engagers."""
    dense_seen = seen.toarray().astype(bool)
    out = []
    for i in items:
        col = scores[candidates, i].astype(np.float64).copy()
        col[dense_seen[candidates, i]] = -np.inf
        order = np.argsort(-col, kind="stable")[:k]          # stable: ties by lower position
        rel = relevant_users[i]
        dcg = sum(1.0 / np.log2(r + 2) for r, u in enumerate(candidates[order]) if u in rel)
        idcg = sum(1.0 / np.log2(r + 2) for r in range(min(len(rel), k)))
        out.append(dcg / idcg)
    return np.array(out)


def _case(seed=0, n_users=60, n_items=25, d=4):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n_users, d)).astype(np.float32)
    v = rng.standard_normal((n_items, d)).astype(np.float32)
    u[5] = u[6]  # exact ties between users 5 and 6 on every item
    seen = sp.random(n_users, n_items, density=0.2, random_state=seed, format="csr", dtype=np.float32)
    seen.data[:] = 1
    seen = seen.tolil()
    seen[7] = 0  # user 7: no training interaction -> not a candidate
    seen = seen.tocsr()
    seen.eliminate_zeros()
    candidates = np.flatnonzero(np.diff(seen.indptr) > 0)
    rel_users = {}
    rows, cols = [], []
    for i in range(n_items):
        pool = [c for c in candidates if not seen[c, i]]
        pick = rng.choice(pool, size=int(rng.integers(0, 5)), replace=False) if pool else []
        if i == 3:
            pick = [5, 6]
        rel_users[i] = set(int(x) for x in pick)
        for x in pick:
            rows.append(i)
            cols.append(int(np.searchsorted(candidates, x)))
    relevant = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n_items, len(candidates)))
    items = np.array([i for i in range(n_items) if rel_users[i]])
    return u, v, seen, candidates, relevant, rel_users, items


@pytest.mark.parametrize("k", [3, 10, 100])
def test_factor_path_equals_notebook_loop(k):
    u, v, seen, cand, relevant, rel_users, items = _case()
    s = evaluate_items(FactorScorer(u, v), items, seen, relevant, cand, (f"ndcg@{k}",))
    np.testing.assert_array_equal(s.users, items)
    want = notebook_ndcg(u @ v.T, seen, rel_users, items, cand, k)
    np.testing.assert_allclose(s.values[f"ndcg@{k}"], want, rtol=1e-12)
    assert want.min() < 1.0 and want.max() > 0.0  # the case is not degenerate


class _Dense:
    """A non-factor scorer over a fixed dense matrix (exercises the generic streaming path)."""

    def __init__(self, m):
        self.m = m

    def score(self, users):
        return self.m[users]


@pytest.mark.parametrize("batch", [1, 7, 2048])
def test_generic_path_equals_loop_and_factor_path(batch):
    u, v, seen, cand, relevant, rel_users, items = _case(1)
    full = (u @ v.T).astype(np.float32)
    full = np.round(full, 1)  # many exact ties: the tie-break must be by lower user position
    g = evaluate_items(_Dense(full), items, seen, relevant, cand, ("ndcg@5", "recall@5"), batch_size=batch)
    want = notebook_ndcg(full, seen, rel_users, items, cand, 5)
    np.testing.assert_allclose(g.values["ndcg@5"], want, rtol=1e-12)
    hits5 = [len(rel_users[i] & set(cand[np.argsort(-np.where(seen.toarray()[cand, i] > 0, -np.inf, full[cand, i]),
                                                     kind="stable")[:5]])) / len(rel_users[i]) for i in items]
    np.testing.assert_allclose(g.values["recall@5"], hits5)


def test_seen_users_are_masked_and_hand_case():
    # 3 users (all candidates), 2 items; item 0 scored 3 > 2 > 1 for users 0, 1, 2; user 0 saw item 0
    u = np.array([[3.0], [2.0], [1.0]], dtype=np.float32)
    v = np.array([[1.0], [1.0]], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[1, 0], [0, 1], [0, 1]], dtype=np.float32))
    relevant = sp.csr_matrix(np.array([[False, False, True], [True, False, False]]))
    cand = np.arange(3)
    s = evaluate_items(FactorScorer(u, v), np.array([0, 1]), seen, relevant, cand, ("ndcg@2", "mrr@2"))
    # item 0: ranking users 1, 2 (0 masked) -> relevant user 2 at rank 2: ndcg = (1/log2 3) / 1
    # item 1: users 1, 2 seen -> ranking 0 first: relevant user 0 at rank 1
    np.testing.assert_allclose(s.values["ndcg@2"], [1 / np.log2(3), 1.0])
    np.testing.assert_allclose(s.values["mrr@2"], [0.5, 1.0])
    g = evaluate_items(ItemScorer(sp.csr_matrix(u), sp.csr_matrix(v.T)), np.array([0, 1]), seen, relevant, cand,
                       ("ndcg@2",))
    np.testing.assert_allclose(g.values["ndcg@2"], s.values["ndcg@2"])


def test_popularity_metrics_refused():
    u, v, seen, cand, relevant, _, items = _case()
    with pytest.raises(HarnessError, match="novelty/avgpop/ild/calibration/serendipity/aplt are not defined"):
        evaluate_items(FactorScorer(u, v), items, seen, relevant, cand, ("novelty@10",))


# ----------------------------------------------------------------------------- ANN (top_k) path
@pytest.mark.parametrize("ann", [{"M": 32, "ef_construction": 400, "ef": 400},
                                 {"method": "faiss-ivf", "nlist": 8, "nprobe": 8}])  # every list probed
def test_ann_path_with_a_wide_search_equals_the_exact_item_path(ann):
    pytest.importorskip("hnswlib" if "method" not in ann else "faiss")
    from harness.evaluation.ann.index import build
    from harness.spec.ann import parse
    from harness.evaluation.items import top_users

    u, v, seen, cand, relevant, rel_users, items = _case(2, n_users=300, n_items=80, d=8)
    f = FactorScorer(u, v)
    a = build(f, parse(ann, "x"), 0, "x", item_to_users=True, candidates=cand)
    metrics = ("ndcg@10", "recall@20", "mrr@5")
    got, want = evaluate_items(a, items, seen, relevant, cand, metrics), evaluate_items(f, items, seen, relevant,
                                                                                        cand, metrics)
    for m in metrics:
        np.testing.assert_array_equal(got.values[m], want.values[m])
    assert got.coverage == want.coverage
    top = top_users(a, items, seen, cand, 20)
    assert np.array_equal(top, top_users(f, items, seen, cand, 20))
    assert 7 not in top and not seen[top.ravel(), np.repeat(items, 20)].any()  # candidates only, seen masked
    np.testing.assert_allclose(got.values["ndcg@10"], notebook_ndcg(u @ v.T, seen, rel_users, items, cand, 10),
                               rtol=1e-12)


class _Padded:
    """An item-direction top-k scorer that finds one user per item (ranks 2.. are -1)."""

    unit = "items"

    def top_k(self, units, k, exclude):
        top = np.full((len(units), k), -1, np.int64)
        top[:, 0] = 1  # candidate position 1
        return top, np.zeros(top.shape, np.float32)


def test_ann_padding_counts_as_a_miss_and_positions_map_to_candidates():
    from harness.evaluation.items import top_users

    seen = sp.csr_matrix(np.array([[0, 1], [1, 0], [1, 1]], dtype=np.float32))  # all 3 users are candidates
    cand = np.array([0, 2])  # user 1 left out: position 1 is user 2
    relevant = sp.csr_matrix(np.array([[True, True], [False, True]]))  # (items x candidate positions)
    s = evaluate_items(_Padded(), np.array([0, 1]), seen, relevant, cand, ("recall@2", "ndcg@2"))
    np.testing.assert_allclose(s.values["recall@2"], [0.5, 1.0])  # item 0: user 0 (relevant) never found
    np.testing.assert_allclose(s.values["ndcg@2"], [1 / (1 + 1 / np.log2(3)), 1.0])
    assert s.coverage["coverage@2"] == 0.5
    assert top_users(_Padded(), np.array([0, 1]), seen, cand, 2).tolist() == [[2, -1], [2, -1]]
