"""Tuning and learning curves follow the direction: an item -> users hypothesis is tuned per item on
the validation window (never per user), for grids, optuna and epoch curves alike."""
from __future__ import annotations

import numpy as np
import pytest
from _tiny import tiny_vk
from test_item_eval import notebook_ndcg

from harness.runner import experiment, tasks as runner
from harness.evaluation import items as item_eval
from harness.runner.tuning import window as tuning
from harness.arms import lightfm, profile
from harness.arms.registry import check_params
from harness.design.prepare import prepare
from harness.spec import Arm, Decision, Hypothesis, Segment, Split
from harness.design.split import split

ENGAGED = "like|dislike|share|bookmark|click_on_author|open_comments"
SPLIT = Split.cold_items(25, sample=0.3, seed=1)


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("itemtune"), "synthetic-itemtune", n_users=300, n_items=200, seed=5,
                   mean_interactions=25)


@pytest.fixture(scope="module")
def data(inter):
    return item_eval.prepare_items(prepare(inter, split(inter, SPLIT), ENGAGED))


def _loop_objective(scorer, train, k: int) -> float:
    """Hand computation: rebuild the validation pairs from the events with a per-user loop, then rank
    candidate users per item (users seen with the item in the inner training masked), NDCG@k, mean."""
    ev = train.events
    val_pairs, inner_rows = set(), []
    for u, g in ev.groupby("user", sort=True):
        g = g.iloc[np.argsort(g["time"].to_numpy(), kind="stable")]
        n_val = max(1, int(np.floor(tuning.VALIDATION_SHARE * len(g)))) if len(g) >= 2 else 0
        inner, held = g.iloc[:len(g) - n_val], g.iloc[len(g) - n_val:]
        inner_rows.append(inner)
        inner_items = set(inner["item"])
        val_pairs |= {(u, i) for i, p in zip(held["item"], held["positive"]) if p and i not in inner_items}
    import pandas as pd
    import scipy.sparse as sp

    inner = pd.concat(inner_rows)
    seen = sp.csr_matrix((np.ones(len(inner)), (inner["user"], inner["item"])), shape=(train.n_users, train.n_items))
    candidates = np.flatnonzero(np.diff(seen.indptr) > 0)
    rel_users: dict = {}
    for u, i in val_pairs:
        if u in set(candidates):
            rel_users.setdefault(i, set()).add(u)
    items = np.array(sorted(rel_users))
    scores = scorer.score(np.arange(train.n_users))
    return float(np.mean(notebook_ndcg(scores, seen, rel_users, items, candidates, k)))


def test_item_objective_equals_a_per_item_loop(data):
    params = {"watched": 1.0, "engaged": 0.5}
    got = tuning.validation_objective(profile.fit, data.train, 0, params, "ndcg@100", unit="items")({})
    inner = tuning.validation_data(data.train, "items").train
    want = _loop_objective(profile.fit(inner, 0, **params), data.train, 100)
    assert got == pytest.approx(want, abs=1e-9)
    per_user = tuning.validation_objective(profile.fit, data.train, 0, params, "ndcg@100")({})
    assert abs(per_user - got) > 1e-3  # the two directions are different objectives


def test_grid_search_in_the_item_direction_scores_items(data):
    arm = Arm("p", "profile", grid={"engaged": [0.0, 2.0], "disliked": [0.0, -1.0]})
    check_params(arm.kind, arm.kwargs, arm.name)
    r = runner.run_task(runner.Task(ENGAGED, arm, 0), data, ("ndcg@100",), None, "k")
    vd = tuning.validation_data(data.train, "items")
    for t in r.tuning["trials"]:
        s = profile.fit(vd.train, 0, **t["params"])
        items = item_eval.evaluate_items(s, vd.users, vd.train.seen, vd.relevant, vd.candidates, ("ndcg@100",))
        assert t["score"] == pytest.approx(float(np.mean(items.values["ndcg@100"])), abs=1e-12)
    users = tuning.validation_data(data.train, "users")
    u_scores = [tuning.validation_objective(profile.fit, data.train, 0, {}, "ndcg@100")(t["params"])
                for t in r.tuning["trials"]]
    assert not np.allclose(u_scores, [t["score"] for t in r.tuning["trials"]])
    assert len(users.users) > 0 and vd.unit == "items" and len(vd.users) > 0


def test_item_hypothesis_records_a_per_item_learning_curve(inter, tmp_path):
    lfm = dict(loss="warp", no_components=8, learning_rate=0.05, user_features="profile")
    h = Hypothesis(id="HIC", claim="c", dataset="synthetic-itemtune", positives=(ENGAGED,),
                   baseline=Arm("mean", "profile"), treatment=Arm("lfm", "lightfm", epochs=3, curve=True, **lfm),
                   segments=(Segment.all(),), metrics=("ndcg@100",), primary="ndcg@100", seeds=(1,),
                   decision=Decision.better(0.0), n_boot=100, split=SPLIT, direction="item_to_users")
    out = experiment.run(h, inter=inter, results_dir=tmp_path, cache_dir=None, quiet=True)
    curve = out.summary["curves"][ENGAGED]["lfm"]["seeds"]["1"]
    assert len(curve) == 3
    d = item_eval.prepare_items(prepare(inter, split(inter, SPLIT), ENGAGED))
    vd = tuning.validation_data(d.train, "items")
    again = lightfm.fit(vd.train, 1, epochs=3, **lfm)
    per_item = item_eval.evaluate_items(again, vd.users, vd.train.seen, vd.relevant, vd.candidates, ("ndcg@100",))
    assert curve[-1] == pytest.approx(float(np.mean(per_item.values["ndcg@100"])), abs=1e-12)
    users = tuning.validation_curve(lightfm.fit, d.train, 1, lfm, "ndcg@100", 3)
    assert abs(users[-1] - curve[-1]) > 1e-3  # not the users -> items curve


def test_optuna_in_the_item_direction_scores_items(data):
    pytest.importorskip("optuna")
    tune = {"sampler": "random", "n_trials": 3, "space": {"engaged": ("float", 0.0, 2.0)}, "per": "seed"}
    t = tuning.search(profile.fit, data.train, 0, {"tune": tune}, "ndcg@100", "items")
    items = tuning.validation_objective(profile.fit, data.train, 0, {}, "ndcg@100", unit="items")
    users = tuning.validation_objective(profile.fit, data.train, 0, {}, "ndcg@100")
    assert [s for _, s in t.trials] == [items(p) for p, _ in t.trials]
    assert [s for _, s in t.trials] != [users(p) for p, _ in t.trials]
