"""Progress you can believe: the bar ticks on each task as it finishes (completion order), results stay
in task order, and the time left comes from the finished tasks' durations per arm. Nothing here is
timed: durations are made up, and completion order is forced with an event."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest
from _tiny import prepared, tiny_vk

from harness.runner import eta, monitor, tasks as runner
from harness.spec import Arm


def test_time_left_is_per_arm_mean_durations_over_the_workers():
    finished = {"pop": [1.0, 3.0], "lightfm": [100.0]}  # pop 2 s a task, lightfm 100 s
    remaining = {"pop": 2, "lightfm": 3}
    assert eta.eta_seconds(finished, remaining, 1) == pytest.approx(2 * 2.0 + 3 * 100.0)
    assert eta.eta_seconds(finished, remaining, 2) == pytest.approx((2 * 2.0 + 3 * 100.0) / 2)
    assert eta.eta_seconds(finished, remaining, 16) == pytest.approx((2 * 2.0 + 3 * 100.0) / 5)  # 5 tasks left
    # a mean rate over all tasks (tqdm's) would say 5 x 34.7 s; the per-arm sum is what the run will take
    assert eta.eta_seconds(finished, {"pop": 0, "lightfm": 1}, 4) == pytest.approx(100.0)
    # an arm with no finished task yet takes the mean over every finished task
    assert eta.eta_seconds({"pop": [2.0, 4.0]}, {"pop": 1, "als": 2}, 1) == pytest.approx(3.0 + 2 * 3.0)
    assert eta.eta_seconds({}, {"pop": 3}, 2) is None  # nothing trained yet: no estimate
    assert eta.eta_seconds({"pop": [5.0]}, {"pop": 0}, 2) == 0.0
    assert eta.eta_text(512) == "~08:32 left"
    assert eta.eta_text(3723.4) == "~1:02:03 left"
    assert eta.eta_text(None) == "ETA after the first trained task"


def _result(arm: str, seed: int, seconds: float, cached: bool = False) -> runner.TaskResult:
    return runner.TaskResult(runner.Task("v", Arm(arm, "popularity"), seed), None, seconds, cached)


def test_progress_bar_shows_the_per_arm_estimate_after_each_task():
    arms = ["pop", "pop", "slow", "slow"]
    bar, tick = monitor.progress_bar(4, quiet=False, desc="t", arms=arms, workers=1)
    try:
        tick(_result("pop", 0, 0.0, cached=True))  # a cache hit says nothing about training time
        assert bar.n == 1 and bar.postfix.endswith("ETA after the first trained task")
        tick(_result("slow", 0, 300.0))
        assert bar.n == 2 and bar.postfix == "slow s0; ~10:00 left"  # pop 1 + slow 1 left, 300 s each
        tick(_result("pop", 1, 2.0))
        assert bar.postfix == "pop s1; ~05:00 left"  # one slow task left: 300 s, whatever pop took
        tick(_result("slow", 1, 100.0))
        assert bar.n == 4 and bar.postfix == "slow s1; ~00:00 left"
    finally:
        bar.close()


@dataclass(frozen=True)
class _Train:
    events: object = None


@dataclass(frozen=True)
class _Data:
    train: _Train = _Train()


def test_ticks_arrive_in_completion_order_and_results_in_task_order(monkeypatch):
    """Task 0 cannot finish before task 1 has: the bar must tick task 1 first (the ordered generator
    ticked task 0 first, holding back every task behind a slow one), and execute still returns task order."""
    tasks = [runner.Task("v", Arm("a", "popularity"), s) for s in range(4)]
    first_done = threading.Event()

    def fake(task, data, metrics, cache_dir, key, save_top):
        if task.seed == 0:
            assert first_done.wait(60), "task 1 never finished"
        if task.seed == 1:
            first_done.set()
        return runner.TaskResult(task, None, float(task.seed), False)

    monkeypatch.setattr(runner, "_safe_run_task", fake)
    ticked = []
    out = runner.execute(tasks, {"v": _Data()}, ("ndcg@10",), "ctx", n_jobs=2, backend="threading",
                         progress=lambda r: ticked.append(r.task.seed))
    assert [r.task.seed for r in out] == [0, 1, 2, 3]
    assert sorted(ticked) == [0, 1, 2, 3] and ticked.index(1) < ticked.index(0)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return prepared(tiny_vk(tmp_path_factory.mktemp("progress"), "synthetic-progress", n_users=200, n_items=80,
                            seed=2))


def test_loky_workers_tick_once_per_task_and_match_sequential(data):
    tasks = [runner.Task("v", arm, s) for arm in (Arm("pop", "popularity"), Arm("knn", "itemknn"))
             for s in (0, 1)]
    ticks = []
    par = runner.execute(tasks, {"v": data}, ("ndcg@10",), "ctx", n_jobs=2, progress=ticks.append)
    seq = runner.execute(tasks, {"v": data}, ("ndcg@10",), "ctx", n_jobs=1)
    assert len(ticks) == len(tasks) and sorted(r.task.label() for r in ticks) == sorted(t.label() for t in tasks)
    assert [r.task for r in par] == tasks == [r.task for r in seq]
    for a, b in zip(par, seq):
        np.testing.assert_array_equal(a.scores.values["ndcg@10"], b.scores.values["ndcg@10"])
