"""``refit`` for ``epochs="auto"`` arms: ``"full"`` (refit the chosen epochs on the whole training window,
the default) or ``"none"`` (evaluate the early-stopped inner model). Generated data only."""
from __future__ import annotations

import json

import numpy as np
import pytest
from _errcheck import cli, interactions_csv, new_files, one_line_exit_2, snapshot, write_hyp
from _tiny import prepared, tiny_vk

from harness.arms import lightfm as lfm
from harness.arms.registry import check_params
from harness.arms.scorer import FactorScorer
from harness.errors import HarnessError
from harness.evaluation.users import evaluate
from harness.runner import experiment, tasks as runner
from harness.runner.cache import task_key
from harness.runner.tuning import window as tuning
from harness.spec import Arm, Decision, Hypothesis, Segment

LFM = dict(loss="warp", no_components=8, learning_rate=0.5, epochs="auto", max_epochs=12, patience=2)


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("refit"), "synthetic-refit", n_users=500, n_items=200, seed=4)


@pytest.fixture(scope="module")
def data(inter):
    return prepared(inter)


def _scores(scorer, data):
    return evaluate(scorer, data.users, data.train.seen, data.relevant, ("ndcg@10",)).values["ndcg@10"]


def test_refit_none_evaluates_the_inner_model_after_the_chosen_epoch(data):
    """The scores are those of a LightFM fitted on the inner training data (training minus the
    validation window) for exactly the chosen epochs with the task's seed: the curve ran past that
    epoch (patience), so a model taken at the end of the curve would differ."""
    arm = Arm("warp", "lightfm", **LFM, refit="none")
    check_params(arm.kind, arm.kwargs, arm.name)
    r = runner.run_task(runner.Task("v", arm, 3), data, ("ndcg@10",), None, "k")
    chosen = r.tuned["epochs"]
    assert chosen == tuning.best_epoch(r.curve) and len(r.curve) == chosen + 2  # stopped by patience
    inner, _, _ = tuning.validation_split(data.train)
    params = {k: v for k, v in LFM.items() if k not in ("epochs", "max_epochs", "patience")}
    np.testing.assert_array_equal(r.scores.values["ndcg@10"], _scores(lfm.fit(inner, 3, epochs=chosen, **params), data))
    last = _scores(lfm.fit(inner, 3, epochs=len(r.curve), **params), data)
    assert not np.array_equal(r.scores.values["ndcg@10"], last)  # not the model at the end of the curve
    full = runner.run_task(runner.Task("v", Arm("warp", "lightfm", **LFM), 3), data, ("ndcg@10",), None, "k")
    assert full.tuned == r.tuned and np.array_equal(full.curve, r.curve)  # same curve, same choice
    assert not np.array_equal(full.scores.values["ndcg@10"], r.scores.values["ndcg@10"])  # another model


def live_fit(quality):
    """An epoch arm that hands ``on_epoch`` the same scorer every epoch, its arrays changed in place
    (popularity when ``quality[e - 1]``, else reversed popularity), as a user's arm might."""
    def fit(train, seed, epochs=10, on_epoch=None):
        pop = np.asarray(train.positives.sum(axis=0), dtype=np.float32).ravel()
        scorer = FactorScorer(np.ones((train.n_users, 1), np.float32), -pop[:, None].copy())
        for e in range(1, epochs + 1):
            scorer.item_vecs[:, 0] = pop if quality[e - 1] else -pop
            if on_epoch is not None:
                on_epoch(e, scorer)
        return scorer
    return fit


def test_the_kept_model_is_a_copy_taken_at_the_best_epoch(data):
    q = [False, True, False, False, True]
    curve, kept = tuning.validation_curve_kept(live_fit(q), data.train, 0, {}, "ndcg@10", 5, patience=2)
    assert len(curve) == 4 and tuning.best_epoch(curve) == 2
    pop = np.asarray(data.train.positives.sum(axis=0), dtype=np.float32).ravel()
    inner, _, _ = tuning.validation_split(data.train)
    inner_pop = np.asarray(inner.positives.sum(axis=0), dtype=np.float32).ravel()
    np.testing.assert_array_equal(kept.item_vecs[:, 0], inner_pop)  # epoch 2's state, of the inner fit
    assert not np.array_equal(inner_pop, pop)
    np.testing.assert_array_equal(tuning.validation_curve(live_fit(q), data.train, 0, {}, "ndcg@10", 5, 2), curve)


def hypothesis(refit: str | None) -> Hypothesis:
    extra = {} if refit is None else {"refit": refit}
    return Hypothesis(id="HR", claim="refit", dataset="synthetic-refit", positives=("watch_ratio>=0.5",),
                      baseline=Arm("pop", "popularity"), treatment=Arm("warp", "lightfm", **LFM, **extra),
                      segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
                      decision=Decision.better(0.0), n_boot=200)


def test_refit_none_same_bytes_for_n_jobs_and_cache_and_reported(inter, tmp_path):
    hyp = hypothesis("none")
    runs = {tag: experiment.run(hyp, inter=inter, results_dir=tmp_path / tag, quiet=True, **kw)
            for tag, kw in (("seq", dict(n_jobs=1, cache_dir=tmp_path / "cache")),
                            ("loky2", dict(n_jobs=2, cache_dir=None)),
                            ("cached", dict(n_jobs=2, cache_dir=tmp_path / "cache")))}
    assert runs["cached"].fitted == 0 and runs["cached"].cached == 4
    ref = (runs["seq"].run_dir / "per_user.parquet").read_bytes()
    for tag, out in runs.items():
        assert (out.run_dir / "per_user.parquet").read_bytes() == ref, tag
    doc = json.loads((runs["seq"].run_dir / "summary.json").read_text())
    assert doc["curves"]["watch_ratio>=0.5"]["warp"]["refit"] == "none"
    notes = [n for n in doc["notes"] if "tuned on the validation window" in n]
    assert len(notes) == 2 and all("refit='none'" in n for n in notes)
    assert "refit='none'" in (runs["seq"].run_dir / "report.md").read_text()


def test_refit_full_is_the_default_and_the_cache_keeps_the_modes_apart(inter, tmp_path):
    runs = {tag: experiment.run(hypothesis(tag), inter=inter, results_dir=tmp_path / str(tag), quiet=True,
                                n_jobs=1, cache_dir=tmp_path / "cache")
            for tag in (None, "full", "none")}
    assert all(runs[t].cached == 2 and runs[t].fitted == 2 for t in ("full", "none"))  # popularity came from the cache
    default, full = (runs[t].run_dir / "per_user.parquet" for t in (None, "full"))
    assert default.read_bytes() == full.read_bytes()
    assert default.read_bytes() != (runs["none"].run_dir / "per_user.parquet").read_bytes()
    doc = json.loads((runs[None].run_dir / "summary.json").read_text())
    assert doc["curves"]["watch_ratio>=0.5"]["warp"]["refit"] == "full"
    assert not any("refit" in n for n in doc["notes"])  # the default's notes read as before
    keys = {task_key(runner.Task("v", Arm("w", "lightfm", **LFM, **kw), 0), "c") for kw in ({}, {"refit": "none"})}
    assert len(keys) == 2


@pytest.mark.parametrize("params,message", [
    ({"epochs": 5, "refit": "none"}, "refit only applies with epochs='auto'"),
    ({"refit": "full"}, "refit only applies with epochs='auto'"),
    ({"epochs": "auto", "refit": "partial"}, "refit='partial' must be 'full' .* or 'none'"),
    ({"epochs": "auto", "refit": None}, "refit=None must be 'full'"),
    ({"epochs": "auto", "tune": {"sampler": "random", "n_trials": 2, "space": {"refit": ["full", "none"]}}},
     r"tune\['space'\] has refit, which is not tuned"),
])
def test_refit_errors(params, message):
    with pytest.raises(HarnessError, match=message):
        check_params("lightfm", params, "a")
    check_params("lightfm", {"epochs": "auto", "refit": "none"}, "a")  # fine


def test_refit_error_on_the_command_line_is_one_line_and_writes_nothing(tmp_path):
    data = interactions_csv(tmp_path / "d.csv")
    write_hyp(tmp_path / "hyps", data, treatment='Arm("lfm", "lightfm", epochs=5, refit="none")')
    before = snapshot(tmp_path)
    out = cli("run", "HT", "--hypotheses", str(tmp_path / "hyps"), "--results-dir", str(tmp_path / "results"),
              "--cache-dir", str(tmp_path / "cache"), "--quiet", "--n-jobs", "1", cwd=tmp_path)
    one_line_exit_2(out, r"Arm 'lfm': refit only applies with epochs='auto'")
    assert new_files(tmp_path, before) == []


def test_two_tower_refit_none_is_the_inner_fit_of_the_chosen_epochs(tmp_path):
    pytest.importorskip("torch")
    from harness.arms import two_tower
    from harness.data import kion, synthetic_kion
    from harness.design.prepare import prepare
    from harness.design.split import split

    inter = kion.load(synthetic_kion.generate(tmp_path / "d", n_users=300, n_items=100, seed=3), name="synthetic-kion-r")
    data = prepare(inter, split(inter, inter.default_split), "watched_pct>=50", cold_users=True)
    small = dict(n_factors=8, hidden=16, batch_size=128)
    arm = Arm("tt", "two_tower", **small, epochs="auto", max_epochs=6, patience=1, refit="none")
    check_params(arm.kind, arm.kwargs, arm.name)
    r = runner.run_task(runner.Task("v", arm, 2), data, ("ndcg@10",), None, "k")
    chosen = r.tuned["epochs"]
    inner, _, _ = tuning.validation_split(data.train)
    np.testing.assert_array_equal(r.scores.values["ndcg@10"],
                                  _scores(two_tower.fit(inner, 2, epochs=chosen, **small), data))
