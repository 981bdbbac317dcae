"""``--threads-per-task N``: fits train with ``num_threads=N`` where the arm's library takes it; a run whose
results are then not byte-reproducible (LightFM, BPR: Hogwild updates) says so in its cache keys, provenance
and report; ALS stays byte-identical. Generated data only; nothing is timed."""
from __future__ import annotations

import json

import numpy as np
import pytest
from _errcheck import cli, interactions_csv, one_line_exit_2, write_hyp
from _tiny import prepared, tiny_vk

from harness.arms.registry import check_params, resolve
from harness.errors import HarnessError
from harness.runner import experiment, plan as run_plan, tasks as runner
from harness.runner.cache import task_key
from harness.runner.options import RunOptions
from harness.spec import Arm, Decision, Hypothesis, Segment

LFM = dict(loss="warp", no_components=8, learning_rate=0.1, epochs=2)


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("threads"), "synthetic-threads", n_users=400, n_items=150, seed=5)


def hypothesis() -> Hypothesis:
    return Hypothesis(id="HT", claim="threads", dataset="synthetic-threads", positives=("watch_ratio>=0.5",),
                      baseline=Arm("als", "als", factors=8, iterations=3), treatment=Arm("warp", "lightfm", **LFM),
                      segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
                      decision=Decision.better(0.0), n_boot=200)


def test_each_built_in_arm_says_how_it_trains_with_threads():
    assert resolve("lightfm").threads == "not reproducible"
    assert resolve("bpr").threads == "not reproducible"
    assert resolve("als").threads == "reproducible"
    assert resolve("popularity").threads is None and resolve("itemknn").threads is None


def test_num_threads_in_an_arm_is_a_one_line_error_naming_the_flag():
    with pytest.raises(HarnessError, match="num_threads is set per run, not per arm: use --threads-per-task N"):
        check_params("lightfm", {"num_threads": 4}, "cf")
    with pytest.raises(HarnessError, match="threads_per_task=0: give a positive integer"):
        RunOptions(threads_per_task=0)


def test_keys_change_only_where_threads_apply():
    lfm, pop = Arm("w", "lightfm", **LFM), Arm("p", "popularity")
    assert task_key(runner.Task("v", lfm, 0), "c") == task_key(runner.Task("v", lfm, 0, 1), "c")
    assert task_key(runner.Task("v", lfm, 0, 2), "c") != task_key(runner.Task("v", lfm, 0), "c")
    assert task_key(runner.Task("v", lfm, 0, 2), "c") != task_key(runner.Task("v", lfm, 0, 3), "c")
    assert task_key(runner.Task("v", pop, 0, 2), "c") == task_key(runner.Task("v", pop, 0), "c")  # one thread anyway
    als = Arm("a", "als", factors=8)  # identical bytes at any thread count (next test): the same key
    assert task_key(runner.Task("v", als, 0, 2), "c") == task_key(runner.Task("v", als, 0), "c")


def test_als_with_two_threads_gives_the_same_bytes(inter):
    data = prepared(inter)
    arm = Arm("als", "als", factors=8, iterations=3)
    one, two = (runner.run_task(runner.Task("v", arm, 1, n), data, ("ndcg@10",), None, "k") for n in (1, 2))
    np.testing.assert_array_equal(one.scores.values["ndcg@10"], two.scores.values["ndcg@10"])


def test_lightfm_receives_the_threads(inter, monkeypatch):
    from harness.arms import lightfm

    seen = []
    fit = lightfm.fit_model

    def spy(*args, **kwargs):
        seen.append(kwargs.get("num_threads"))
        return fit(*args, **kwargs)

    monkeypatch.setattr(lightfm, "fit_model", spy)
    runner.run_task(runner.Task("v", Arm("w", "lightfm", **LFM), 0, 2), prepared(inter), ("ndcg@10",), None, "k")
    runner.run_task(runner.Task("v", Arm("w", "lightfm", **LFM), 0), prepared(inter), ("ndcg@10",), None, "k")
    assert seen == [2, 1]


def test_a_threaded_run_is_labelled_in_provenance_report_and_run_id(inter, tmp_path):
    runs = {n: experiment.run(hypothesis(), inter=inter, results_dir=tmp_path / str(n), quiet=True, n_jobs=1,
                              cache_dir=tmp_path / "cache", threads_per_task=n) for n in (1, 2)}
    assert runs[2].run_id != runs[1].run_id
    assert runs[2].cached == 2 and runs[2].fitted == 2  # ALS from the cache (same bytes), LightFM refitted
    prov = {n: json.loads((r.run_dir / "provenance.json").read_text()) for n, r in runs.items()}
    assert prov[1]["threads_per_task"] == 1 and prov[1]["not_reproducible"] == []
    assert prov[2]["threads_per_task"] == 2 and prov[2]["not_reproducible"] == ["warp"]
    doc = json.loads((runs[2].run_dir / "summary.json").read_text())
    warning = [w for w in doc["warnings"] if w.startswith("not byte-reproducible")]
    assert len(warning) == 1 and "arm(s) warp trained with 2 threads per task (--threads-per-task 2)" in warning[0]
    assert not any("byte-reproducible" in w for w in json.loads((runs[1].run_dir / "summary.json").read_text())
                   ["warnings"])
    assert "not byte-reproducible" in (runs[2].run_dir / "report.md").read_text()
    als = {n: r.per_user.query("arm == 'als'")["ndcg@10"].to_numpy() for n, r in runs.items()}
    np.testing.assert_array_equal(als[1], als[2])


def test_the_plan_shows_threads_per_arm(inter, tmp_path):
    plan = experiment.make_plan(hypothesis(), inter=inter, cache_dir=None, n_jobs=2, threads_per_task=2)
    lines = run_plan.render(plan)
    assert "  arm als (als): n/a (not trained in epochs); 2 threads; 2 tasks, 2 to train" in lines
    assert "  arm warp (lightfm): 2 epochs; 2 threads, not byte-reproducible for a seed; 2 tasks, 2 to train" in lines
    assert any(line.startswith("  cores: n_jobs=2 x 2 threads per task, backend loky") for line in lines)


def test_a_bad_flag_value_is_one_line(tmp_path):
    data = interactions_csv(tmp_path / "d.csv")
    write_hyp(tmp_path / "hyps", data)
    one_line_exit_2(cli("run", "HT", "--hypotheses", str(tmp_path / "hyps"), "--threads-per-task", "0",
                        cwd=tmp_path), "--threads-per-task")
    assert not (tmp_path / "results").exists()
