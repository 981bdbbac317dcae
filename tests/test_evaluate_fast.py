"""The fused paths of evaluate.py (tiled numpy, implicit's topk) give the generic path's rankings.

Small random factor models (fast): continuous scores, tie-heavy integer scores, light and heavy
seen masks (both of the implicit engine's masking modes), users with fewer than k unseen items.
Tiles are shrunk so the tiled engine merges candidates across many tiles.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from harness import evaluate as E
from harness.arms.base import FactorScorer, ItemScorer
from harness.evaluate import evaluate, top_items, top_k

METRICS = ("ndcg@10", "recall@5", "precision@10", "map@10", "mrr@3", "hitrate@10")
FUSED = ("tiled", "implicit")
DEFAULT_TILES = {"TILE_ITEMS": E.TILE_ITEMS, "FIRST_TILE_ITEMS": E.FIRST_TILE_ITEMS, "TILE_USERS": E.TILE_USERS}


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch):
    """Several item tiles and user blocks on small catalogues (400 items: 64 + 128 + 128 + 80)."""
    monkeypatch.setattr(E, "TILE_ITEMS", 128)
    monkeypatch.setattr(E, "FIRST_TILE_ITEMS", 64)
    monkeypatch.setattr(E, "TILE_USERS", 48)


def random_csr(rng, n_users, n_items, counts) -> sp.csr_matrix:
    rows = np.repeat(np.arange(n_users), counts)
    cols = np.concatenate([rng.choice(n_items, size=c, replace=False) for c in counts])
    return sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(n_users, n_items))


def make_case(seed, n_users=250, n_items=400, d=16, integer=False, heavy=False):
    rng = np.random.default_rng(seed)
    if integer:  # scores are small exact integers: many ties, no rounding anywhere
        u = rng.integers(-1, 2, (n_users, d)).astype(np.float32)
        v = rng.integers(-1, 2, (n_items, d)).astype(np.float32)
    else:
        u = rng.standard_normal((n_users, d), dtype=np.float32)
        v = rng.standard_normal((n_items, d), dtype=np.float32)
    counts = rng.poisson(20, n_users).clip(0, n_items - 30)
    if heavy:  # some users over the post-filter limit (implicit masks them), some with < k unseen
        counts[::5] = rng.integers(60, n_items - 30, len(counts[::5]))
        counts[1::25] = n_items - rng.integers(0, 8, len(counts[1::25]))
    seen = random_csr(rng, n_users, n_items, counts)
    unseen_left = n_items - counts
    rel_counts = np.minimum(rng.integers(1, 6, n_users), unseen_left)
    rel = sp.csr_matrix((n_users, n_items), dtype=bool)
    if rel_counts.sum():
        rows = np.repeat(np.arange(n_users), rel_counts)
        cols = np.concatenate([rng.choice(np.setdiff1d(np.arange(n_items), seen[i].indices), size=c,
                                          replace=False) for i, c in enumerate(rel_counts)])
        rel = sp.csr_matrix((np.ones(len(cols), bool), (rows, cols)), shape=(n_users, n_items))
    users = np.flatnonzero(np.diff(rel.indptr) > 0)
    return FactorScorer(u, v), users, seen, rel


def brute_force_top(u, v, seen, users, k):
    """Per-user reference: exact float64 scores (float32 products of small integers are exact),
    seen items at -inf, stable sort by score desc (ties by item index asc)."""
    out = []
    for user in users:
        s = (u[user].astype(np.float64) @ v.T.astype(np.float64))
        s[seen[user].indices] = -np.inf
        out.append(np.argsort(-s, kind="stable")[:k])
    return np.array(out)


@pytest.mark.parametrize("method", FUSED)
@pytest.mark.parametrize("seed,integer,heavy", [(0, False, False), (1, False, True), (2, True, False),
                                                (3, True, True)])
def test_fast_path_equals_generic(seed, integer, heavy, method):
    scorer, users, seen, rel = make_case(seed, integer=integer, heavy=heavy)
    everyone = np.arange(seen.shape[0])  # including users with fewer than 10 unseen items
    gen = top_items(scorer, everyone, seen, 10, method="generic")
    fast = top_items(scorer, everyone, seen, 10, method=method)
    np.testing.assert_array_equal(fast, gen)
    a = evaluate(scorer, users, seen, rel, METRICS, method="generic")
    b = evaluate(scorer, users, seen, rel, METRICS, method=method, batch_size=64)
    for m in METRICS:
        np.testing.assert_array_equal(b.values[m], a.values[m], err_msg=m)
    np.testing.assert_array_equal(b.n_relevant, a.n_relevant)
    assert a.nan_scores == b.nan_scores == 0


@pytest.mark.parametrize("heavy", [False, True])
def test_ties_ranked_by_item_index_in_both_paths(heavy):
    scorer, _, seen, _ = make_case(5, integer=True, heavy=heavy, d=3)  # scores in {-3..3}
    users = np.arange(seen.shape[0])
    ref = brute_force_top(scorer.user_vecs, scorer.item_vecs, seen, users, 10)
    for method in ("generic",) + FUSED:
        np.testing.assert_array_equal(top_items(scorer, users, seen, 10, method=method), ref, err_msg=method)


def test_masking_never_lets_a_seen_item_in():
    scorer, _, seen, _ = make_case(6, heavy=True)
    users = np.arange(seen.shape[0])
    for method in ("generic",) + FUSED:
        top = top_items(scorer, users, seen, 10, method=method)
        for row, user in zip(top, users):
            s = set(seen[user].indices.tolist())
            n_unseen = seen.shape[1] - len(s)
            # unseen items first; seen ones only fill the list when fewer than k are left
            assert not s & set(row[:min(10, n_unseen)].tolist()), (method, user)
            assert len(set(row.tolist())) == len(row)


def test_batch_size_threads_and_single_users_do_not_change_results():
    scorer, _, seen, _ = make_case(7, n_users=60, heavy=True)
    users = np.arange(seen.shape[0])[::-1]  # unsorted
    ref = top_items(scorer, users, seen, 10, method="generic")
    for method in ("generic",) + FUSED:
        for bs in (1, 7, 101):
            np.testing.assert_array_equal(top_items(scorer, users, seen, 10, batch_size=bs, method=method), ref)
        np.testing.assert_array_equal(top_items(scorer, users, seen, 10, method=method, num_threads=2), ref)
        # one user (a one-row product would round differently: every path pads it)
        np.testing.assert_array_equal(top_items(scorer, users[:1], seen, 10, method=method), ref[:1])


def test_auto_uses_generic_on_small_catalogues_and_unsupported_scorers(monkeypatch):
    scorer, users, seen, rel = make_case(8)
    calls = []
    rank = E._rank_candidates
    monkeypatch.setattr(E, "_rank_candidates", lambda *a: calls.append(1) or rank(*a))
    evaluate(scorer, users, seen, rel, METRICS)  # 400 items < TOPK_MIN_ITEMS
    item = ItemScorer(seen, sp.identity(seen.shape[1], dtype=np.float32, format="csr"))
    f64 = FactorScorer(scorer.user_vecs.astype(np.float64), scorer.item_vecs.astype(np.float64))
    for method in FUSED:
        evaluate(item, users, seen, rel, METRICS, method=method)  # not a factor model
        evaluate(f64, users, seen, rel, METRICS, method=method)  # float64 factors: generic
    assert calls == []
    monkeypatch.setattr(E, "TOPK_MIN_ITEMS", 300)
    evaluate(scorer, users, seen, rel, METRICS)  # auto: fused
    assert calls


def test_nan_factors_fall_back_and_are_counted():
    scorer, users, seen, rel = make_case(9)
    u = scorer.user_vecs.copy()
    u[users[:3], 0] = np.nan
    bad = FactorScorer(u, scorer.item_vecs)
    a = evaluate(bad, users, seen, rel, METRICS, method="generic")
    for method in FUSED:
        b = evaluate(bad, users, seen, rel, METRICS, method=method)
        assert a.nan_scores == b.nan_scores == 3
        for m in METRICS:
            np.testing.assert_array_equal(a.values[m], b.values[m])


def test_generic_top_k_exact_at_a_tied_boundary():
    scores = np.array([[1, 1, 2, 1, 0], [0, 5, 5, 5, 5], [-np.inf, 3, -np.inf, -np.inf, -np.inf]],
                      dtype=np.float32)
    np.testing.assert_array_equal(top_k(scores, 2), [[2, 0], [1, 2], [1, 0]])
    np.testing.assert_array_equal(top_k(scores, 5), [[2, 0, 1, 3, 4], [1, 2, 3, 4, 0], [1, 0, 2, 3, 4]])


def test_implicit_tie_order_is_as_documented():
    """Why the fast path re-ranks: implicit keeps item 1 (not 0) at a tied 2nd place, and orders
    ties by higher index first."""
    from implicit.cpu.topk import topk

    items = np.array([[1.0], [1.0], [2.0], [1.0], [0.0]], dtype=np.float32)
    ids, _ = topk(items, np.array([[1.0]], dtype=np.float32), 2)
    np.testing.assert_array_equal(ids, [[2, 1]])
    ids, _ = topk(items, np.array([[1.0]], dtype=np.float32), 4)
    np.testing.assert_array_equal(ids, [[2, 3, 1, 0]])


def test_small_products_are_padded_to_plain_gemm():
    """One-row products (gemv) and tiny ones (OpenBLAS small-matrix kernels) round differently from
    a large gemm; every path pads them, so scores do not depend on how users fall into batches."""
    rng = np.random.default_rng(10)
    u = rng.standard_normal((300, 64), dtype=np.float32)
    v = rng.standard_normal((3000, 64), dtype=np.float32)
    scorer = FactorScorer(u, v)
    full = scorer.score(np.arange(300))
    for n in (1, 2, 5):
        np.testing.assert_array_equal(E._score(scorer, np.arange(n)), full[:n])
    for n in (101, 103):  # implicit's last 100-row block would be 1 or 3 rows
        ids, vals = E._implicit_topk(v, u[:n], 20, 1)
        np.testing.assert_array_equal(vals, np.take_along_axis(full[:n], ids.astype(np.int64), axis=1))
    seen = sp.csr_matrix((300, 3000), dtype=np.float32)
    for n in (1, 3, 300):
        ids, vals = E._tiled_candidates(scorer, np.arange(n), seen, 11)
        np.testing.assert_array_equal(vals, np.take_along_axis(full[:n], ids, axis=1))
        # a valid best-11 set: nothing left out scores above its minimum
        assert ((full[:n] > vals.min(axis=1)[:, None]).sum(axis=1) <= 11).all()


def test_default_tiles_on_a_catalogue_where_auto_is_fused(monkeypatch):
    for name, value in DEFAULT_TILES.items():
        monkeypatch.setattr(E, name, value)
    rng = np.random.default_rng(11)
    n_users, n_items = 300, E.TOPK_MIN_ITEMS + 2 * E.TILE_ITEMS + 7
    scorer = FactorScorer(rng.standard_normal((n_users, 32), dtype=np.float32),
                          rng.standard_normal((n_items, 32), dtype=np.float32))
    seen = random_csr(rng, n_users, n_items, rng.poisson(30, n_users))
    users = np.arange(n_users)
    ref = top_items(scorer, users, seen, 20, method="generic")
    np.testing.assert_array_equal(top_items(scorer, users, seen, 20), ref)  # auto = tiled here
    np.testing.assert_array_equal(top_items(scorer, users, seen, 20, method="implicit"), ref)
