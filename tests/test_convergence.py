"""Learning curves on the validation window, epochs="auto", the convergence guard, and LightFM's
identity / normalize options. Generated data only (runs in every clone)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from _tiny import prepared, tiny_vk
import scipy.sparse as sp

from harness.runner import experiment, tasks as runner
from harness.runner.tuning import window as tuning
from harness.arms import lightfm as lfm
from harness.arms.scorer import FactorScorer
from harness.arms.registry import check_params
from harness.errors import HarnessError
from harness.evaluation.users import evaluate
from harness.spec import Arm, Decision, Hypothesis, Segment


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("conv"), "synthetic-conv", n_users=500, n_items=200, seed=4)


@pytest.fixture(scope="module")
def data(inter):
    return prepared(inter)


def test_still_improving_by_hand():
    flat = [0.10, 0.20, 0.25, 0.26, 0.26, 0.26, 0.26, 0.26, 0.26, 0.26]
    assert tuning.still_improving(flat) is None
    rising = [0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.22, 0.24, 0.26, 0.28]
    # last 20 % of 10 epochs: from epoch 8 (0.24) to epoch 10 (0.28): +0.04 > 1 % of 0.28
    assert tuning.still_improving(rising) == pytest.approx(0.04)
    assert tuning.still_improving([0.2, 0.2000, 0.2001, 0.2001, 0.2002]) is None  # below 1 %
    assert tuning.still_improving([0.1, 0.2, 0.3]) is None  # too short to judge


def scripted_fit(quality):
    """An epoch-trained arm whose validation quality follows a script: after epoch e it scores with
    the training positives' popularity when ``quality[e - 1]`` else with reversed popularity."""
    def fit(train, seed, epochs=10, on_epoch=None):
        pop = np.asarray(train.positives.sum(axis=0), dtype=np.float32).ravel()
        ones = np.ones((train.n_users, 1), np.float32)
        good, bad = FactorScorer(ones, pop[:, None]), FactorScorer(ones, -pop[:, None])
        scorer = bad
        for e in range(1, epochs + 1):
            scorer = good if quality[e - 1] else bad
            if on_epoch is not None:
                on_epoch(e, scorer)
        return scorer
    return fit


def test_validation_curve_stops_after_patience_epochs_without_improvement(data):
    q = [False, True, True, False, False, False, True, True]
    full = tuning.validation_curve(scripted_fit(q), data.train, 0, {}, "ndcg@10", 8)
    assert len(full) == 8 and full[1] > full[0] and full[3] < full[1]
    stopped = tuning.validation_curve(scripted_fit(q), data.train, 0, {}, "ndcg@10", 8, patience=3)
    # best at epoch 2 (the first of the equal good epochs); epochs 3, 4, 5 do not beat it: stop after 5
    np.testing.assert_array_equal(stopped, full[:5])
    assert tuning.best_epoch(stopped) == 2


def test_a_curve_that_dips_before_it_rises_is_flagged_when_patience_stops_it_at_the_start(data):
    """LightFM BPR on sparse positives (H1's like|share|bookmark on synthetic-vk) scores best after
    epoch 1, dips for 10+ epochs, then climbs far higher: patience stops it at epoch 1, and the report
    must say the model compared is barely trained."""
    q = [True, False, False, False, False, True, True, True]
    stopped = tuning.validation_curve(scripted_fit(q), data.train, 0, {}, "ndcg@10", 8, patience=3)
    assert len(stopped) == 4 and tuning.best_epoch(stopped) == 1 and tuning.best_at_start(stopped)
    assert tuning.best_at_start([0.3, 0.1, 0.2]) and not tuning.best_at_start([0.1, 0.3, 0.2])
    assert not tuning.best_at_start([0.3])  # one epoch is not a stopped curve
    # H8's LightFM with features on synthetic-kion: flat from epoch 1 (converged), noise below 10 %: not a dip
    assert not tuning.best_at_start([0.1028, 0.1014, 0.1005, 0.1005])
    assert tuning.best_at_start([0.0097, 0.0063, 0.0026, 0.0034])  # H1's BPR curve before it climbed to 0.07
    doc = {"v": {"bpr": {"metric": "ndcg@10", "seeds": {"0": [0.3, 0.1, 0.1, 0.1], "1": [0.1, 0.2, 0.3, 0.3],
                                                      "2": [0.2, 0.1, 0.1, 0.1]}, "mean": [0.2, 0.13, 0.17, 0.17]}}}
    notes = [n for n in experiment.convergence_notes(doc) if "best after the first epoch" in n]
    assert notes == ["WARNING: arm 'bpr' (v): its validation ndcg@10 was best after the first epoch for seed(s) "
                     "0, 2 of 3, so the model compared is barely trained; a curve that dips before it rises "
                     "fools early stopping: raise patience (or fix epochs), or check learning_rate and loss"]


def test_epochs_auto_arms_are_judged_seed_by_seed():
    """With epochs='auto', seeds stop at different epochs; the mean over the seeds still running rises
    at its tail because the seeds still improving are the ones left. A seed stopped by patience has
    converged by that rule; one that ran out of max_epochs is judged on its own curve."""
    stopped_early = [0.10, 0.20, 0.30, 0.31, 0.32, 0.31, 0.30, 0.30]  # best at 5, 3 epochs without improvement
    stopped_late = [0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.71, 0.70, 0.70, 0.70]  # best at 8, stopped at 11
    rising = [0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50]  # max_epochs 10, still rising
    grid = np.full((2, len(stopped_late)), np.nan)
    grid[0, :8], grid[1] = stopped_early, stopped_late
    mean = list(np.nanmean(grid, axis=0))
    assert tuning.still_improving(mean) is not None  # the survivor artefact the per-seed rule avoids
    doc = {"v": {"auto": {"metric": "ndcg@10", "seeds": {"0": stopped_early, "1": stopped_late}, "mean": mean}}}
    assert experiment.convergence_notes(doc, {"auto": 3}) == []
    assert len(experiment.convergence_notes(doc)) == 1  # judged as fixed epochs, the mean is flagged
    doc["v"]["auto"]["seeds"]["2"] = rising
    notes = experiment.convergence_notes(doc, {"auto": 3})
    assert notes == ["WARNING: arm 'auto' (v) had not converged: epochs='auto' ran out of max_epochs with its "
                     "validation ndcg@10 still rising beyond 1 % for seed(s) 2 (+0.1000 over the last 20 % of 10 "
                     "epochs); the comparison may reflect training speed, not quality: raise max_epochs or the "
                     "learning rate"]
    hyp = Hypothesis(id="HA", claim="c", dataset="d", positives=("p",), baseline=Arm("a", "popularity"),
                     treatment=Arm("b", "lightfm", epochs="auto", patience=5), segments=(Segment.all(),),
                     metrics=("ndcg@10",), primary="ndcg@10", seeds=(0,), decision=Decision.better(0.0))
    assert experiment.auto_patience(hyp) == {"b": 5}


def test_curve_points_are_the_inner_model_on_the_validation_window(data):
    """The curve's last point is a LightFM fitted on the inner training data for that many epochs,
    scored on the validation users: nothing from the test window."""
    params = dict(loss="warp", no_components=8, learning_rate=0.05)
    curve = tuning.validation_curve(lfm.fit, data.train, 1, params, "ndcg@10", 3)
    inner, val, users = tuning.validation_split(data.train)
    again = lfm.fit(inner, 1, epochs=3, **params)
    assert curve[-1] == pytest.approx(np.mean(evaluate(again, users, inner.seen, val, ("ndcg@10",)).values["ndcg@10"]),
                                      abs=1e-12)


def test_epochs_auto_refits_the_chosen_epoch_on_the_whole_training_window(data):
    arm = Arm("warp", "lightfm", loss="warp", no_components=8, epochs="auto", max_epochs=12, patience=2)
    check_params(arm.kind, arm.kwargs, arm.name)
    r = runner.run_task(runner.Task("v", arm, 3), data, ("ndcg@10",), None, "k")
    chosen = r.tuned["epochs"]
    assert chosen == tuning.best_epoch(r.curve) and len(r.curve) <= 12
    assert len(r.curve) == 12 or len(r.curve) == chosen + 2  # stopped by patience, or ran out of epochs
    direct = lfm.fit(data.train, 3, loss="warp", no_components=8, epochs=chosen)
    ref = evaluate(direct, data.users, data.train.seen, data.relevant, ("ndcg@10",))
    np.testing.assert_array_equal(r.scores.values["ndcg@10"], ref.values["ndcg@10"])


@pytest.mark.parametrize("params,message", [
    ({"epochs": "auto", "grid": {"no_components": [4, 8]}}, "epochs='auto' cannot be combined with grid="),
    ({"epochs": 5, "patience": 2}, "patience only applies with epochs='auto'"),
    ({"epochs": "auto", "max_epochs": 0}, "max_epochs=0 must be a positive integer"),
    ({"epochs": "many"}, "parameter epochs='many' is a str; it must be int"),
    ({"epochs": 0}, "epochs=0 must be a positive integer"),
    ({"identity": False}, None),
])
def test_epoch_parameter_errors_are_one_line(params, message, data):
    if message is None:  # identity=False without features fails when the features are built
        with pytest.raises(HarnessError, match="identity=False needs item_features"):
            lfm.fit(data.train, 0, epochs=1, **params)
        return
    with pytest.raises(HarnessError, match=message):
        check_params("lightfm", params, "a")


def test_content_only_and_row_normalised_features(data):
    hybrid = lfm.item_feature_matrix(data.train, "embedding[:8]")
    only = lfm.item_feature_matrix(data.train, "embedding[:8]", identity=False)
    norm = lfm.item_feature_matrix(data.train, "embedding[:8]", identity=False, normalize="rows")
    n = data.train.n_items
    assert hybrid.shape == (n, n + 8) and only.shape == (n, 8)
    np.testing.assert_array_equal(hybrid[:, n:].toarray(), only.toarray())
    raw = np.asarray(data.train.item_content[:, :8], dtype=np.float32)
    l1 = np.abs(raw).sum(axis=1, keepdims=True)
    expect = np.divide(raw, l1, out=np.zeros_like(raw), where=l1 > 0)
    np.testing.assert_allclose(norm.toarray(), expect, rtol=1e-6)
    assert sp.isspmatrix_csr(norm) and norm.dtype == np.float32
    h_norm = lfm.item_feature_matrix(data.train, "embedding[:8]", normalize="rows").toarray()
    np.testing.assert_allclose(np.abs(h_norm).sum(axis=1)[l1.ravel() > 0], 1.0, rtol=1e-5)


def test_report_warns_about_an_arm_still_improving(inter, tmp_path):
    slow = dict(loss="bpr", no_components=8, learning_rate=0.005, epochs=6, curve=True)
    hyp = Hypothesis(id="HV", claim="slow", dataset="synthetic-conv", positives=("watch_ratio>=0.5",),
                     baseline=Arm("pop", "popularity"), treatment=Arm("slow", "lightfm", **slow),
                     segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
                     decision=Decision.better(0.0), n_boot=200)
    out = experiment.run(hyp, inter=inter, results_dir=tmp_path, cache_dir=None, quiet=True)
    doc = json.loads((out.run_dir / "summary.json").read_text())
    mean = doc["curves"]["watch_ratio>=0.5"]["slow"]["mean"]
    assert len(mean) == 6 and tuning.still_improving(mean) is not None
    text = (out.run_dir / "report.md").read_text()
    assert "- **warning:** arm 'slow' (watch_ratio>=0.5) had not converged" in text  # under the verdict
    assert any(w.startswith("arm 'slow' (watch_ratio>=0.5) had not converged") for w in doc["warnings"])
    assert "learning curves on the validation window" in text
