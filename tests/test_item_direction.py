"""Item -> users hypotheses end to end: spec validation, the cold-item split, item segments, the
profile arms (hand case, GMM determinism, training items only), bad input via the CLI (exit 2)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _tiny import tiny_vk

from harness.runner import experiment
from harness.evaluation import items as item_eval
from harness.design import segments
from harness.arms import gmm_profile, profile
from harness.arms.scorer import TrainData
from harness.errors import HarnessError
from harness.design.prepare import prepare
from harness.spec import Arm, Decision, Hypothesis, Segment, Split
from harness.design.split import split

ENGAGED = "like|dislike|share|bookmark|click_on_author|open_comments"


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("items"), "synthetic-items", n_users=400, n_items=300, seed=3,
                   mean_interactions=30)


def hyp(**kw) -> Hypothesis:
    base = dict(id="HI", claim="c", dataset="synthetic-items", positives=(ENGAGED,),
                baseline=Arm("mean", "profile"), treatment=Arm("gmm", "gmm_profile", n_components=8),
                segments=(Segment.cold_items(), Segment.all()), metrics=("ndcg@100", "recall@100"),
                primary="ndcg@100", seeds=(0, 1), decision=Decision.better(0.0), n_boot=200,
                split=Split.cold_items(25, sample=0.3, seed=1), direction="item_to_users")
    base.update(kw)
    return Hypothesis(**base)


# ----------------------------------------------------------------------------- spec
@pytest.mark.parametrize("kw, pattern", [
    (dict(direction="item_to_user"), r"Unknown direction 'item_to_user'. Did you mean: item_to_users\?"),
    (dict(segments=(Segment.activity_quantile(0.7),)), r"segment 'dense' \(activity_quantile\) is over users but "
                                                       r"direction='item_to_users'"),
    (dict(direction="user_to_items"), r"segment 'cold' \(cold_items\) is over items but direction='user_to_items'"),
    (dict(metrics=("ndcg@100", "novelty@100")), r"novelty/avgpop/ild/calibration/serendipity/aplt describe users. lists; .* use accuracy metrics"),
    (dict(cold_users=True), r"cold_users=True evaluates users without training history, but "
                            r"direction='item_to_users'"),
    (dict(treatment=Arm("als", "als", ann={"method": "hnsw", "ef": 50})),
     r"Arm 'als': ann\['ef'\]=50 is below k=100 of the metrics; .* use ef >= 100"),
])
def test_direction_and_segments_are_checked(kw, pattern):
    with pytest.raises(HarnessError, match=pattern):
        hyp(**kw)


def test_spec_constructors_validate():
    with pytest.raises(HarnessError, match="either values=.* or low=/high="):
        Segment.item_meta("duration", "d")
    with pytest.raises(HarnessError, match="needs low < high"):
        Segment.item_meta("duration", "d", low=30, high=10)
    with pytest.raises(HarnessError, match="integers 0 <= low < high"):
        Segment.item_popularity(5, 5, "p")
    with pytest.raises(HarnessError, match=r"sample=1.0 must be in \[0, 1\)"):
        Split.cold_items(25, sample=1.0)
    with pytest.raises(HarnessError, match="only goes with"):
        Split("global_time", test_from=25, sample=0.1)
    assert "direction" not in hyp(direction="user_to_items", segments=(Segment.all(),)).to_dict()
    assert hyp().to_dict()["direction"] == "item_to_users" and hyp().unit == "items"


# ----------------------------------------------------------------------------- split and segments
def test_cold_item_split_counts_and_no_leakage(inter):
    spec = Split.cold_items(25, sample=0.3, seed=1)
    res = split(inter, spec)
    ev = inter.events
    item, time = ev["item"].to_numpy(), ev["time"].to_numpy()
    in_train = np.bincount(item[~(time >= 25)], minlength=inter.n_items) > 0
    in_test = np.bincount(item[time >= 25], minlength=inter.n_items) > 0
    warm = np.flatnonzero(in_train & in_test)
    sampled = np.sort(np.random.default_rng(1).permutation(warm)[:int(round(0.3 * len(warm)))])
    assert res.counts["cold_items_sampled"] == len(sampled) > 10
    assert res.counts["cold_items_first_seen_in_test"] == int((in_test & ~in_train).sum())
    assert res.counts["train_rows_dropped_for_cold_items"] == int(np.isin(item[time < 25], sampled).sum()) > 0
    assert not np.isin(item[res.train], sampled).any()           # held-out items have no training row
    assert np.array_equal(res.test, time >= 25)                    # the test window is untouched
    assert res.train.sum() + res.test.sum() + res.counts["train_rows_dropped_for_cold_items"] == len(ev)


def test_prepare_items_and_item_segments(inter):
    d = prepare(inter, split(inter, Split.cold_items(25, sample=0.3, seed=1)), ENGAGED)
    di = item_eval.prepare_items(d)
    assert di.unit == "items" and di.relevant.shape == (inter.n_items, len(di.candidates))
    # relevant (item, user) pairs = test engagements of users with training history, not seen in training
    ev = inter.events
    eng = ev[(ev["time"] >= 25) & ev[ENGAGED.split("|")].any(axis=1)]
    hist = np.diff(d.train.seen.indptr) > 0
    seen = d.train.seen.toarray() > 0
    pairs = {(i, u) for u, i in zip(eng["user"], eng["item"]) if hist[u] and not seen[u, i]}
    rel = di.relevant.tocoo()
    assert {(int(i), int(di.candidates[c])) for i, c in zip(rel.row, rel.col)} == pairs
    assert np.array_equal(di.users, np.unique([i for i, _ in pairs]))
    cold = segments.membership(Segment.cold_items(), di, inter)
    n_train_users = np.asarray(seen.sum(axis=0)).ravel()
    assert np.array_equal(cold, n_train_users[di.users] == 0) and cold.sum() == di.counts["eval_items_cold"] > 5
    pop = segments.membership(Segment.item_popularity(1, 10, "p"), di, inter)
    assert np.array_equal(pop, (n_train_users[di.users] >= 1) & (n_train_users[di.users] < 10))
    dur = inter.item_meta["duration"].to_numpy()[di.users]
    short = segments.membership(Segment.item_meta("duration", "short", high=20), di, inter)
    assert np.array_equal(short, dur < 20) and 0 < short.sum() < len(short)
    with pytest.raises(HarnessError, match="no item metadata column 'genre'"):
        segments.membership(Segment.item_meta("genre", "g", values=[1]), di, inter)


# ----------------------------------------------------------------------------- arms
def _train(content, seen_rows, pos_rows=None, dislikes=()):
    n_users, n_items = len(seen_rows), len(content)

    def csr(rows):
        m = np.zeros((n_users, n_items), np.float32)
        for u, items in enumerate(rows):
            m[u, list(items)] = 1
        return sp.csr_matrix(m)

    events = pd.DataFrame({"user": [u for u, _ in dislikes], "item": [i for _, i in dislikes],
                           "dislike": [True] * len(dislikes)})
    return TrainData(csr(pos_rows or seen_rows), csr(seen_rows), np.asarray(content, np.float32), events=events)


def test_profile_weights_hand_case():
    # items: e0 = x, e1 = y, e2 = -x (already unit length); user 0 watched {0, 1}, engaged {1}, disliked {2}
    content = [[1, 0], [0, 1], [-1, 0], [0, 0]]  # item 3 has no content
    train = _train(content, [{0, 1, 2}], pos_rows=[{1}], dislikes=[(0, 2)])
    s = profile.fit(train, 0, watched=1.0, engaged=2.0, disliked=-1.0)
    # p = mean(x, y, -x) + 2 y - (-x) = (0, 1/3) + (0, 2) + (1, 0) = (1, 7/3); cosine with x, y, -x
    p = np.array([1.0, 7 / 3]) / np.hypot(1.0, 7 / 3)
    np.testing.assert_allclose(s.score(np.array([0]))[0, :3], [p[0], p[1], -p[0]], rtol=1e-6)
    assert s.score(np.array([0]))[0, 3] == np.float32(-2.0)  # NO_CONTENT
    with pytest.raises(HarnessError, match="needs a 'dislike' column"):
        profile.fit(TrainData(train.positives, train.seen, train.item_content), 0, disliked=-1.0)


def test_gmm_fitted_on_training_items_only_and_deterministic(inter):
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    from harness.arms.content import normalised_content

    d = prepare(inter, split(inter, Split.cold_items(25, sample=0.3, seed=1)), ENGAGED)
    post, has = gmm_profile.fit_items(d.train, 4, 8)
    e, _ = normalised_content(inter.item_content)
    trained = has & (np.asarray(d.train.seen.sum(axis=0)).ravel() > 0)
    gm = GaussianMixture(8, covariance_type="diag", reg_covar=1e-4, random_state=4).fit(e[trained].astype(float))
    np.testing.assert_allclose(post[has], gm.predict_proba(e[has].astype(float)), atol=1e-12)
    a = gmm_profile.fit(d.train, 4, n_components=8)
    with threadpool_limits(2):  # other thread settings (the arm fits with one thread whatever the caller set)
        b = gmm_profile.fit(d.train, 4, n_components=8)
    c = gmm_profile.fit(d.train, 5, n_components=8)
    assert np.array_equal(a.user_vecs, b.user_vecs) and np.array_equal(a.item_vecs, b.item_vecs)
    assert not np.array_equal(a.item_vecs, c.item_vecs)  # the seed matters
    with pytest.raises(HarnessError, match=rf"n_components=5000 exceeds the {int(trained.sum())} training items"):
        gmm_profile.fit(d.train, 0, n_components=5000)


# ----------------------------------------------------------------------------- runs
def test_run_same_results_for_n_jobs(inter, tmp_path):
    h = hyp(segments=(Segment.cold_items(), Segment.item_meta("duration", "short", high=20), Segment.all()))
    a = experiment.run(h, inter=inter, results_dir=tmp_path / "a", cache_dir=None, n_jobs=1, quiet=True)
    b = experiment.run(h, inter=inter, results_dir=tmp_path / "b", cache_dir=None, n_jobs=2, quiet=True)
    assert (a.run_dir / "per_user.parquet").read_bytes() == (b.run_dir / "per_user.parquet").read_bytes()
    pu = pd.read_parquet(a.run_dir / "per_user.parquet")
    assert (pu["item_id"] == pu["user_id"]).all() and set(pu["item_id"]) <= set(inter.item_ids)
    cold = a.summary["data"]["variants"][ENGAGED]["eval_items_cold"]
    assert pu[pu.seg_cold & (pu.arm == "gmm") & (pu.seed == 0)].shape[0] == cold
    assert a.summary["hypothesis"]["unit"] == "items"
    report = (a.run_dir / "report.md").read_text()
    assert "| segment | metric | items |" in report and "seed x item interval" in report
    from harness.outputs import report as R

    assert "segment  metric      items" in R.terminal(a.summary)
    n = a.summary["data"]["split_counts"]["cold_items_sampled"]
    assert n > 0 and f"cold items sampled {n}," in report


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd)


BAD = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="H9", claim="c", dataset="ml-100k", positives=({pos!r},),
    baseline=Arm("mean", "profile"), treatment=Arm("gmm", "gmm_profile", n_components={k}),
    segments=(Segment.cold_items(), Segment.all()), metrics=("ndcg@100",), primary="ndcg@100", seeds=(0,),
    decision=Decision.better(0.0), direction="item_to_users")
"""


@pytest.mark.parametrize("pos, k, pattern", [
    ("like|dislike", 4, r"direction='item_to_users' needs the engagement column\(s\) dislike, like"),
    ("rating>=4", 100000, r"n_components=100000 exceeds the \d+ training items with content"),
])
def test_bad_item_hypotheses_exit_2(ml100k_dir, tmp_path, pos, k, pattern):
    import re

    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "h9_bad.py").write_text(BAD.format(pos=pos, k=k))
    out = _cli("run", "H9", "--hypotheses", str(hyps), "--dataset", "ml-100k", "--data-dir", str(ml100k_dir),
               "--results-dir", str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache"), "--quiet",
               cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and re.search(pattern, lines[0]), out.stderr
    assert not (tmp_path / "results" / "H9").exists()


def test_profiles_as_lightfm_user_features(inter):
    from harness.arms import lightfm

    d = prepare(inter, split(inter, Split.cold_items(25, sample=0.3, seed=1)), ENGAGED)
    uf = lightfm.user_feature_matrix(d.train, "gmm_profile:4", identity=False, seed=2)
    want = gmm_profile.profile_features(d.train, 2, 4)
    np.testing.assert_array_equal(uf.toarray(), want)
    watched = np.asarray(d.train.seen @ inter.item_has_content.astype(np.float32)).ravel() > 0
    np.testing.assert_allclose(want[watched].sum(axis=1), 1.0, rtol=1e-5)  # mean posteriors sum to 1
    assert (want[~watched] == 0).all()  # no watched item with content: no profile
    uf = lightfm.user_feature_matrix(d.train, "profile", identity=True)
    assert uf.shape == (inter.n_users, inter.n_users + inter.item_content.shape[1])
    s = lightfm.fit(d.train, 0, epochs=1, no_components=4, user_features="gmm_profile:4",
                    item_features="embedding[:8]")
    assert s.score(np.arange(3)).shape == (3, inter.n_items)
    with pytest.raises(HarnessError, match="user_features='gmm'"):
        lightfm.user_feature_matrix(d.train, "gmm")


def test_generator_cold_items_leave_everything_else_unchanged(tmp_path):
    import pyarrow.parquet as pq

    from harness.data import synthetic, vk_lsvd

    kw = dict(n_users=200, n_items=150, seed=4, mean_interactions=15)
    a = synthetic.generate(tmp_path / "a", **kw)
    b = synthetic.generate(tmp_path / "b", cold_items=30, **kw)
    for w in range(25):  # training weeks: the same bytes
        assert vk_lsvd.week_path(a, "synthetic", w).read_bytes() == vk_lsvd.week_path(b, "synthetic", w).read_bytes()
    va = pq.read_table(vk_lsvd.week_path(a, "synthetic", 25)).to_pandas()
    vb = pq.read_table(vk_lsvd.week_path(b, "synthetic", 25)).to_pandas()
    cold_ids = np.load(b / "synthetic_truth.npz")["cold_item_id"]
    assert len(cold_ids) == 30 and not np.isin(cold_ids, va.item_id).any()
    pd.testing.assert_frame_equal(vb[~vb.item_id.isin(cold_ids)].reset_index(drop=True), va)
    assert synthetic.info(b)["cold_item_rows"] == int(vb.item_id.isin(cold_ids).sum()) > 30
    inter = vk_lsvd.load(b, "synthetic")
    res = split(inter, Split.cold_items(25))
    assert res.counts["cold_items_first_seen_in_test"] == len(np.unique(vb.item_id[vb.item_id.isin(cold_ids)]))
    assert inter.item_has_content[np.isin(inter.item_ids, cold_ids)].all()  # content-only models can score them
    with pytest.raises(HarnessError, match="cold_items=-1 must be an integer >= 0"):
        synthetic.generate(tmp_path / "c", cold_items=-1, **kw)


def test_synthetic_cold_dataset_name_is_checked():
    from harness.data import load_dataset

    with pytest.raises(HarnessError, match="cold items as synthetic-vk:cold or synthetic-vk:x4\\+cold"):
        load_dataset("synthetic-vk:colder", None, None)


def test_cache_never_mixes_directions(inter, tmp_path):
    cache = tmp_path / "cache"
    items = experiment.run(hyp(segments=(Segment.all(),)), inter=inter, results_dir=tmp_path / "r", cache_dir=cache,
                           quiet=True)
    users = experiment.run(hyp(segments=(Segment.all(),), direction="user_to_items"), inter=inter,
                           results_dir=tmp_path / "r", cache_dir=cache, quiet=True)
    again = experiment.run(hyp(segments=(Segment.all(),)), inter=inter, results_dir=tmp_path / "r2", cache_dir=cache,
                           quiet=True)
    assert (items.fitted, users.fitted, again.fitted, again.cached) == (4, 4, 0, 4)
    assert "unit" not in users.summary["hypothesis"] and items.summary["hypothesis"]["unit"] == "items"
