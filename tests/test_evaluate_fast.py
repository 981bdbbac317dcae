"""The fused engines (tiled numpy, implicit's topk) and the generic path rank alike, and results are
reproducible without assuming bit-equal BLAS kernels.

What may differ between paths, batch sizes and CPUs is float32 rounding of the score products (the
BLAS kernel and the product's shape choose the summation order), so:
- with small-integer factors (exact products on any kernel) every path gives exactly the same
  rankings and metrics, ties broken by item index;
- with continuous factors, scores agree within a proven float32 bound and rankings agree up to
  near-ties within that bound (``tests/_near_ties.py``); users without near-ties get identical metrics;
- for a fixed partition (the default batch sizes) results are byte-identical for any thread count,
  caller BLAS setting or repetition.
Tiles are shrunk so the tiled engine merges candidates across many tiles.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _near_ties import exact_scores, float32_tolerance, near_tie_users
from threadpoolctl import threadpool_limits

from harness.evaluation import fused as F
from harness.arms.scorer import FactorScorer, ItemScorer
from harness.evaluation.users import evaluate, top_items, top_k

METRICS = ("ndcg@10", "recall@5", "precision@10", "map@10", "mrr@3", "hitrate@10")
FUSED = ("tiled", "implicit")
DEFAULT_TILES = {"TILE_ITEMS": F.TILE_ITEMS, "FIRST_TILE_ITEMS": F.FIRST_TILE_ITEMS, "TILE_USERS": F.TILE_USERS}


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch):
    """Several item tiles and user blocks on small catalogues (400 items: 64 + 128 + 128 + 80)."""
    monkeypatch.setattr(F, "TILE_ITEMS", 128)
    monkeypatch.setattr(F, "FIRST_TILE_ITEMS", 64)
    monkeypatch.setattr(F, "TILE_USERS", 48)


def random_csr(rng, n_users, n_items, counts) -> sp.csr_matrix:
    rows = np.repeat(np.arange(n_users), counts)
    cols = np.concatenate([rng.choice(n_items, size=c, replace=False) for c in counts])
    return sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(n_users, n_items))


def make_case(seed, n_users=250, n_items=400, d=16, integer=False, heavy=False):
    rng = np.random.default_rng(seed)
    if integer:  # scores are small exact integers: many ties, no rounding on any kernel
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
    s = exact_scores(u, v, users, seen)
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def assert_agree(scorer, users, seen, top_a, top_b) -> np.ndarray:
    """Rankings agree up to float32 near-ties; returns the users touched by a near-tie."""
    u, v = scorer.user_vecs, scorer.item_vecs
    return near_tie_users(top_a, top_b, exact_scores(u, v, users, seen), float32_tolerance(u, v, users))


@pytest.mark.parametrize("method", FUSED)
@pytest.mark.parametrize("seed,heavy", [(2, False), (3, True)])
def test_fast_path_equals_generic_exactly_on_exact_scores(seed, heavy, method):
    scorer, users, seen, rel = make_case(seed, integer=True, heavy=heavy)
    everyone = np.arange(seen.shape[0])  # including users with fewer than 10 unseen items
    gen = top_items(scorer, everyone, seen, 10, method="generic")
    np.testing.assert_array_equal(top_items(scorer, everyone, seen, 10, method=method), gen)
    a = evaluate(scorer, users, seen, rel, METRICS, method="generic")
    b = evaluate(scorer, users, seen, rel, METRICS, method=method, batch_size=64)
    for m in METRICS:
        np.testing.assert_array_equal(b.values[m], a.values[m], err_msg=m)
    np.testing.assert_array_equal(b.n_relevant, a.n_relevant)
    assert a.nan_scores == b.nan_scores == 0


@pytest.mark.parametrize("method", FUSED)
@pytest.mark.parametrize("seed,heavy", [(0, False), (1, True)])
def test_fast_path_equals_generic_up_to_float32_near_ties(seed, heavy, method):
    scorer, users, seen, rel = make_case(seed, heavy=heavy)
    gen = top_items(scorer, users, seen, 10, method="generic")
    fast = top_items(scorer, users, seen, 10, method=method)
    touched = assert_agree(scorer, users, seen, gen, fast)
    assert touched.mean() < 0.2  # near-ties are rare with continuous scores
    a = evaluate(scorer, users, seen, rel, METRICS, method="generic")
    b = evaluate(scorer, users, seen, rel, METRICS, method=method, batch_size=64)
    for m in METRICS:  # users whose top-11 has no near-tie get identical metrics
        np.testing.assert_array_equal(b.values[m][~touched], a.values[m][~touched], err_msg=m)


@pytest.mark.parametrize("heavy", [False, True])
def test_ties_ranked_by_item_index_in_every_path(heavy):
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


def test_fixed_partition_is_byte_identical_for_threads_blas_and_repeats():
    """The reproducibility the harness promises on one machine: same partition, same bytes."""
    scorer, users, seen, rel = make_case(7, n_users=300, heavy=True)
    for method in ("generic",) + FUSED:
        ref = evaluate(scorer, users, seen, rel, METRICS, method=method, batch_size=64)
        runs = [evaluate(scorer, users, seen, rel, METRICS, method=method, batch_size=64, num_threads=2),
                evaluate(scorer, users, seen, rel, METRICS, method=method, batch_size=64, num_threads=0),
                evaluate(scorer, users, seen, rel, METRICS, method=method, batch_size=64)]
        with threadpool_limits(2, user_api="blas"):  # the caller's BLAS threads do not matter
            runs.append(evaluate(scorer, users, seen, rel, METRICS, method=method, batch_size=64))
        for r in runs:
            for m in METRICS:
                assert r.values[m].tobytes() == ref.values[m].tobytes(), (method, m)


def test_batch_sizes_and_single_users_agree_up_to_near_ties():
    scorer, _, seen, _ = make_case(7, n_users=60, heavy=True)
    users = np.arange(seen.shape[0])[::-1]  # unsorted
    ref = top_items(scorer, users, seen, 10, method="generic")
    for method in ("generic",) + FUSED:
        for bs in (1, 7, 101):
            assert_agree(scorer, users, seen, ref, top_items(scorer, users, seen, 10, batch_size=bs, method=method))
        one = top_items(scorer, users[:1], seen, 10, method=method)  # a one-row product (gemv)
        assert_agree(scorer, users[:1], seen, ref[:1], one)


def test_scores_across_batch_shapes_within_float32_rounding():
    """One-row (gemv), tiny ("small matrix" kernels) and large products may round differently on some
    CPUs; every score stays within the float32 bound of the exact product, whatever the shape."""
    rng = np.random.default_rng(10)
    u = rng.standard_normal((300, 64), dtype=np.float32)
    v = rng.standard_normal((3000, 64), dtype=np.float32)
    scorer = FactorScorer(u, v)
    users = np.arange(300)
    exact = u.astype(np.float64) @ v.astype(np.float64).T
    half_tol = float32_tolerance(u, v, users)[:, None] / 2  # each evaluation's own bound
    full = scorer.score(users)
    assert (np.abs(full - exact) <= half_tol).all()
    for n in (1, 2, 5, 101, 103):
        assert (np.abs(scorer.score(users[:n]) - exact[:n]) <= half_tol[:n]).all(), n
    for n in (1, 3, 300):  # tiled candidates: their scores, and nothing left out clearly above them
        ids, vals = F.tiled_candidates(scorer, users[:n], sp.csr_matrix((300, 3000), dtype=np.float32), 11)
        got = np.take_along_axis(exact[:n], ids, axis=1)
        assert (np.abs(vals - got) <= half_tol[:n]).all()
        above = exact[:n] > (got.min(axis=1) + 2 * half_tol[:n, 0])[:, None]
        assert (above.sum(axis=1) <= 11).all()
    s = F.implicit_candidates(scorer, users[:101], sp.csr_matrix((300, 3000), dtype=np.float32), 20, 1)
    assert (np.abs(s[1] - np.take_along_axis(exact[:101], s[0], axis=1)) <= half_tol[:101]).all()


def test_auto_uses_generic_on_small_catalogues_and_unsupported_scorers(monkeypatch):
    scorer, users, seen, rel = make_case(8)
    calls = []
    rank = F.rank_candidates
    monkeypatch.setattr(F, "rank_candidates", lambda *a: calls.append(1) or rank(*a))
    evaluate(scorer, users, seen, rel, METRICS)  # 400 items < TOPK_MIN_ITEMS
    item = ItemScorer(seen, sp.identity(seen.shape[1], dtype=np.float32, format="csr"))
    f64 = FactorScorer(scorer.user_vecs.astype(np.float64), scorer.item_vecs.astype(np.float64))
    for method in FUSED:
        evaluate(item, users, seen, rel, METRICS, method=method)  # not a factor model
        evaluate(f64, users, seen, rel, METRICS, method=method)  # float64 factors: generic
    assert calls == []
    monkeypatch.setattr(F, "TOPK_MIN_ITEMS", 300)
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


def test_default_tiles_on_a_catalogue_where_auto_is_fused(monkeypatch):
    for name, value in DEFAULT_TILES.items():
        monkeypatch.setattr(F, name, value)
    rng = np.random.default_rng(11)
    n_users, n_items = 300, F.TOPK_MIN_ITEMS + 2 * F.TILE_ITEMS + 7
    scorer = FactorScorer(rng.standard_normal((n_users, 32), dtype=np.float32),
                          rng.standard_normal((n_items, 32), dtype=np.float32))
    seen = random_csr(rng, n_users, n_items, rng.poisson(30, n_users))
    users = np.arange(n_users)
    ref = top_items(scorer, users, seen, 20, method="generic")
    assert_agree(scorer, users, seen, ref, top_items(scorer, users, seen, 20))  # auto = tiled here
    assert_agree(scorer, users, seen, ref, top_items(scorer, users, seen, 20, method="implicit"))
