"""Tuning on a validation window inside the training data: never the test window."""
from __future__ import annotations

import numpy as np
import pytest

from harness.runner import experiment
from harness.runner.tuning import window as tuning
from harness.arms.registry import get_fit
from harness.errors import HarnessError
from harness.design.prepare import prepare
from harness.spec import Arm, Decision, Hypothesis, Segment
from harness.design.split import split


@pytest.fixture(scope="module")
def data(ml100k):
    return prepare(ml100k, split(ml100k, ml100k.default_split), "rating>=4")


def test_validation_split_is_inside_training_and_before_its_end(data):
    inner, val, users = tuning.validation_split(data.train)
    held_out = data.train.seen.nnz - inner.seen.nnz
    assert 0.1 * data.train.seen.nnz < held_out < 0.3 * data.train.seen.nnz  # ~20 % of each user's history
    assert val.multiply(inner.seen).nnz == 0  # validation items are unseen in the inner train
    # every validation positive is a training positive (the test window is never touched)
    assert (val.astype(np.float32) - val.multiply(data.train.positives)).nnz == 0
    # per user, validation interactions are the latest ones of the training window
    ev = data.train.events
    for u in users[:50]:
        t_val = ev[(ev.user == u) & ev.item.isin(val[u].indices)].time.min()
        t_inner = ev[(ev.user == u) & ev.item.isin(inner.seen[u].indices)].time.max()
        assert t_inner <= t_val


def test_select_picks_the_best_grid_point_by_validation_score(data):
    fit = get_fit("als")
    params, trials = tuning.select(fit, data.train, 0, {"factors": 16, "iterations": 5},
                                   {"regularization": [0.01, 100.0, 10000.0]}, "ndcg@10")
    scores = [s for _, s in trials]
    assert [p["regularization"] for p, _ in trials] == [0.01, 100.0, 10000.0]
    assert params["regularization"] == trials[int(np.argmax(scores))][0]["regularization"]
    assert params["factors"] == 16


def test_bad_grid_is_one_line_error():
    with pytest.raises(HarnessError, match=r"Unknown parameter 'regularisation'. Did you mean: regularization"):
        from harness.arms.registry import check_params

        check_params("als", {"grid": {"regularisation": [0.1]}}, "als")
    with pytest.raises(HarnessError, match="non-empty list"):
        from harness.arms.registry import check_params

        check_params("als", {"grid": {"regularization": []}}, "als")


def test_tuned_run_reports_chosen_values(ml100k, tmp_path):
    h = Hypothesis(id="HTU", claim="tuned", dataset="ml-100k", positives=("rating>=4",),
                   baseline=Arm("pop", "popularity"),
                   treatment=Arm("als", "als", factors=16, iterations=5, grid={"regularization": [0.01, 10.0]}),
                   segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0,),
                   decision=Decision.better(0.0), n_boot=200)
    out = experiment.run(h, inter=ml100k, results_dir=tmp_path, cache_dir=tmp_path / "c", quiet=True)
    notes = [n for n in out.summary["notes"] if "tuned on the validation window" in n]
    assert len(notes) == 1 and "regularization" in notes[0]
    again = experiment.run(h, inter=ml100k, results_dir=tmp_path, cache_dir=tmp_path / "c", quiet=True)
    assert again.cached == 2 and [n for n in again.summary["notes"] if "tuned" in n] == notes
