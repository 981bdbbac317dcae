"""evaluate.py against the notebook-style per-user loop with LightFM's own ``model.predict``.

On the generated MovieLens-format fixture (always) and on the real ML-100K (skipped when absent).
"""
from __future__ import annotations

import numpy as np
import pytest

from harness.arms import lightfm as lfm
from harness.evaluation.users import evaluate
from harness.design.prepare import prepare
from harness.evaluation.naive import predict_loop_ndcg
from harness.design.split import split


def _ours_and_reference(inter, item_features):
    data = prepare(inter, split(inter, inter.default_split), "rating>=4")
    model, uf, itf = lfm.fit_model(data.train, seed=1, epochs=5, loss="warp", no_components=32,
                                   item_features=item_features)
    scorer = lfm.scorer_from_model(model, uf, itf)
    ours = evaluate(scorer, data.users, data.train.seen, data.relevant, ("ndcg@10",)).values["ndcg@10"]
    ref = predict_loop_ndcg(model, uf, itf, data.users, data.train.seen, data.relevant)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    return data, ours


@pytest.mark.parametrize("item_features", [None, "embedding[:32]"])
def test_ndcg_matches_predict_loop(ml100k, item_features):
    data, ours = _ours_and_reference(ml100k, item_features)
    assert len(ours) == len(data.users) == 300
    # a trained model, far above random: random NDCG@10 on the fixture is ~0.02 (tests/test_arms_contract.py),
    # LightFM WARP here 0.53; popularity, which cannot personalise, is ~0.12
    assert 0.2 < ours.mean() < 0.8


def test_ndcg_matches_predict_loop_on_real_ml100k(ml100k_real):
    data, ours = _ours_and_reference(ml100k_real, None)
    assert len(ours) == len(data.users) > 800
    assert 0.05 < ours.mean() < 0.6  # a trained model, far above random (~0.006 on ML-100K)


def test_prepare_counts_and_relevance(ml100k):
    data = prepare(ml100k, split(ml100k, ml100k.default_split), "rating>=4")
    # relevant items are never seen in training, and every evaluated user has both sides
    assert data.relevant.multiply(data.train.seen).nnz == 0
    assert (np.diff(data.relevant.indptr)[data.users] > 0).all()
    assert (data.n_train_pos[data.users] > 0).all()
    assert data.counts["eval_users"] == len(data.users)
    # the fixture, like ML-100K, gives every user >= 20 ratings, so all 300 have 10 test rows
    assert data.counts["test_users"] == 300
    assert data.counts["test_positives"] - data.counts["test_positives_seen_in_train"] == data.relevant.nnz
