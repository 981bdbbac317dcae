"""The plan before fitting (``run --plan`` and the first lines of every run): counts equal what the prepared
data holds, ``--plan`` fits and writes nothing, the estimate comes from earlier task timings (made-up seconds
here: real times are never asserted), and every finished task logs the time left."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _tiny import prepared as prepared_variant, tiny_vk

from harness.cli import main as cli_main
from harness.data import synthetic
from harness.runner import experiment, monitor, plan as run_plan, tasks as runner, timings
from harness.spec import Arm, Decision, Hypothesis, Seeds, Segment

POSITIVES = ("watch_ratio>=0.5", "like|share|bookmark")


def _hyp(dataset: str = "synthetic-plan", seeds=(0, 1, 2)) -> Hypothesis:
    return Hypothesis(id="HP", claim="item kNN beats popularity", dataset=dataset, positives=POSITIVES,
                      baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn", K=20),
                      segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=seeds,
                      decision=Decision.better(margin=0.0))


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("plan"), "synthetic-plan", n_users=150, n_items=60, seed=4)


def test_plan_counts_are_the_prepared_datas(inter, tmp_path):
    plan = experiment.make_plan(_hyp(), inter=inter, cache_dir=tmp_path / "cache", n_jobs=2)
    p = experiment.prepare_run(_hyp(), inter)
    assert plan.n_tasks == 2 * 2 * 3 == len(experiment.tasks_for(p))  # variants x arms x seeds
    assert [v.name for v in plan.variants] == list(POSITIVES)
    for v in plan.variants:
        d = prepared_variant(inter, v.name)  # the variant prepared on its own, outside the runner
        assert (v.rows, v.positives, v.evaluated) == (d.train.seen.nnz, d.train.positives.nnz, len(d.users))
        assert v.rows > v.positives > 0
    assert plan.variants[0].positives != plan.variants[1].positives  # each variant's own positives
    assert (plan.n_rows, plan.n_users, plan.n_items) == (len(inter.events), inter.n_users, inter.n_items)
    assert [(a.name, a.tasks, a.to_train) for a in plan.arms] == [("pop", 6, 6), ("knn", 6, 6)]
    lines = run_plan.render(plan)
    assert lines[0].startswith("plan: HP on synthetic-plan: ")
    assert lines[1] == "  tasks: 12 = 2 variants x 2 arms x 3 seeds; 0 in the task cache, 12 to train"
    assert lines[-2].startswith("  cores: n_jobs=2, backend loky, os.cpu_count()=")
    assert lines[-1] == "  estimated wall time: no estimate yet: the first finished task gives one"
    adaptive = experiment.make_plan(_hyp().replace(seeds=Seeds.adaptive()), inter=inter,
                                    cache_dir=None)
    assert adaptive.n_tasks == 2 * 2 * 15
    assert "tasks: up to 60 = 2 variants x 2 arms x 15 seeds (adaptive: looks after 3, 5, 7" in run_plan.render(adaptive)[1]


def test_each_arms_epoch_budget_and_tuning_trials():
    assert run_plan.epoch_budget(Arm("pop", "popularity")) == "n/a (not trained in epochs)"
    assert run_plan.epoch_budget(Arm("als", "als", factors=8)) == "n/a (not trained in epochs)"
    assert run_plan.epoch_budget(Arm("lfm", "lightfm", epochs="auto", max_epochs=7, patience=2)) == \
        "epochs='auto' (max_epochs=7, patience=2)"
    assert run_plan.epoch_budget(Arm("lfm", "lightfm", epochs="auto")) == "epochs='auto' (max_epochs=50, patience=3)"
    assert run_plan.epoch_budget(Arm("lfm", "lightfm", epochs=5)) == "5 epochs"
    assert run_plan.epoch_budget(Arm("lfm", "lightfm")) == "10 epochs"  # the fit's own default
    assert run_plan.epoch_budget(Arm("lfm", "lightfm", grid={"epochs": [5, 10]})) == "epochs chosen by the grid"
    assert run_plan.tuning_budget(Arm("lfm", "lightfm")) is None
    assert run_plan.tuning_budget(Arm("als", "als", grid={"factors": [8, 16], "regularization": [0.1, 1.0, 10.0]})) \
        == "grid: 6 trials per task"
    tune = {"sampler": "random", "n_trials": 4, "space": {"factors": ["int", 8, 32]}}
    assert run_plan.tuning_budget(Arm("als", "als", tune=tune)) == "tune: 4 random trials per task (per=seed)"


def test_the_estimate_is_per_arm_mean_seconds_over_the_workers():
    history = {"pop": [1.0, 3.0], "lfm": [100.0, 140.0]}  # made up: pop 2 s a task, lfm 120 s
    assert run_plan.estimate(history, {"pop": 4, "lfm": 3}, 1) == (pytest.approx(4 * 2.0 + 3 * 120.0), ())
    assert run_plan.estimate(history, {"pop": 4, "lfm": 3}, 2) == (pytest.approx((8.0 + 360.0) / 2), ())
    # an arm without earlier timings is named and left out: the seconds are a lower bound
    assert run_plan.estimate(history, {"pop": 4, "als": 2}, 1) == (pytest.approx(8.0), ("als",))
    assert run_plan.estimate({}, {"pop": 4}, 2) == (None, ("pop",))
    assert run_plan.estimate(history, {"pop": 0, "lfm": 0}, 2) == (0.0, ())


def _plan(arms: tuple[run_plan.ArmPlan, ...], rounds=()) -> run_plan.Plan:
    return run_plan.Plan("H1", "synthetic-vk", 100, 10, 20, "split", "users",
                         (run_plan.VariantPlan("v", 80, 40, 9),), arms, (0, 1), rounds, 2, "loky", 2,
                         Path("/c/tasks/timings.jsonl"))


def test_render_says_where_the_estimate_comes_from():
    a = run_plan.ArmPlan("cf", "lightfm", "10 epochs", None, 2, 2, (600.0, 1200.0))
    b = run_plan.ArmPlan("pop", "popularity", "n/a (not trained in epochs)", None, 2, 2, (2.0,))
    line = run_plan.render(_plan((a, b)))[-1]
    assert line == ("  estimated wall time: ~15:02 with n_jobs=2, from earlier tasks on synthetic-vk "
                    "(/c/tasks/timings.jsonl): cf 900.0 s a task (mean of 2), pop 2.0 s a task (mean of 1)")
    assert run_plan.render(_plan((a, b), rounds=(1, 2)))[-1].startswith("  estimated wall time: up to ~15:02 ")
    new = run_plan.ArmPlan("new", "als", "n/a (not trained in epochs)", None, 2, 2, ())
    assert run_plan.render(_plan((a, new)))[-1] == (
        "  estimated wall time: more than ~15:00 with n_jobs=2, from earlier tasks on synthetic-vk "
        "(/c/tasks/timings.jsonl): cf 900.0 s a task (mean of 2); arm(s) new not counted: no earlier timings yet")
    done = run_plan.ArmPlan("cf", "lightfm", "10 epochs", None, 2, 0, ())
    assert run_plan.render(_plan((done,)))[-1] == \
        "  estimated wall time: nothing to train (every task is in the task cache)"


def test_timings_match_arm_name_kind_parameters_threads_and_dataset(tmp_path):
    def result(arm: Arm, seconds: float, cached=False, error=None) -> runner.TaskResult:
        return runner.TaskResult(runner.Task("v", arm, 0), None, seconds, cached, error)

    cf, pop = Arm("cf", "lightfm"), Arm("pop", "popularity")
    timings.record(tmp_path, result(cf, 10.0), "synthetic-vk")
    timings.record(tmp_path, result(cf, 30.0), "synthetic-vk")
    timings.record(tmp_path, result(cf, 99.0), "ml-100k")  # another dataset
    timings.record(tmp_path, result(Arm("cf", "als"), 99.0), "synthetic-vk")  # same name, another kind
    timings.record(tmp_path, result(Arm("cf", "lightfm", epochs="auto"), 99.0), "synthetic-vk")  # other parameters
    threaded = runner.TaskResult(runner.Task("v", cf, 0, 2), None, 99.0, False)
    timings.record(tmp_path, threaded, "synthetic-vk")  # another thread count
    with open(timings.path(tmp_path), "a") as f:  # a line of an older version, without arm_id
        f.write(json.dumps({"arm": "cf", "kind": "lightfm", "dataset": "synthetic-vk", "seconds": 99.0}) + "\n")
    timings.record(tmp_path, result(pop, 0.0, cached=True), "synthetic-vk")  # reading the cache is no timing
    timings.record(tmp_path, result(pop, 5.0, error="boom"), "synthetic-vk")
    timings.record(None, result(pop, 5.0), "synthetic-vk")  # no cache: nothing recorded
    with open(timings.path(tmp_path), "a") as f:
        f.write('{"arm": "cf", "kind": "lightf')  # a torn line is skipped
    assert timings.read(tmp_path, "synthetic-vk", [cf, pop]) == {"cf": [10.0, 30.0]}
    assert timings.read(tmp_path, "ml-100k", [cf]) == {"cf": [99.0]}
    assert timings.read(tmp_path, "synthetic-vk", [cf], threads=2) == {"cf": [99.0]}
    assert timings.read(tmp_path / "none", "synthetic-vk", [cf]) == {}


def test_every_finished_task_logs_the_time_left(tmp_path):
    arms = ["pop", "slow", "slow"]
    with monitor.watch(_hyp(), 3, quiet=True, log_dir=tmp_path, n_jobs=1, backend="loky", arms=arms,
                       plan=["plan: HP on x", "  tasks: 3"]) as (tick, log_path):
        for arm, seed, secs in (("pop", 0, 2.0), ("slow", 0, 60.0), ("slow", 1, 60.0)):
            tick(runner.TaskResult(runner.Task("v", Arm(arm, "popularity"), seed), None, secs, False))
    lines = log_path.read_text().splitlines()
    assert [ln.split(": ", 1)[1] for ln in lines if "harness.runner.plan" in ln] == ["plan: HP on x", "  tasks: 3"]
    finished = [ln.split("harness.runner.monitor: ")[1] for ln in lines if "harness.runner.monitor" in ln]
    assert finished == ["1 of 3 tasks finished (v / pop / seed 0); ~00:04 left",  # no slow task yet: 2 x pop's 2 s
                        "2 of 3 tasks finished (v / slow / seed 0); ~01:00 left",
                        "3 of 3 tasks finished (v / slow / seed 1); ~00:00 left"]


# --------------------------------------------------------------------------- through the CLI
HYP_FILE = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HP", claim="item kNN beats popularity", dataset="vk-lsvd:synthetic",
    positives=("watch_ratio>=0.5", "like|share|bookmark"), baseline=Arm("pop", "popularity"),
    treatment=Arm("knn", "itemknn", K=20), segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10",
    seeds=(0,), decision=Decision.better(margin=0.0))
"""


@pytest.fixture(scope="module")
def cli_setup(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plancli")
    synthetic.generate(root / "data", n_users=150, n_items=60, seed=4)
    (root / "hyps").mkdir()
    (root / "hyps" / "hp.py").write_text(HYP_FILE)
    return root


def _args(root: Path, work: Path, *extra: str) -> list[str]:
    return ["run", "HP", "--hypotheses", str(root / "hyps"), "--data-dir", str(root / "data"), "--results-dir",
            str(work / "results"), "--cache-dir", str(work / "cache"), "--n-jobs", "1", *extra]


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_plan_flag_fits_nothing_and_writes_nothing(cli_setup, tmp_path):
    before = _tree(cli_setup)
    out = _cli(_args(cli_setup, tmp_path, "--plan", "--seeds", "2"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("plan: HP on vk-lsvd:synthetic: ") and len(lines) == 8, out.stdout
    assert lines[1] == "  tasks: 8 = 2 variants x 2 arms x 2 seeds; 0 in the task cache, 8 to train"
    assert lines[2] == "  arm pop (popularity): n/a (not trained in epochs); 4 tasks, 4 to train"
    assert "Traceback" not in out.stderr
    assert _tree(tmp_path) == [] and _tree(cli_setup) == before  # no run folder, no cache entry, no log


def test_plan_flag_trains_no_task_in_process(cli_setup, tmp_path, monkeypatch, capsys):
    def no(*a, **k):
        pytest.fail("--plan ran a task")

    monkeypatch.setattr(runner, "run_task", no)
    monkeypatch.setattr(runner, "execute", no)
    assert cli_main(_args(cli_setup, tmp_path, "--plan")) == 0
    assert capsys.readouterr().out.startswith("plan: HP on vk-lsvd:synthetic: ")
    assert not (tmp_path / "cache").exists() and not (tmp_path / "results").exists()


def test_plan_flag_with_all_is_a_one_line_error(cli_setup, tmp_path):
    out = _cli(["run", "--all", "--plan", "--hypotheses", str(cli_setup / "hyps"), "--results-dir",
                str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache")], cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == ["error: run --plan shows one hypothesis' plan: name it (e.g. python -m harness "
                                       "run H1 --plan) instead of --all or --reference"]
    assert _tree(tmp_path) == []


def test_a_run_shows_its_plan_records_timings_and_the_next_plan_estimates_from_them(cli_setup, tmp_path):
    out = _cli(_args(cli_setup, tmp_path), cwd=tmp_path)  # 2 variants x 2 arms x 1 seed, not quiet
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith("plan: HP on vk-lsvd:synthetic: ")
    assert "  estimated wall time: no estimate yet: the first finished task gives one" in out.stderr
    records = [json.loads(line) for line in (tmp_path / "cache" / "tasks" / "timings.jsonl").read_text().splitlines()]
    assert sorted((r["arm"], r["kind"], r["dataset"], r["variant"], r["seed"]) for r in records) == sorted(
        (a, k, "vk-lsvd:synthetic", v, 0) for a, k in (("pop", "popularity"), ("knn", "itemknn")) for v in POSITIVES)
    (log,) = (tmp_path / "cache" / "logs").iterdir()
    text = log.read_text()
    assert "harness.runner.plan: plan: HP on vk-lsvd:synthetic" in text
    assert text.index("harness.runner.plan:") < text.index("tasks finished")
    assert [f"{i} of 4 tasks finished" in text for i in range(1, 5)] == [True] * 4

    plan = _cli(_args(cli_setup, tmp_path, "--plan", "--seeds", "3"), cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[1] == "  tasks: 12 = 2 variants x 2 arms x 3 seeds; 4 in the task cache, 8 to train"
    est = lines[-1]
    assert est.startswith("  estimated wall time: ~") and " with n_jobs=1, from earlier tasks on vk-lsvd:synthetic (" \
        f"{tmp_path / 'cache' / 'tasks' / 'timings.jsonl'}): pop " in est
    assert "s a task (mean of 2), knn " in est and est.endswith("s a task (mean of 2)")

    quiet = _cli(_args(cli_setup, tmp_path, "--quiet"), cwd=tmp_path)  # every task cached now
    assert quiet.returncode == 0 and "plan:" not in quiet.stderr
    assert len((tmp_path / "cache" / "tasks" / "timings.jsonl").read_text().splitlines()) == 4  # hits: no timings
