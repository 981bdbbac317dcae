"""Data reaches workers once per run (harness.runner.shipping): counted, not timed.

loky: each distinct payload (variant, with or without training events) is pickled once, into one file, however
many tasks use it; tasks carry a small handle. Dask: one scatter per run. Results equal n_jobs=1, hold no
memory maps, and a fully cached run ships nothing."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from harness.design.prepare import EvalData
from harness.runner import shipping
from harness.runner import tasks as runner
from harness.spec import Arm

from _tiny import prepared, tiny_vk

#: popularity gets no training events; the LightFM arm with a validation curve needs them (it cuts the window).
ARMS = (Arm("pop", "popularity"), Arm("lfm", "lightfm", epochs=1, no_components=4, curve=True))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    inter = tiny_vk(tmp_path_factory.mktemp("ship"), "synthetic-ship", n_users=150, n_items=60, seed=4)
    return {"a": prepared(inter, "watch_ratio>=0.5"), "b": prepared(inter, "like|share|bookmark")}


def _tasks():
    return [runner.Task(v, arm, s) for v in ("a", "b") for arm in ARMS for s in range(3)]


@pytest.fixture
def pickles(monkeypatch):
    """Counts every pickling of an EvalData in this process (joblib.dump, loky's task queue, Dask's scatter)."""
    count = {"n": 0}
    original = EvalData.__reduce_ex__

    def counting(self, protocol):
        count["n"] += 1
        return original(self, protocol)

    monkeypatch.setattr(EvalData, "__reduce_ex__", counting)
    return count


def _same(a, b):
    assert [r.task for r in a] == [r.task for r in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.scores.values["ndcg@10"], y.scores.values["ndcg@10"])


def test_loky_pickles_each_payload_once_not_once_per_task(data, pickles):
    tasks = _tasks()  # 12 tasks; 4 payloads: 2 variants x (events for the epoch arm, none for popularity)
    seq = runner.execute(tasks, data, ("ndcg@10",), "ctx", n_jobs=1)
    assert pickles["n"] == 0
    par = runner.execute(tasks, data, ("ndcg@10",), "ctx", n_jobs=2)
    assert pickles["n"] == 4
    _same(par, seq)
    fixed = [runner.Task(v, Arm("lfm", "lightfm", epochs=1, no_components=4), 0) for v in ("a", "b")]
    runner.execute(fixed, data, ("ndcg@10",), "ctx", n_jobs=2)
    assert pickles["n"] == 4 + 2  # fixed epochs without a curve need no events: one payload per variant
    for r in par:  # results were copied out of the workers' memory maps
        assert not any(isinstance(a, np.memmap) or isinstance(a.base, np.memmap)
                       for a in (r.scores.users, r.scores.n_relevant, *r.scores.values.values()))


def test_a_task_carries_a_handle_of_a_few_hundred_bytes(data):
    t = _tasks()[4]
    with shipping.ship({"x": data["a"]}, "loky", 2) as handles:
        h = handles["x"]
        assert isinstance(h, shipping.Shipped)
        assert len(pickle.dumps((t, h))) < 2000 < len(pickle.dumps(data["a"]))
        loaded = shipping.resolve(h)
        assert shipping.resolve(h) is loaded  # loaded once per worker and run
        assert isinstance(loaded.train.positives.indices, np.memmap)
        np.testing.assert_array_equal(loaded.users, data["a"].users)
        assert (loaded.relevant != data["a"].relevant).nnz == 0
    assert not os.path.exists(h.path)  # files removed on exit


def test_a_cached_run_ships_nothing(data, pickles, tmp_path):
    tasks = _tasks()
    first = runner.execute(tasks, data, ("ndcg@10",), "ctx", n_jobs=2, cache_dir=tmp_path)
    n = pickles["n"]
    again = runner.execute(tasks, data, ("ndcg@10",), "ctx", n_jobs=2, cache_dir=tmp_path)
    assert pickles["n"] == n and all(r.cached for r in again)
    _same(again, first)


def test_dask_scatters_once_and_tasks_hold_futures(data, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from harness.runner.backends import backend

    calls = []
    scatter = distributed.Client.scatter

    def counting(self, data, *args, **kwargs):
        calls.append((len(data) if isinstance(data, list) else 1, kwargs.get("broadcast")))
        return scatter(self, data, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "scatter", counting)
    submitted = []
    submit = distributed.Client.submit

    def recording(self, fn, *args, **kwargs):
        submitted.append(args)
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "submit", recording)
    tasks = _tasks()
    with backend("dask", 2) as name:
        par = runner.execute(tasks, data, ("ndcg@10",), "ctx", n_jobs=2, backend=name)
    assert calls == [(4, True)]  # one scatter of the 4 payloads, to every worker
    assert len(submitted) == len(tasks)
    assert all(isinstance(a[2], distributed.Future) for a in submitted)
    _same(par, runner.execute(tasks, data, ("ndcg@10",), "ctx", n_jobs=1))


def test_dask_with_every_task_cached_ships_nothing(data, tmp_path):
    pytest.importorskip("distributed")
    from harness.runner.backends import backend

    tasks = _tasks()[:2]
    first = runner.execute(tasks, data, ("ndcg@10",), "ctx", n_jobs=1, cache_dir=tmp_path)
    with backend("dask", 2) as name:
        again = runner.execute(tasks, data, ("ndcg@10",), "ctx", n_jobs=2, backend=name, cache_dir=tmp_path)
    assert all(r.cached for r in again)
    _same(again, first)
