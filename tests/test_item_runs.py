"""``--save-runs`` for items -> users hypotheses: each evaluated item's top-k users, the very ranking
its per-item metrics were computed on (factor and generic scoring paths)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _tiny import tiny_vk
from test_item_eval import _case, _Dense

from harness.runner import experiment
from harness.arms.scorer import FactorScorer
from harness.errors import HarnessError
from harness.evaluation.items import top_users
from harness.data.runfiles import read_run
from harness.spec import Arm, Decision, Hypothesis, Segment, Split

ENGAGED = "like|dislike|share|bookmark|click_on_author|open_comments"
SLUG = experiment.variant_slug(ENGAGED)


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("itemruns"), "synthetic-itemruns", n_users=250, n_items=180, seed=7,
                   mean_interactions=25)


@pytest.fixture(scope="module")
def hyp():
    return Hypothesis(id="HR", claim="c", dataset="synthetic-itemruns", positives=(ENGAGED,),
                      baseline=Arm("mean", "profile"), treatment=Arm("knn", "itemknn", K=20),
                      segments=(Segment.all(),), metrics=("ndcg@100", "recall@20"), primary="ndcg@100",
                      seeds=(0, 1), decision=Decision.better(0.0), n_boot=100,
                      split=Split.cold_items(25, sample=0.3, seed=1), direction="item_to_users")


def _ndcg(ranked: list, relevant: set, k: int) -> float:
    dcg = sum(1.0 / np.log2(r + 2) for r, u in enumerate(ranked[:k]) if u in relevant)
    return dcg / sum(1.0 / np.log2(r + 2) for r in range(min(len(relevant), k)))


def test_saved_item_runs_are_the_evaluated_rankings(inter, hyp, tmp_path):
    out = experiment.run(hyp, inter=inter, results_dir=tmp_path, cache_dir=None, quiet=True, save_runs="parquet")
    pu = pd.read_parquet(out.run_dir / "per_user.parquet")
    d = experiment.prepare_hypothesis(hyp, inter).data[ENGAGED]
    relevant = {inter.item_ids[i]: set(inter.user_ids[d.candidates[d.relevant[i].indices]]) for i in d.users}
    seen = d.train.seen.T.tocsr()  # (items, users)
    for arm in ("mean", "knn"):  # factor path, generic path
        run = pd.read_parquet(out.run_dir / "runs" / SLUG / f"{arm}_seed1.parquet")
        assert list(run.columns) == ["item", "user", "rank", "unit"] and (run["unit"] == "items").all()
        lists = {i: g.sort_values("rank")["user"].tolist() for i, g in run.groupby("item")}
        assert set(lists) == set(relevant) and all(len(v) == 100 for v in lists.values())
        got = pu[(pu.arm == arm) & (pu.seed == 1)].set_index("item_id")["ndcg@100"]
        want = pd.Series({i: _ndcg(lists[i], relevant[i], 100) for i in lists})
        np.testing.assert_allclose(got.sort_index().to_numpy(), want.sort_index().to_numpy(), rtol=0, atol=1e-12)
        assert want.mean() > 0  # a real ranking, not all misses
        dense = {u: j for j, u in enumerate(inter.user_ids)}
        for i, users in list(lists.items())[:40]:  # users seen with the item in training never outrank others
            item = int(np.flatnonzero(inter.item_ids == i)[0])
            was_seen = np.isin([dense[u] for u in users], seen[item].indices)
            assert not (was_seen[:-1] & ~was_seen[1:]).any()
    with pytest.raises(HarnessError, match=r"column unit is 'items': each row ranks users for an item"):
        read_run(out.run_dir / "runs" / SLUG / "mean_seed0.parquet", inter.user_ids, inter.item_ids)


def test_saved_item_runs_in_trec_have_items_as_queries(inter, hyp, tmp_path):
    out = experiment.run(hyp.replace(seeds=(0,)), inter=inter, results_dir=tmp_path, cache_dir=None, quiet=True,
                         save_runs="trec")
    run = pd.read_csv(out.run_dir / "runs" / SLUG / "mean_seed0.trec", sep=" ", header=None,
                      names=["qid", "q0", "docid", "rank", "score", "tag"])
    assert set(run["qid"]) <= set(inter.item_ids) and set(run["docid"]) <= set(inter.user_ids)
    pu = pd.read_parquet(out.run_dir / "per_user.parquet")
    assert set(run["qid"]) == set(pu[pu.arm == "mean"]["item_id"]) and (run.groupby("qid").size() == 100).all()


@pytest.mark.parametrize("path", ["factor", "generic"])
def test_top_users_equals_a_loop_over_candidates(path):
    """Dense user ids (not candidate positions), seen users last, ties by lower user index."""
    u, v, seen, cand, _, _, items = _case(2)
    full = np.round(u @ v.T, 1).astype(np.float32)  # many exact ties
    scorer = FactorScorer(np.round(u, 1), v) if path == "factor" else _Dense(full)
    if path == "factor":
        full = scorer.user_vecs @ scorer.item_vecs.T
    got = top_users(scorer, items, seen, cand, 8, batch_size=7)
    dense_seen = seen.toarray() > 0
    for row, i in zip(got, items):
        key = np.where(dense_seen[cand, i], -np.inf, full[cand, i])
        np.testing.assert_array_equal(row, cand[np.argsort(-key, kind="stable")[:8]])
    assert 7 not in got and len(cand) < seen.shape[0]  # user 7 has no training history: never ranked
