"""Arms against plain references on small matrices (dense numpy, hand-computed, implicit itself)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from harness.arms import als, bpr, content, ease, itemknn, popularity
from harness.arms import random as random_arm
from harness.arms.scorer import TrainData
from harness.errors import HarnessError


def _binary_matrix(n_users: int = 30, n_items: int = 20, density: float = 0.25, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.random((n_users, n_items)) < density).astype(np.float32)
    x[0, :] = 0.0  # a user without history
    x[:, 3] = 0.0  # an item nobody interacted with
    return x


def _train(x: np.ndarray, **kw) -> TrainData:
    m = sp.csr_matrix(x)
    return TrainData(positives=m, seen=m, **kw)


def _dense_knn(x: np.ndarray, k: int) -> np.ndarray:
    """Cosine item-item similarity, zero diagonal, top-k per column (ties: smaller index), naive loops."""
    x = x.astype(np.float64)
    norms = np.sqrt((x * x).sum(axis=0))
    s = np.zeros((x.shape[1], x.shape[1]))
    for i in range(x.shape[1]):
        for j in range(x.shape[1]):
            if i != j and norms[i] > 0 and norms[j] > 0:
                s[i, j] = x[:, i] @ x[:, j] / (norms[i] * norms[j])
    pruned = np.zeros_like(s)
    for j in range(s.shape[1]):
        nonzero = [i for i in range(s.shape[0]) if s[i, j] != 0]
        for i in sorted(nonzero, key=lambda i: (-round(s[i, j], 9), i))[:k]:
            pruned[i, j] = s[i, j]
    return pruned


@pytest.mark.parametrize("k", [1, 3, 7, 200])
@pytest.mark.parametrize("seed", [0, 1])
def test_itemknn_matches_dense_reference(k: int, seed: int) -> None:
    x = _binary_matrix(seed=seed)
    ref = _dense_knn(x, k)
    sim = itemknn.cosine_topk(sp.csr_matrix(x), k).toarray()
    np.testing.assert_allclose(sim, ref, rtol=1e-5, atol=1e-6)
    assert ((sim != 0).sum(axis=0) <= k).all()
    scores = itemknn.fit(_train(x), seed=0, K=k).score(np.arange(x.shape[0]))
    np.testing.assert_allclose(scores, x @ ref, rtol=1e-5, atol=1e-6)
    assert not scores[0].any()  # no history -> all zeros


def test_itemknn_hand_computed() -> None:
    # items 0 and 1 share user 0; |U_0| = 2, |U_1| = 1 -> cos = 1 / sqrt(2); item 2 shares nobody
    x = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float32)
    sim = itemknn.cosine_topk(sp.csr_matrix(x), 5).toarray()
    expected = np.zeros((3, 3))
    expected[0, 1] = expected[1, 0] = 1 / np.sqrt(2)
    np.testing.assert_allclose(sim, expected, rtol=1e-6)


def test_topk_per_row_breaks_ties_by_column() -> None:
    m = sp.csr_matrix(np.array([[0.5, 0.9, 0.5, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 0.0, 4.0]]))
    out = itemknn.topk_per_row(m, 2).toarray()
    np.testing.assert_array_equal(out, [[0.5, 0.9, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 3.0, 0, 4.0]])


def test_itemknn_rejects_bad_k() -> None:
    with pytest.raises(HarnessError, match="K must be >= 1"):
        itemknn.fit(_train(_binary_matrix()), seed=0, K=0)


@pytest.mark.parametrize("lam", [0.5, 10.0, 500.0])
def test_ease_matches_numpy_inverse(lam: float) -> None:
    x = _binary_matrix().astype(np.float64)
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    b = p / (-np.diag(p))
    np.fill_diagonal(b, 0.0)
    scorer = ease.fit(_train(x.astype(np.float32)), seed=0, lam=lam)
    np.testing.assert_allclose(scorer.sim, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(scorer.score(np.arange(x.shape[0])), x @ b, rtol=1e-4, atol=1e-5)
    assert not np.diag(scorer.sim).any()


def test_ease_solves_its_objective() -> None:
    # stationarity of min ||X - XB||^2 + lam ||B||^2 s.t. diag(B) = 0: off-diagonal of (G B - X^T X) = 0
    x = _binary_matrix(seed=3).astype(np.float64)
    lam = 7.0
    b = ease.fit(_train(x.astype(np.float32)), seed=0, lam=lam).sim.astype(np.float64)
    grad = (x.T @ x + lam * np.eye(x.shape[1])) @ b - x.T @ x
    off = ~np.eye(x.shape[1], dtype=bool)
    np.testing.assert_allclose(grad[off], 0.0, atol=1e-3)


def test_ease_refuses_a_large_catalogue() -> None:
    with pytest.raises(HarnessError, match="too many for dense EASE"):
        ease.fit(_train(_binary_matrix()), seed=0, max_items=10)
    with pytest.raises(HarnessError, match="lam must be > 0"):
        ease.fit(_train(_binary_matrix()), seed=0, lam=0.0)


def test_popularity_is_column_sums_with_index_ties() -> None:
    x = _binary_matrix()
    train = _train(x)
    np.testing.assert_array_equal(popularity.item_counts(train), x.sum(axis=0).astype(np.int64))
    s = popularity.fit(train, seed=0).score(np.arange(4))
    assert s.dtype == np.float32 and s.shape == (4, x.shape[1])
    assert (s == s[0]).all()
    expected_order = np.lexsort((np.arange(x.shape[1]), -x.sum(axis=0)))  # count desc, index asc
    np.testing.assert_array_equal(np.argsort(-s[0]), expected_order)
    assert len(np.unique(s[0])) == x.shape[1]


def test_popularity_counts_duplicates_once() -> None:
    m = sp.csr_matrix((np.ones(3, np.float32), (np.array([0, 0, 1]), np.array([1, 1, 1]))), shape=(2, 3))
    assert not m.has_canonical_format or m.nnz == 2
    np.testing.assert_array_equal(popularity.item_counts(TrainData(positives=m, seen=m)), [0, 2, 0])


def test_als_factors_deterministic_and_seed_dependent() -> None:
    x = sp.csr_matrix(_binary_matrix(60, 40, 0.2, seed=5))
    u1, i1 = als.fit_factors(x, seed=3, factors=8, iterations=5)
    u2, i2 = als.fit_factors(x, seed=3, factors=8, iterations=5)
    u3, _ = als.fit_factors(x, seed=4, factors=8, iterations=5)
    np.testing.assert_array_equal(u1, u2)
    np.testing.assert_array_equal(i1, i2)
    assert not np.array_equal(u1, u3)
    assert u1.shape == (60, 8) and i1.shape == (40, 8) and u1.dtype == np.float32


def _implicit_top(model, x: sp.csr_matrix, n: int) -> tuple[np.ndarray, np.ndarray]:
    users = np.arange(x.shape[0])
    return model.recommend(users, x[users], N=n, filter_already_liked_items=False)


def test_als_scores_are_implicit_recommend_scores() -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    x = sp.csr_matrix(_binary_matrix(60, 40, 0.2, seed=5))
    scorer = als.fit(_train(x.toarray()), seed=2, factors=8, iterations=5, alpha=4.0)
    model = AlternatingLeastSquares(factors=8, iterations=5, alpha=4.0, regularization=0.01, random_state=2,
                                    num_threads=1)
    model.fit(x, show_progress=False)
    ids, ref = _implicit_top(model, x, 10)
    np.testing.assert_allclose(np.take_along_axis(scorer.score(np.arange(60)), ids, axis=1), ref, rtol=1e-5,
                               atol=1e-6)


def test_bpr_scores_are_implicit_recommend_scores() -> None:
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    x = sp.csr_matrix(_binary_matrix(60, 40, 0.2, seed=5))
    scorer = bpr.fit(_train(x.toarray()), seed=2, factors=8, iterations=20, learning_rate=0.05)
    again = bpr.fit(_train(x.toarray()), seed=2, factors=8, iterations=20, learning_rate=0.05)
    np.testing.assert_array_equal(scorer.item_vecs, again.item_vecs)
    assert scorer.item_vecs.shape == (40, 9)  # implicit's bias column is kept, user side holds 1.0
    np.testing.assert_array_equal(scorer.user_vecs[:, -1], 1.0)
    model = BayesianPersonalizedRanking(factors=8, iterations=20, learning_rate=0.05, regularization=0.01,
                                        random_state=2, num_threads=1)
    model.fit(x, show_progress=False)
    ids, ref = _implicit_top(model, x, 10)
    np.testing.assert_allclose(np.take_along_axis(scorer.score(np.arange(60)), ids, axis=1), ref, rtol=1e-5,
                               atol=1e-6)


def test_content_hand_computed() -> None:
    # item 3 has no content; user 0 liked items 0 and 1; user 1 liked only item 3; user 2 saw item 2 only
    emb = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    pos = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=np.float32))
    seen = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=np.float32))
    train = TrainData(positives=pos, seen=seen, item_content=emb)
    s = content.fit(train, seed=0).score(np.arange(3))
    r = 1 / np.sqrt(2)
    np.testing.assert_allclose(s[0], [r, r, 1.0, -2.0], rtol=1e-6)  # user = (1, 1) / sqrt(2)
    np.testing.assert_allclose(s[1], [0.0, 0.0, 0.0, -2.0], atol=1e-7)  # no usable history
    np.testing.assert_allclose(s[2], [0.0, 0.0, 0.0, -2.0], atol=1e-7)  # engaged_only ignores seen
    s_all = content.fit(train, seed=0, engaged_only=False).score(np.array([2]))
    np.testing.assert_allclose(s_all[0], [r, r, 1.0, -2.0], rtol=1e-6)


def test_random_is_uniform_and_seeded() -> None:
    train = _train(_binary_matrix(200, 500, 0.01))
    a = random_arm.fit(train, seed=1).score(np.arange(200))
    b = random_arm.fit(train, seed=1).score(np.arange(200)[::-1])[::-1]
    c = random_arm.fit(train, seed=2).score(np.arange(200))
    np.testing.assert_array_equal(a, b)  # a user's scores do not depend on the batch
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and 0.0 <= a.min() and a.max() < 1.0
    # 100,000 U(0,1) draws: mean within 5 standard errors of 0.5; deciles near 0.1 each
    assert abs(a.mean() - 0.5) < 5 * np.sqrt(1 / 12 / a.size)
    hist = np.histogram(a, bins=10, range=(0, 1))[0] / a.size
    assert np.abs(hist - 0.1).max() < 0.005


def _events_case(seed: int = 0):
    """40 users x 30 items, 12 events each, time increasing per user; 2 taste groups."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(40):
        pool = np.arange(15) if u % 2 == 0 else np.arange(15, 30)
        for t, i in enumerate(rng.choice(pool, size=12, replace=False)):
            rows.append((u, int(i), 100 * t + u))
    ev = pd.DataFrame(rows, columns=["user", "item", "time"])
    m = sp.csr_matrix((np.ones(len(ev), np.float32), (ev["user"], ev["item"])), shape=(40, 30))
    meta = pd.DataFrame({"author": [f"a{i % 4}" for i in range(30)], "duration": np.arange(30.0)})
    return TrainData(positives=m, seen=m, item_meta=meta, events=ev,
                     item_content=rng.normal(size=(30, 4)).astype(np.float32))


@pytest.mark.parametrize("mode", ["time", "per_user"])
def test_rerank_inner_split_is_before_the_label_window(mode: str) -> None:
    from harness.arms import rerank

    train = _events_case()
    inner_pos, inner_seen, label_pos = rerank._inner_split(train, 0.25, mode)
    ev = train.events.set_index(["user", "item"])["time"]
    inner = inner_seen.tocoo()
    label = label_pos.tocoo()
    assert inner_pos.multiply(label_pos).nnz == 0
    assert inner_pos.nnz + label_pos.nnz == train.positives.nnz
    t_inner = ev.loc[list(zip(inner.row, inner.col))].to_numpy()
    t_label = ev.loc[list(zip(label.row, label.col))].to_numpy()
    if mode == "time":
        assert t_inner.max() < t_label.min()
    else:
        for u in range(40):
            assert t_inner[inner.row == u].max() < t_label[label.row == u].min()
            assert (label.row == u).sum() == 3  # ceil(0.25 * 12)


def test_rerank_scores_only_unseen_candidates() -> None:
    pytest.importorskip("lightgbm")
    from harness.arms import rerank

    train = _events_case()
    scorer = rerank.fit(train, seed=0, candidates=5, factors=4, iterations=3, n_estimators=5, min_child_samples=2,
                        inner_split="per_user")
    s = scorer.score(np.arange(40))
    top = s > rerank.LOW
    np.testing.assert_array_equal(top.sum(axis=1), 5)
    assert not (top & (train.seen.toarray() > 0)).any()
    np.testing.assert_array_equal(np.sort(s[top].reshape(40, 5), axis=1), np.tile([1, 2, 3, 4, 5], (40, 1)))


def test_rerank_errors_name_the_fix() -> None:
    pytest.importorskip("lightgbm")
    from harness.arms import rerank

    train = _events_case()
    with pytest.raises(HarnessError, match="needs the training events"):
        rerank.fit(TrainData(positives=train.positives, seen=train.seen), seed=0)
    with pytest.raises(HarnessError, match="label_fraction must be in"):
        rerank.fit(train, seed=0, label_fraction=1.0)
    with pytest.raises(HarnessError, match="inner_split must be"):
        rerank.fit(train, seed=0, inner_split="random")
