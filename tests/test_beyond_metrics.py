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


def test_item_groups_few_values_many_providers_and_categories():
    # few values: each value a group, a missing value goes to "(none)"
    w, labels, _ = E.item_groups(np.array(["b", "a", None, "b"], dtype=object), np.zeros(4))
    assert labels == ("a", "b", "(none)")
    assert w.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]]
    # 20 providers (> MAX_GROUPS), one item each, provider p has p training users: q1 = the 4 most popular
    vals = np.array([f"p{j:02d}" for j in range(20)], dtype=object)
    w, labels, desc = E.item_groups(vals, np.arange(20))
    assert labels == ("q1", "q2", "q3", "q4", "q5") and "20 providers in 5 buckets" in desc
    assert [int(np.argmax(r)) for r in w] == [4] * 4 + [3] * 4 + [2] * 4 + [1] * 4 + [0] * 4
    # a provider's popularity is the sum over its items: p00 owns two items with 30 users together
    vals2 = np.concatenate([vals, ["p00"]])
    w2, _, _ = E.item_groups(vals2, np.concatenate([np.arange(20), [30]]))
    assert int(np.argmax(w2[0])) == 0 == int(np.argmax(w2[20]))
    # categories: an item in c categories gives 1/c to each, one in none to no group
    w, labels, _ = E.item_groups(None, np.zeros(3), categories=np.array([[1, 1], [0, 1], [0, 0]]),
                                 category_names=("Drama", "Comedy"))
    assert labels == ("Drama", "Comedy") and w.tolist() == [[0.5, 0.5], [0, 1], [0, 0]]


def test_group_shares_hand_case():
    # exposure of items 0..2 in two lists [0, 1] and [0, 2]: 2, 1/log2(3), 1/log2(3)
    d = 1 / math.log2(3)
    e = E.exposure(np.array([[0, 1], [0, 2]]), 3, discount=True)
    assert e.tolist() == pytest.approx([2, d, d])
    w = np.array([[0.5, 0.5], [0, 1], [1, 0]])
    assert E.group_shares(e, w).tolist() == pytest.approx([(1 + d) / (2 + 2 * d), (1 + d) / (2 + 2 * d)])
    assert np.isnan(E.group_shares(np.zeros(3), w)).all()


def test_exposure_groups_is_validated_before_training(ml100k):
    from harness.errors import HarnessError
    from harness.runner.prepared import check_exposure_groups
    from pathlib import Path

    from harness.runner import discover as registry

    h1 = registry.get("H1", Path(__file__).resolve().parents[1] / "hypotheses")
    base = h1.replace(metrics=("ndcg@10", "aplt@10"), primary="ndcg@10")
    with pytest.raises(HarnessError, match=r"exposure_groups='genre' needs .* beyond-accuracy metric"):
        h1.replace(metrics=("ndcg@10",), primary="ndcg@10", exposure_groups="genre")
    with pytest.raises(HarnessError, match=r"field 'exposure_groups' must be an item column name"):
        base.replace(exposure_groups=" ")
    assert "exposure_groups" not in base.to_dict()  # run ids without it are unchanged
    assert base.replace(exposure_groups="categories").to_dict()["exposure_groups"] == "categories"
    check_exposure_groups(base.replace(exposure_groups="categories"), ml100k)
    with pytest.raises(HarnessError, match=r"exposure_groups: dataset 'ml-100k' has no item metadata column "
                                           r"'author_id' .*fix exposure_groups="):
        check_exposure_groups(base.replace(exposure_groups="author_id"), ml100k)


def test_popularity_lift_hand_case():
    item_users = np.array([3, 2, 1, 0])
    history = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]))
    topk = np.array([[0, 1], [0, 2]])
    # GAP_r = mean(2.5, 2) = 2.25; GAP_p = mean(2.5, 1) = 1.75
    assert E.popularity_lift(topk, history, np.array([0, 1]), item_users) == pytest.approx(2.25 / 1.75 - 1)
    # the user without history (2) is left out of GAP_p but its list counts in GAP_r
    lift = E.popularity_lift(np.array([[0, 1], [0, 2], [3, 3]]), history, np.array([0, 1, 2]), item_users)
    assert lift == pytest.approx(((2.5 + 2 + 0) / 3) / 1.75 - 1)


def test_ild_unordered_pairs_equal_the_ordered_pair_formula():
    # RecTools documents ILD as sum over ordered pairs / (n (n - 1)); the harness averages unordered pairs
    v = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, -1.0]])
    top = np.array([[0, 1, 2, 3]])
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    d = 1 - u @ u.T
    assert B.ild(top, v)[0] == pytest.approx(d.sum() / (4 * 3), abs=1e-12)  # diagonal is 0


def test_gini_counts_zero_exposure_items_without_correction():
    # (0, 1, 1): weights (-2, 0, 2) -> 2 / (3 * 2); without the unexposed item it would be 0
    assert E.gini(np.array([1.0, 1.0, 0.0])) == pytest.approx(1 / 3, abs=1e-12)
    assert E.gini(np.array([1.0, 1.0])) == 0.0


def test_novelty_and_avgpop_reproduce_the_rectools_doc_examples():
    # RecTools 0.19 docstrings of MeanInvUserFreq and AvgRecPopularity (item ids 1..3 = indices 1..3)
    from harness.evaluation import metrics as M
    from harness.evaluation.users import _padded_popularity

    # MIUF: previous interactions u1 {1, 2}, u2 {1}, u3 {1}: 3 users; item 3 is cold (counted as 1 user)
    item_users = np.array([0, 3, 1, 0])
    top = np.array([[3, -1], [2, 3], [1, 2]])
    assert _padded_popularity("novelty", top, item_users, 3).tolist() == pytest.approx(
        [1.5849625, 1.5849625, 0.79248125], abs=1e-7)
    assert M.novelty(top[:, :1], item_users, 3).tolist() == pytest.approx([1.5849625, 1.5849625, 0.0], abs=1e-7)
    # ARP: previous u1 {1, 2}, u2 {1, 3}, u3 {1, 2} -> popularity 3, 2, 1
    item_users = np.array([0, 3, 2, 1])
    top = np.array([[1, 2, -1], [3, 1, 2], [3, 2, -1]])
    assert _padded_popularity("avgpop", top, item_users, 3).tolist() == [2.5, 2.0, 1.5]
    assert E.user_mean_popularity(top, item_users).tolist() == [2.5, 2.0, 1.5]
    assert M.avg_popularity(top[:, :1], item_users).tolist() == [3.0, 1.0, 1.0]


def test_history_gap_and_from_parts_match_catalogue():
    item_users = np.array([3, 2, 1, 0])
    history = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]))
    users = np.array([0, 1, 2])
    # GAP_p = mean(mean(3, 2), mean(1)) = 1.75; the user without history is left out
    assert E.history_gap(history, users, item_users) == pytest.approx(1.75)
    assert np.isnan(E.history_gap(history, np.array([2]), item_users))
    top = np.array([[0, 1], [2, -1], [-1, -1]])
    r = E.user_mean_popularity(top, item_users)
    assert r[:2].tolist() == [2.5, 1.0] and np.isnan(r[2])
    whole = E.catalogue(top, history, users, item_users, 2)
    parts = E.from_parts(E.exposure(top, 4), r, E.history_gap(history, users, item_users), 2)
    assert whole == pytest.approx(parts, abs=1e-12)
    assert whole["poplift@2"] == pytest.approx(((2.5 + 1.0) / 2) / 1.75 - 1)


def test_group_exposure_share_without_exposure_is_nan():
    assert np.isnan(E.group_exposure_share(np.full((2, 3), -1), np.array([0, 1]), 2)).all()


@pytest.mark.parametrize("values", [[0.1, 0.3, 0.2], [1.0, 1.5], [0.4, 0.41, 0.39, 0.5, 0.45]])
def test_seed_t_interval_matches_scipy(values):
    r = seed_t_interval(values, 0.9)
    lo, hi = stats.t.interval(0.9, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert (r.ci.low, r.ci.high) == pytest.approx((lo, hi), abs=1e-12)
    assert r.df == len(values) - 1 and "seeds" in r.method


# ----------------------------------------------------------------------------- wired into evaluate and a run
def test_evaluate_list_metrics_match_the_pure_functions():
    from harness.arms.scorer import FactorScorer
    from harness.evaluation.users import evaluate

    rng = np.random.default_rng(0)
    n_users, n_items = 6, 12
    seen = sp.csr_matrix((rng.random((n_users, n_items)) < 0.3).astype(np.float32))
    relevant = sp.csr_matrix((rng.random((n_users, n_items)) < 0.3) & (seen.toarray() == 0))
    users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    scorer = FactorScorer(rng.normal(size=(n_users, 3)).astype(np.float32),
                          rng.normal(size=(n_items, 3)).astype(np.float32))
    genres = (rng.random((n_items, 4)) < 0.4).astype(np.float32)
    names = ("ild@4", "calibration@4", "serendipity@4", "aplt@4", "ndcg@4")
    res = evaluate(scorer, users, seen, relevant, names, item_content=genres)
    from harness.evaluation.users import top_items
    from harness.evaluation.topk import hit_matrix
    top = top_items(scorer, users, seen, 4)
    tail = B.long_tail(np.bincount(seen.indices, minlength=n_items))
    np.testing.assert_allclose(res.values["ild@4"], B.ild(top, genres))
    np.testing.assert_allclose(res.values["aplt@4"], B.aplt(top, tail))
    np.testing.assert_allclose(res.values["serendipity@4"], B.serendipity(hit_matrix(top, relevant, users), top, tail))
    hist = [seen[u].indices for u in users]
    np.testing.assert_allclose(res.values["calibration@4"], B.calibration(top, hist, genres))
    # without content, ILD uses the arm's own item factors
    own = evaluate(scorer, users, seen, relevant, ("ild@4",))
    np.testing.assert_allclose(own.values["ild@4"], B.ild(top, scorer.item_vecs))


def test_missing_vectors_or_categories_are_one_line_errors():
    from harness.arms.scorer import ItemScorer
    from harness.errors import HarnessError
    from harness.evaluation.users import evaluate

    seen = sp.csr_matrix(np.eye(3, dtype=np.float32))
    relevant = sp.csr_matrix(np.roll(np.eye(3, dtype=bool), 1, axis=1))
    scorer = ItemScorer(seen, np.ones((3, 3), dtype=np.float32))
    with pytest.raises(HarnessError, match=r"metric ild: .* no item factors"):
        evaluate(scorer, np.arange(3), seen, relevant, ("ild@2",))
    with pytest.raises(HarnessError, match=r"metric calibration: needs item categories .* non-categorical"):
        evaluate(scorer, np.arange(3), seen, relevant, ("calibration@2",), item_content=np.full((3, 2), 0.5))


@pytest.fixture(scope="module")
def beyond_run(ml100k_dir, tmp_path_factory):
    from pathlib import Path

    from harness.runner import discover as registry
    from harness.runner import experiment
    from harness.spec import Arm

    h = registry.get("H1", Path(__file__).resolve().parents[1] / "hypotheses")
    h = h.replace(baseline=Arm("pop", "popularity"), treatment=Arm("als", "als", factors=8, iterations=3),
                  metrics=("ndcg@10", "ild@10", "calibration@10", "serendipity@10", "aplt@10", "novelty@10"),
                  primary="ndcg@10", seeds=(0, 1), n_boot=200, exposure_groups="categories")
    tmp = tmp_path_factory.mktemp("beyond")
    return experiment.run(h, dataset="ml-100k", data_dir=ml100k_dir, quiet=True, results_dir=tmp / "r",
                          cache_dir=tmp / "c", n_jobs=1)


def test_run_has_the_new_metrics_in_per_user_and_summary(beyond_run):
    import json

    import pandas as pd

    pu = pd.read_parquet(beyond_run.run_dir / "per_user.parquet")
    doc = json.loads((beyond_run.run_dir / "summary.json").read_text())
    for m in ("ild@10", "calibration@10", "serendipity@10", "aplt@10"):
        assert m in pu.columns and pu[m].notna().all()
        assert ((pu[m] >= 0) & (pu[m] <= (np.inf if m == "calibration@10" else 1))).all()
        assert any(c["metric"] == m for c in doc["cells"])
    # popularity ranks by training positives, the head by training users: its lists are almost all head items
    assert pu.loc[pu.arm == "pop", "aplt@10"].mean() < 0.05 < pu.loc[pu.arm == "als", "aplt@10"].mean()
    assert any("ild@10: mean pairwise cosine distance of the item content" in n for n in doc.get("notes", []))


def test_report_defines_the_new_metrics_and_their_family(beyond_run):
    text = (beyond_run.run_dir / "report.md").read_text()
    assert "`ild@k` = mean pairwise cosine distance" in text and "`aplt@k` = share of the top k" in text
    assert "beyond-accuracy (novelty/avgpop/ild/calibration/serendipity/aplt) cells are a separate family" in text


def test_catalogue_exposure_in_summary_and_report(beyond_run, ml100k):
    import json

    from harness.design.prepare import prepare
    from harness.design.split import split
    from harness.evaluation.users import top_items

    doc = json.loads((beyond_run.run_dir / "summary.json").read_text())
    exp = doc["exposure"]["rating>=4"]
    for arm in ("pop", "als"):
        for name in ("gini@10", "entropy@10", "poplift@10"):
            c = exp[arm][name]
            x = np.array(list(c["seeds"].values()))
            assert list(c["seeds"]) == ["0", "1"] and c["mean"] == pytest.approx(x.mean())
            if np.ptp(x) > 0:
                lo, hi = stats.t.interval(0.95, 1, loc=x.mean(), scale=stats.sem(x))
                assert (c["low"], c["high"]) == pytest.approx((lo, hi))
    # popularity is deterministic: recompute its exposure from its top-10 with the pure functions
    from harness.arms import popularity
    h = beyond_run  # noqa: F841
    d = prepare(ml100k, split(ml100k, ml100k.default_split), "rating>=4")
    top = top_items(popularity.fit(d.train, 0), d.users, d.train.seen, 10)
    want = E.catalogue(top, d.train.seen, d.users, np.bincount(d.train.seen.indices, minlength=d.train.n_items), 10)
    for name, v in want.items():
        assert exp["pop"][name]["seeds"]["0"] == pytest.approx(v, abs=1e-12)
    assert exp["pop"]["poplift@10"]["mean"] > exp["als"]["poplift@10"]["mean"]
    text = (beyond_run.run_dir / "report.md").read_text()
    assert "## Catalogue exposure" in text and "t interval over seeds on k - 1 df" in text


def test_cache_entry_without_exposure_is_a_miss_when_needed(tmp_path):
    from harness.evaluation.users import PerUserScores
    from harness.runner.cache import TaskCache

    cache = TaskCache(tmp_path)
    s = PerUserScores(np.arange(2), {"aplt@2": np.array([0.5, 1.0])}, np.array([1, 1]), 0, {"coverage@2": 0.5})
    cache.put("old", s)
    assert cache.get("old", metrics=("aplt@2",)) is not None
    assert cache.get("old", metrics=("aplt@2",), need_exposure=True) is None
    e = PerUserScores(s.users, s.values, s.n_relevant, 0, s.coverage, {"gini@2": 0.25, "poplift@2": -0.1})
    cache.put("no-item-vector", e)  # catalogue numbers but no per-item exposure (an older entry)
    assert cache.get("no-item-vector", metrics=("aplt@2",), need_exposure=True) is None
    v = {"exposure@2": np.array([1.0, 0.0, 1 / np.log2(3)])}
    e = PerUserScores(s.users, s.values, s.n_relevant, 0, s.coverage, {"gini@2": 0.25, "poplift@2": -0.1}, v)
    cache.put("new", e)
    got = cache.get("new", metrics=("aplt@2",), need_exposure=True)["scores"]
    assert got.exposure == e.exposure
    assert list(got.item_exposure) == ["exposure@2"] and np.array_equal(got.item_exposure["exposure@2"], v["exposure@2"])


def test_group_exposure_shares_and_deltas(beyond_run, ml100k):
    import json

    from harness.arms import popularity
    from harness.design.prepare import prepare
    from harness.design.split import split
    from harness.evaluation.users import top_items

    doc = json.loads((beyond_run.run_dir / "summary.json").read_text())
    ge = doc["group_exposure"]
    assert ge["column"] == "categories" and "Drama" in ge["groups"] and len(ge["groups"]) == ml100k.item_content.shape[1]
    rows = {(r["arm"], r["group"]): r for r in ge["rows"] if r["variant"] == "rating>=4"}
    # popularity is deterministic: its shares are its top-10's discounted exposure through the genre weights
    d = prepare(ml100k, split(ml100k, ml100k.default_split), "rating>=4")
    top = top_items(popularity.fit(d.train, 0), d.users, d.train.seen, 10)
    w, labels, _ = E.item_groups(None, np.zeros(ml100k.n_items), categories=ml100k.item_content,
                                 category_names=ml100k.content_names)
    want = E.group_shares(E.exposure(top, ml100k.n_items, discount=True), w)
    for g, v in zip(labels, want):
        assert rows[("pop", g)]["seeds"]["0"] == pytest.approx(v, abs=1e-12)
    assert sum(rows[("pop", g)]["mean"] for g in labels) == pytest.approx(1.0)
    # the delta per group is treatment - baseline of the same seed, t over seeds
    for r in (r for r in ge["deltas"] if r["variant"] == "rating>=4"):
        diff = [rows[("als", r["group"])]["seeds"][s] - rows[("pop", r["group"])]["seeds"][s] for s in ("0", "1")]
        assert [r["seeds"][s] for s in ("0", "1")] == pytest.approx(diff, abs=1e-12)
    # the catalogue cells of the treatment carry their paired delta too
    gini = doc["exposure"]["rating>=4"]["als"]["gini@10"]["delta"]
    pop_gini = doc["exposure"]["rating>=4"]["pop"]["gini@10"]["seeds"]
    als_gini = doc["exposure"]["rating>=4"]["als"]["gini@10"]["seeds"]
    assert gini["seeds"]["1"] == pytest.approx(als_gini["1"] - pop_gini["1"])
    text = (beyond_run.run_dir / "report.md").read_text()
    assert "### Exposure by item group" in text and "Diaz et al." in text


def test_group_exposure_from_the_cache_equals_a_fresh_run(ml100k_dir, tmp_path):
    """exposure_groups changes no task (shares are formed after the run from each task's cached exposure
    vector): a rerun with another grouping read from the cache equals the same run with no cache."""
    import json
    from pathlib import Path

    from harness.runner import discover as registry
    from harness.runner import experiment
    from harness.spec import Arm

    base = registry.get("H1", Path(__file__).resolve().parents[1] / "hypotheses").replace(
        baseline=Arm("pop", "popularity"), treatment=Arm("als", "als", factors=8, iterations=3),
        metrics=("ndcg@10", "aplt@10"), primary="ndcg@10", seeds=(0, 1), n_boot=200)
    cache = tmp_path / "c"
    experiment.run(base.replace(exposure_groups="categories"), dataset="ml-100k", data_dir=ml100k_dir, quiet=True,
                   results_dir=tmp_path / "a", cache_dir=cache, n_jobs=1)
    edited = base.replace(exposure_groups="release_year")
    cached = experiment.run(edited, dataset="ml-100k", data_dir=ml100k_dir, quiet=True,
                            results_dir=tmp_path / "b", cache_dir=cache, n_jobs=1)
    fresh = experiment.run(edited, dataset="ml-100k", data_dir=ml100k_dir, quiet=True,
                           results_dir=tmp_path / "n", cache_dir=None, n_jobs=1)
    got, want = (json.loads((r.run_dir / "summary.json").read_text())["group_exposure"] for r in (cached, fresh))
    assert got == want and got["column"] == "release_year" and "q1" in got["groups"]
    first = next((tmp_path / "a").glob("*/*/summary.json")).parent.name
    assert cached.run_dir.name == fresh.run_dir.name != first  # the grouping is in the run id
