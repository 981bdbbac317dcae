"""ANN retrieval (harness.evaluation.ann): the ``top_k`` protocol in the evaluator, the ``ann=`` option, its
determinism promise, its quality record, and one-line errors for bad parameters."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from harness.evaluation.ann import quality
from harness.evaluation.ann.index import AnnScorer, build
from harness.spec.ann import parse
from harness.arms.scorer import FactorScorer, ItemScorer
from harness.errors import HarnessError
from harness.evaluation.users import evaluate, top_items
from harness.spec import Arm, Decision, Hypothesis, Segment
from harness.evaluation.topk import generic_top, hit_matrix

hnswlib = pytest.importorskip("hnswlib")


def factors(n_users=300, n_items=500, d=8, seed=0) -> FactorScorer:
    rng = np.random.default_rng(seed)
    return FactorScorer(rng.standard_normal((n_users, d)).astype(np.float32),
                        rng.standard_normal((n_items, d)).astype(np.float32))


def seen_matrix(n_users, n_items, per_user=20, seed=1) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_users), per_user)
    cols = np.concatenate([rng.choice(n_items, per_user, replace=False) for _ in range(n_users)])
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    m.sort_indices()
    return m


# ---- the ann= option --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, pattern", [
    ({"method": "hnws"}, r"Unknown ANN method 'hnws'. Did you mean: hnsw\?"),
    ({"ef_search": 50}, r"ann\['ef_search'\]: Unknown hnsw parameter 'ef_search'"),
    ({"M": 1}, r"ann\['M'\]=1 must be an integer >= 2"),
    ({"ef": 10.5}, r"ann\['ef'\]=10.5 must be an integer >= 1"),
    ({"space": "cosine"}, r"Unknown space 'cosine'"),
    ({"method": "faiss-ivf", "nlist": 16, "nprobe": 32}, r"nprobe'\]=32 exceeds nlist=16"),
    ({"method": "faiss-ivf", "ef": 10}, r"Unknown faiss-ivf parameter 'ef'"),
    ({"method": "faiss-ivf", "niter": 0}, r"ann\['niter'\]=0 must be an integer >= 1"),
    ({"method": "faiss-ivf", "train_per_list": 2.5}, r"ann\['train_per_list'\]=2.5 must be an integer >= 1"),
    ({"method": "faiss-ivf", "train_sample": 1000}, r"Unknown faiss-ivf parameter 'train_sample'"),
    ({"niter": 5}, r"ann\['niter'\]: Unknown hnsw parameter 'niter'"),
    ({"method": "faiss-ivf", "encoding": "pq"}, r"ann\['encoding'\]: Unknown encoding 'pq'.*Available: flat, fp16, sq8"),
    ({"method": "faiss-ivf", "refine": 0}, r"ann\['refine'\]=0 must be an integer >= 1"),
    ({"refine": 2}, r"ann\['refine'\]: Unknown hnsw parameter 'refine'"),
    ("hnsw", r"ann must be a dict"),
])
def test_bad_ann_values_are_one_line_errors(value, pattern):
    with pytest.raises(HarnessError, match=pattern):
        parse(value, "a")


def test_ef_below_k_is_refused_when_the_hypothesis_loads():
    def hyp(ef):
        return Hypothesis(id="HA", claim="c", dataset="synthetic-vk", positives=("watch_ratio>=0.5",),
                          baseline=Arm("exact", "als"), treatment=Arm("hnsw", "als", ann={"ef": ef}),
                          segments=(Segment.all(),), metrics=("ndcg@10", "recall@20"), primary="ndcg@10",
                          seeds=(0,), decision=Decision.not_worse(0.002))
    with pytest.raises(HarnessError, match=r"Arm 'hnsw': ann\['ef'\]=10 is below k=20 .* use ef >= 20"):
        hyp(10)
    assert hyp(20).treatment.kwargs["ann"] == {"ef": 20}


def test_ann_on_a_model_that_is_not_a_factor_model_is_refused():
    from harness.arms.registry import check_params

    with pytest.raises(HarnessError, match=r"Arm 'knn' \(itemknn\): ann= needs a factor model"):
        check_params("itemknn", {"ann": {"ef": 50}}, "knn")
    check_params("als", {"factors": 8, "ann": {"ef": 50}}, "a")  # ann is not passed on as an ALS parameter
    scorer = ItemScorer(sp.csr_matrix(np.eye(3, dtype=np.float32)), np.eye(3, dtype=np.float32))
    with pytest.raises(HarnessError, match=r"Arm 'u': ann= needs a factor model, but its fit returned a ItemScorer"):
        build(scorer, parse({}, "u"), 0, "u")


def test_diverged_factors_are_refused():
    f = factors()
    f.item_vecs[3, 0] = np.nan
    with pytest.raises(HarnessError, match="NaN or inf"):
        build(f, parse({}, "x"), 0, "x")


# ---- top_k: correctness and determinism -------------------------------------------------------------

def test_a_wide_search_reproduces_exact_ranking_with_seen_items_excluded():
    f = factors()
    seen = seen_matrix(300, 500)
    users = np.arange(300)
    ann = build(f, parse({"M": 32, "ef_construction": 400, "ef": 500}, "x"), 0, "x")
    top, vals = ann.top_k(users, 10, seen)
    exact = generic_top(f, users, seen, 10)[0]
    assert (top == exact).mean() > 0.99  # HNSW with ef = catalogue size is (nearly) exhaustive
    assert not hit_matrix(top, seen, users).any()  # no seen item is recommended
    assert np.all(np.diff(vals, axis=1) <= 0)  # best first
    np.testing.assert_allclose(vals, np.take_along_axis(f.score(users), top, axis=1), rtol=1e-5)


def test_equal_scores_rank_by_lower_item_index():
    item_vecs = np.array([[1, 0], [1, 0], [0, 1], [1, 0], [0.5, 0]], np.float32)  # items 0, 1, 3 tie
    f = FactorScorer(np.array([[1, 0]], np.float32), item_vecs)
    ann = build(f, parse({"ef": 5}, "x"), 0, "x")
    top, _ = ann.top_k(np.array([0]), 3, sp.csr_matrix((1, 5), dtype=np.float32))
    assert top.tolist() == [[0, 1, 3]]
    top, _ = ann.top_k(np.array([0]), 2, sp.csr_matrix(([1.0], ([0], [0])), shape=(1, 5)))
    assert top.tolist() == [[1, 3]]


def test_user_with_fewer_than_k_unseen_items_falls_back_to_the_exact_ranking():
    f = factors(n_users=2, n_items=30)
    seen = sp.csr_matrix((np.ones(27, np.float32), (np.zeros(27, int), np.arange(27))), shape=(2, 30))
    ann = build(f, parse({"ef": 10}, "x"), 0, "x")
    top, _ = ann.top_k(np.array([0, 1]), 10, seen)
    assert top.tolist() == generic_top(f, np.array([0, 1]), seen, 10)[0].tolist()
    assert set(top[0, :3]) == {27, 28, 29}  # the three unseen items first, then seen ones, as the dense path


def test_a_unit_result_does_not_depend_on_its_batch_threads_or_a_rebuild(tmp_path):
    f = factors(n_users=900, n_items=2000, d=16)
    seen = seen_matrix(900, 2000, per_user=5, seed=2)
    seen = sp.csr_matrix(seen.multiply(np.random.default_rng(3).random((900, 1)) < 0.7))  # varied seen counts
    users = np.arange(900)
    spec = parse({"M": 4, "ef_construction": 10, "ef": 10}, "x")  # weak: the results are approximate
    ann = build(f, spec, 0, "x")
    full = top_items(ann, users, seen, 10)
    assert (quality.overlap_at_k(full, generic_top(f, users, seen, 10)[0]) < 1).any()
    assert np.array_equal(full, top_items(ann, users, seen, 10, num_threads=2))
    sub = users[::7]
    assert np.array_equal(full[::7], top_items(ann, sub, seen, 10))
    assert np.array_equal(full[::-1], ann.top_k(users[::-1], 10, seen)[0])  # order/mix of units irrelevant
    again = build(f, spec, 0, "x")
    assert graph_bytes(again, tmp_path / "a") == graph_bytes(ann, tmp_path / "b")  # same seed: same graph


def graph_bytes(scorer: AnnScorer, path) -> bytes:
    """The saved graph (``save_index`` holds no seed field, unlike a pickle)."""
    scorer.index.save_index(str(path))
    return path.read_bytes()


def test_the_seed_changes_the_graph(tmp_path):
    """hnswlib's level generator (minstd_rand0) treats seeds 0 and 1 alike: the harness offsets the seed."""
    f = factors(n_items=3000, d=16)
    spec = parse({"M": 8, "ef": 10}, "x")
    graphs = [graph_bytes(build(f, spec, s, "x"), tmp_path / f"g{s}") for s in (0, 1, 2)]
    assert len(set(graphs)) == 3


def test_item_to_users_direction_ranks_users_per_item():
    f = factors(n_users=400, n_items=60)
    seen = seen_matrix(400, 60, per_user=5)
    items = np.arange(60)
    ann = build(f, parse({"M": 32, "ef_construction": 400, "ef": 400}, "x"), 0, "x", item_to_users=True)
    top, _ = ann.top_k(items, 10, seen.T.tocsr())
    exact = generic_top(FactorScorer(f.item_vecs, f.user_vecs), items, seen.T.tocsr(), 10)[0]
    assert top.max() >= 60 and (top == exact).mean() > 0.99  # user indices, best users first
    assert not hit_matrix(top, seen.T.tocsr(), items).any()


def test_mips_space_orders_by_inner_product():
    f = factors(n_users=50, n_items=400)
    f.item_vecs[:] *= np.random.default_rng(4).uniform(0.2, 3, (400, 1)).astype(np.float32)  # varied norms
    ann = build(f, parse({"space": "mips", "M": 32, "ef_construction": 400, "ef": 400}, "x"), 0, "x")
    users = np.arange(50)
    none = sp.csr_matrix((50, 400), dtype=np.float32)
    assert quality.overlap_at_k(ann.top_k(users, 10, none)[0], generic_top(f, users, none, 10)[0]).mean() > 0.99


def test_faiss_ivf_probing_every_list_is_exact():
    pytest.importorskip("faiss")
    f = factors()
    seen = seen_matrix(300, 500)
    users = np.arange(300)
    ann = build(f, parse({"method": "faiss-ivf", "nlist": 8, "nprobe": 8}, "x"), 0, "x")
    assert np.array_equal(ann.top_k(users, 10, seen)[0], generic_top(f, users, seen, 10)[0])


def centroids(scorer: AnnScorer) -> np.ndarray:
    return scorer.index.quantizer.reconstruct_n(0, scorer.index.nlist)


def test_faiss_ivf_training_options_default_to_the_previous_fixed_values():
    """Unset, niter / train_per_list train exactly as before they existed (10 iterations, 64 points
    per list sampled by faiss with the seed); set, they change the lists; the seed still matters."""
    faiss = pytest.importorskip("faiss")
    f = factors(n_users=20, n_items=3000, d=8)
    base = {"method": "faiss-ivf", "nlist": 16, "nprobe": 4}
    default = build(f, parse(base, "x"), 3, "x")
    assert default.spec.to_dict() == {**base, "niter": 10, "train_per_list": 64, "encoding": "flat", "refine": 1,
                                      "space": "ip", "sample": 1000}
    old = faiss.IndexIVFFlat(faiss.IndexFlatIP(8), 8, 16, faiss.METRIC_INNER_PRODUCT)
    old.cp.seed, old.cp.niter, old.cp.max_points_per_centroid = 3, 10, 64  # the code before the options
    old.train(f.item_vecs)
    np.testing.assert_array_equal(centroids(default), old.quantizer.reconstruct_n(0, 16))
    explicit = build(f, parse({**base, "niter": 10, "train_per_list": 64}, "x"), 3, "x")
    np.testing.assert_array_equal(centroids(explicit), centroids(default))
    for change in ({"niter": 2}, {"train_per_list": 8}):
        assert not np.array_equal(centroids(build(f, parse({**base, **change}, "x"), 3, "x")), centroids(default))
    small = parse({**base, "train_per_list": 8}, "x")  # 128 of the 3000 items, drawn with the seed
    np.testing.assert_array_equal(centroids(build(f, small, 3, "x")), centroids(build(f, small, 3, "x")))
    assert not np.array_equal(centroids(build(f, small, 4, "x")), centroids(build(f, small, 3, "x")))


@pytest.mark.parametrize("extra", [{}, {"encoding": "fp16"}, {"encoding": "sq8", "refine": 2}])
def test_faiss_ivf_results_do_not_depend_on_the_batch(extra):
    pytest.importorskip("faiss")
    f = factors(n_users=600, n_items=3000, d=16)
    seen = seen_matrix(600, 3000, per_user=5, seed=2)
    seen = sp.csr_matrix(seen.multiply(np.random.default_rng(3).random((600, 1)) < 0.7))
    users = np.arange(600)
    ann = build(f, parse({"method": "faiss-ivf", "nlist": 32, "nprobe": 3, "niter": 4, "train_per_list": 20,
                          "space": "mips", **extra}, "x"), 0, "x")
    full = top_items(ann, users, seen, 10)
    assert (quality.overlap_at_k(full, generic_top(f, users, seen, 10)[0]) < 1).any()  # approximate
    assert np.array_equal(full, top_items(ann, users, seen, 10, num_threads=2))
    assert np.array_equal(full[::7], top_items(ann, users[::7], seen, 10))
    assert np.array_equal(full[::-1], ann.top_k(users[::-1], 10, seen)[0])


@pytest.mark.parametrize("space", ["ip", "mips"])
def test_faiss_ivf_encodings_probing_every_list_are_exact_and_refine_widens_the_candidates(space):
    """fp16 / sq8 codes only choose candidates; they are re-scored exactly. With every list probed,
    fp16 (and sq8 with refine) give the exact ranking; refine=1 leaves results as before it existed."""
    pytest.importorskip("faiss")
    f = factors(n_users=300, n_items=2000, d=13)  # d % 8 != 0 (padded inside, also with mips' extra column)
    seen = seen_matrix(300, 2000)
    users = np.arange(300)
    exact = generic_top(f, users, seen, 10)[0]
    base = {"method": "faiss-ivf", "nlist": 8, "nprobe": 8, "space": space}
    assert np.array_equal(build(f, parse({**base, "encoding": "fp16"}, "x"), 0, "x").top_k(users, 10, seen)[0], exact)
    none = sp.csr_matrix((300, 2000), dtype=np.float32)  # k candidates exactly: no seen items to widen them
    sq8 = [build(f, parse({**base, "encoding": "sq8", "refine": r}, "x"), 0, "x").top_k(users, 10, none)[0]
           for r in (1, 4)]
    exact_none = generic_top(f, users, none, 10)[0]
    assert quality.overlap_at_k(sq8[0], exact_none).mean() < 0.995  # 8-bit codes miss some of the top 10
    assert np.array_equal(sq8[1], exact_none)  # 4x candidates, re-scored exactly, recover them
    weak = {"method": "faiss-ivf", "nlist": 32, "nprobe": 2, "space": space}
    one = build(f, parse({**weak, "refine": 1}, "x"), 0, "x").top_k(users, 10, seen)[0]
    assert np.array_equal(one, build(f, parse(weak, "x"), 0, "x").top_k(users, 10, seen)[0])


# ---- the evaluator's top_k protocol ------------------------------------------------------------------

class Padded:
    """A top_k scorer that knows only items 0 and 1 (-1 at the other ranks)."""

    def top_k(self, units, k, exclude):
        top = np.full((len(units), k), -1, np.int64)
        top[:, 0], top[:, 1] = 1, 0
        return top, np.zeros((len(units), k), np.float32)

    def score(self, users):
        raise AssertionError("the evaluator must prefer top_k")


def test_padding_counts_as_a_miss_not_as_an_item():
    n_items = 6
    # training popularity: item 0 seen by 2 users, item 1 by 1 (top_k here ignores exclusion)
    seen = sp.csr_matrix((np.ones(3, np.float32), ([0, 1, 2], [0, 0, 1])), shape=(3, n_items))
    # user 0: relevant 0; user 1: relevant 5 (the last item, which -1 would alias); user 2: relevant 1
    relevant = sp.csr_matrix((np.ones(3, bool), ([0, 1, 2], [0, 5, 1])), shape=(3, n_items))
    s = evaluate(Padded(), np.arange(3), seen, relevant, ("hitrate@3", "ndcg@3", "avgpop@3", "novelty@3"))
    assert s.values["hitrate@3"].tolist() == [1.0, 0.0, 1.0]
    np.testing.assert_allclose(s.values["ndcg@3"], [1 / np.log2(3), 0.0, 1.0])
    assert s.coverage["coverage@3"] == pytest.approx(2 / 6)  # items 0 and 1 only
    assert s.values["avgpop@3"].tolist() == [1.5, 1.5, 1.5]  # over the two real items, not (1 + 2 + pad) / 3
    np.testing.assert_allclose(s.values["novelty@3"], (-np.log2(1 / 3) - np.log2(2 / 3)) / 2)


def test_a_top_k_that_breaks_the_protocol_is_a_one_line_error():
    class Bad(Padded):
        def top_k(self, units, k, exclude):
            return np.zeros((len(units), k + 1), np.int64), None

    rel = sp.csr_matrix(np.eye(2, 4, dtype=bool))
    with pytest.raises(HarnessError, match=r"Bad.top_k returned int64 \(2, 4\); the protocol needs int item indices "
                                           r"\(2, 3\)"):
        evaluate(Bad(), np.arange(2), sp.csr_matrix((2, 4), dtype=np.float32), rel, ("ndcg@3",))


def test_generic_method_ranks_an_ann_scorer_exactly():
    f = factors()
    seen = seen_matrix(300, 500)
    ann = build(f, parse({"M": 2, "ef_construction": 2, "ef": 10}, "x"), 0, "x")
    assert isinstance(ann, AnnScorer)
    users = np.arange(300)
    assert np.array_equal(top_items(ann, users, seen, 10, method="generic"), top_items(f, users, seen, 10))


# ---- quality record ---------------------------------------------------------------------------------

def test_overlap_at_k_by_hand():
    approx = np.array([[1, 2, 3], [4, -1, 6], [7, 8, 9]])
    exact = np.array([[3, 2, 1], [4, 5, 6], [0, 1, 2]])
    assert quality.overlap_at_k(approx, exact).tolist() == [1.0, 2 / 3, 0.0]


def test_summarize_pairs_seeds_on_one_user_sample():
    recs = [("v", "a", s, {"method": "hnsw", "params": {"ef": 10}, "k": 2, "users": [3, 5, 9],
                           "recall": [1.0, 0.5, 1.0], "exact": {"ndcg@2": [1.0, 0.5, 0.0]},
                           "ann": {"ndcg@2": [1.0, 0.0 + 0.1 * s, 0.0]}}) for s in (1, 0)]
    out = quality.summarize(recs, 0.95)["v"]["a"]
    assert out["seeds"] == [0, 1] and out["n_users"] == 3 and out["recall"]["mean"] == pytest.approx(5 / 6)
    d = out["delta"]["ndcg@2"]
    assert d["estimate"] == pytest.approx(np.mean([0.5, 0.4]) / 3)
    assert d["low"] < d["estimate"] < d["high"]
    recs[0][3]["users"] = [3, 5, 8]
    with pytest.raises(RuntimeError, match="differ between seeds"):
        quality.summarize(recs, 0.95)


def test_an_ann_task_cache_key_follows_the_index_code(monkeypatch):
    from harness.runner import tasks as runner
    from harness.evaluation.ann import index

    task = runner.Task("v", Arm("a", "als", ann={"ef": 20}), 0)
    exact = runner.Task("v", Arm("a", "als"), 0)
    key, exact_key = runner.task_key(task, "ctx"), runner.task_key(exact, "ctx")
    monkeypatch.setattr(index, "source_hash", lambda: "edited")
    assert runner.task_key(task, "ctx") != key  # editing harness/evaluation/ann/index.py refits ANN arms
    assert runner.task_key(exact, "ctx") == exact_key  # and nothing else
