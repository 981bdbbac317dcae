"""Rolling-origin folds, the split side: ``Split.rolling`` (validation, windows, run-spec fields), the fold masks
by hand on a tiny file, the per-fold preparation (segments from each fold's training data) and the tasks (one
per fold, the fold in the label and cache key; other splits keep their keys)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pandas as pd
import pytest

from harness.data import tabular
from harness.design.split import split
from harness.errors import HarnessError
from harness.runner import prepared as prep
from harness.runner.cache import task_key
from harness.runner.tasks import Task
from harness.spec import Arm, Decision, Hypothesis, Segment, Split

# user 1 at times 1..6, user 2 at times 3..8 (items 10.. in order); time is the "week".
ROWS = [(1, 10 + t, t) for t in range(1, 7)] + [(2, 20 + t, t) for t in range(3, 9)]


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.csv"
    pd.DataFrame([(u, i, 5, t) for u, i, t in ROWS], columns=["user_id", "item_id", "rating", "timestamp"]) \
        .to_csv(p, index=False)
    return tabular.load(p)


def test_rolling_windows_and_description():
    s = Split.rolling(test_from=22, folds=4)
    assert (s.kind, s.folds, s.step, s.window) == ("rolling", 4, 1.0, 1.0)
    assert [s.fold_window(f) for f in range(4)] == [(22, 23), (23, 24), (24, 25), (25, 26)]
    s2 = Split.rolling(test_from=10, folds=3, step=2, window=3)  # overlapping windows are allowed
    assert [s2.fold_window(f) for f in range(3)] == [(10, 13), (12, 15), (14, 17)]
    assert s.fold_label(1) == "test [23, 24)"
    assert s.describe_fold(0) == "rolling fold 1 of 4: train time < 22, test 22 <= time < 23"
    assert "4 folds" in s.describe() and "last [25, 26)" in s.describe()


@pytest.mark.parametrize("kwargs, field", [(dict(folds=0), "folds"), (dict(folds=2.5), "folds"),
                                           (dict(step=0), "step"), (dict(window=-1), "window"),
                                           (dict(step=float("nan")), "step")])
def test_rolling_rejects_bad_fields(kwargs, field):
    with pytest.raises(HarnessError, match=f"split: {field}=") as e:
        Split.rolling(test_from=22, **kwargs)
    assert "\n" not in str(e.value)


def test_fold_fields_only_with_rolling():
    with pytest.raises(HarnessError, match="folds/step/window only go with Split.rolling"):
        Split("global_time", test_from=3, folds=2)
    with pytest.raises(HarnessError, match="rolling needs test_from"):
        Split("rolling", folds=2)


def test_run_spec_names_fold_fields_only_for_rolling():
    base = dict(id="HX", claim="c", dataset="x", positives=("rating>=4",), baseline=Arm("a", "popularity"),
                treatment=Arm("b", "random"), segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10",
                seeds=(0,), decision=Decision.better(0.0))
    assert Hypothesis(**base, split=Split.global_time(3)).to_dict()["split"] == {
        "kind": "global_time", "test_from": 3, "n": None, "min_train": 1, "seed": 0}
    doc = Hypothesis(**base, split=Split.rolling(3, folds=2, step=2)).to_dict()["split"]
    assert (doc["folds"], doc["step"], doc["window"]) == (2, 2.0, 1.0)


def test_fold_masks_by_hand(tiny):
    """Rolling from 5, 3 folds of width 1: fold f tests on time 5 + f and trains on time < 5 + f; rows later
    than the window are in neither (counted)."""
    spec = Split.rolling(test_from=5, folds=3)
    time = tiny.events["time"].to_numpy()
    for f, t in enumerate((5, 6, 7)):
        sp = split(tiny, spec, f)
        assert sp.test.tolist() == (time == t).tolist()
        assert sp.train.tolist() == (time < t).tolist()
        assert sp.counts["rows_after_test_window"] == int((time > t).sum())
        assert sp.counts["test_rows"] == int((time == t).sum())  # 2, 2, 1
        assert sp.description == spec.describe_fold(f)
    assert [int(split(tiny, spec, f).test.sum()) for f in range(3)] == [2, 2, 1]


def test_fold_argument_must_fit_the_split(tiny):
    with pytest.raises(ValueError):
        split(tiny, Split.rolling(test_from=5, folds=2))  # a rolling split needs its fold
    with pytest.raises(ValueError):
        split(tiny, Split.rolling(test_from=5, folds=2), 2)
    with pytest.raises(ValueError):
        split(tiny, Split.global_time(5), 0)


def test_an_empty_window_names_the_fold(tiny):
    with pytest.raises(HarnessError, match="rolling fold 3 of 3: .* leaves no test rows"):
        split(tiny, Split.rolling(test_from=7, folds=3), 2)


def _hyp(spec: Split) -> Hypothesis:
    return Hypothesis(id="HX", claim="c", dataset="tiny", positives=("rating>=4",), baseline=Arm("a", "popularity"),
                      treatment=Arm("b", "random"), segments=(Segment.activity_quantile(0.5, name="dense"),
                                                              Segment.all()),
                      metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1), decision=Decision.better(0.0),
                      split=spec)


def test_each_fold_prepared_from_its_own_training_data(tiny):
    """Activity (training positives) and so the segments come from each fold's training window; the top level
    is the last fold with every fold in ``folds``."""
    spec = Split.rolling(test_from=5, folds=3)
    p = prep.prepare_hypothesis(_hyp(spec), tiny)
    assert len(p.folds) == 3 and p.fold_labels == tuple(spec.fold_label(f) for f in range(3))
    assert p.split_desc == spec.describe() and p.fold_windows == ((5, 6), (6, 7), (7, 8))
    ev = tiny.events
    for f, fp in enumerate(p.folds):
        start = 5 + f
        expected = np.bincount(ev["user"][ev["time"] < start], minlength=tiny.n_users)
        assert fp.data["rating>=4"].n_train_pos.tolist() == expected.tolist()
        assert fp.split_desc == spec.describe_fold(f)
        users_in_window = sorted(set(ev["user"][ev["time"] == start]))
        assert fp.data["rating>=4"].users.tolist() == users_in_window  # user 1 ends at 6: not in the last fold
    assert p.data is p.folds[-1].data
    assert set(p.task_data) == {("rating>=4", f) for f in range(3)}
    doc = prep.data_summary(p)
    assert [f["fold"] for f in doc["folds"]] == list(p.fold_labels)
    assert [f["test_window"] for f in doc["folds"]] == [[5.0, 6.0], [6.0, 7.0], [7.0, 8.0]]
    assert doc["split"] == spec.describe() and doc["folds"][0]["split"] == spec.describe_fold(0)


def test_one_task_per_fold_with_the_fold_in_label_and_key(tiny):
    p = prep.prepare_hypothesis(_hyp(Split.rolling(test_from=5, folds=3)), tiny)
    tasks = prep.tasks_for(p)
    assert len(tasks) == 3 * 1 * 2 * 2  # folds x variants x arms x seeds
    assert sorted({t.fold for t in tasks}) == [0, 1, 2]
    keys = {task_key(t, p.context) for t in tasks}
    assert len(keys) == len(tasks)  # the fold is in the key
    t = tasks[0]
    assert t.label().endswith("/ fold 1") and t.key == (t.variant, 0)


def test_other_splits_keep_their_tasks_and_keys(tiny):
    """No fold: the task, its label and its key are what they were (a task without a fold attribute hashes the
    same)."""
    p = prep.prepare_hypothesis(_hyp(Split.global_time(5)), tiny)
    assert not p.folds and p.task_data is p.data
    tasks = prep.tasks_for(p)
    assert len(tasks) == 4 and all(t.fold is None for t in tasks)
    old = namedtuple("OldTask", "variant arm seed threads")
    for t in tasks:
        assert task_key(t, p.context) == task_key(old(t.variant, t.arm, t.seed, t.threads), p.context)
        assert t.label() == f"{t.variant} / {t.arm.name} / seed {t.seed}" and t.key == t.variant
    assert task_key(Task("v", tasks[0].arm, 0, fold=0), "c") != task_key(Task("v", tasks[0].arm, 0), "c")


def test_plan_counts_folds(tiny):
    from harness.runner import experiment, plan

    p = experiment.make_plan(_hyp(Split.rolling(test_from=5, folds=3)), inter=tiny, cache_dir=None)
    assert p.n_tasks == 3 * 1 * 2 * 2 and p.folds == 3
    text = "\n".join(plan.render(p))
    assert "tasks: 12 = 1 variant x 2 arms x 2 seeds x 3 folds" in text and "(last fold)" in text
    flat = experiment.make_plan(_hyp(Split.global_time(5)), inter=tiny, cache_dir=None)
    assert flat.n_tasks == 4 and "fold" not in "\n".join(plan.render(flat))


def test_rolling_rows_windows_by_hand(tiny):
    """12 rows at sorted times 1 2 3 3 4 4 5 5 6 6 7 8; 2 folds of 25 % (m = 3 rows): fold 1 starts at the
    sorted time at position 12 - 6 = 6 (time 5), fold 2 at position 9 (time 6) and has no end."""
    from harness.design.split import fold_windows

    spec = Split.rolling_rows(folds=2, window=0.25)
    assert fold_windows(tiny, spec) == [(5.0, 6.0), (6.0, float("inf"))]
    time = tiny.events["time"].to_numpy()
    first, last = split(tiny, spec, 0), split(tiny, spec, 1)
    assert first.test.tolist() == (time == 5).tolist() and first.train.tolist() == (time < 5).tolist()
    assert last.test.tolist() == (time >= 6).tolist() and last.train.tolist() == (time < 6).tolist()
    assert last.description == "rolling fold 2 of 2: train time < 6, test 6 <= time < inf"
    p = prep.prepare_hypothesis(_hyp(spec), tiny)
    assert p.fold_labels == ("test [5, 6)", "test [6, inf)")
    assert prep.data_summary(p)["folds"][1]["test_window"] == [6.0, None]
    assert Hypothesis.to_dict(_hyp(spec))["split"]["window"] == 0.25


def test_rolling_rows_equal_counts_on_distinct_times(tmp_path):
    """1,000 rows at distinct times 0..999, 4 folds of 5 %: windows of exactly 50 rows, the last 200 rows."""
    from harness.design.split import fold_windows

    p = tmp_path / "d.csv"
    pd.DataFrame({"user_id": np.arange(1000) % 50, "item_id": np.arange(1000) % 97, "rating": 5,
                  "timestamp": 10_000_000 + np.arange(1000)}).to_csv(p, index=False)
    inter = tabular.load(p)
    spec = Split.rolling_rows(folds=4)
    assert fold_windows(inter, spec) == [(10_000_800.0, 10_000_850.0), (10_000_850.0, 10_000_900.0),
                                         (10_000_900.0, 10_000_950.0), (10_000_950.0, float("inf"))]
    assert [int(split(inter, spec, f).test.sum()) for f in range(4)] == [50, 50, 50, 50]
    assert spec.fold_label(0, fold_windows(inter, spec)[0]) == "test [10000800, 10000850)"  # unix times in full


@pytest.mark.parametrize("kwargs, message", [(dict(folds=4, window=0.3), "split: window=0.3"),
                                             (dict(folds=0), "split: folds=0"),
                                             (dict(window=0), "split: window=0")])
def test_rolling_rows_rejects_bad_fields(kwargs, message):
    with pytest.raises(HarnessError, match=message):
        Split.rolling_rows(**kwargs)
    with pytest.raises(HarnessError, match="not step or test_from"):
        Split("rolling_rows", test_from=3, folds=2, window=0.1)


def test_split_rolling_option():
    from harness.runner.options import RunOptions

    hyp = _hyp(Split.global_time(5))
    assert RunOptions(split="rolling:3").apply(hyp).split == Split.rolling_rows(folds=3)
    assert RunOptions(split="rolling:3").load_options()["split"] is None  # the loader needs its time column
    with pytest.raises(HarnessError, match="'rolling:FOLDS'"):
        RunOptions(split="weekly")


def test_fold_seed_is_the_seed_in_fold_0_and_its_own_stream_after():
    from harness.design.split import fold_seed

    assert [fold_seed(s, None) for s in (0, 7, 2**31 - 1)] == [0, 7, 2**31 - 1]
    assert [fold_seed(s, 0) for s in (0, 7)] == [0, 7]
    got = {(s, f): fold_seed(s, f) for s in range(50) for f in range(1, 8)}
    assert got[(3, 2)] == int(np.random.SeedSequence([3, 2]).generate_state(1, dtype=np.uint32)[0] >> 1)
    assert all(0 <= v < 2**31 for v in got.values())
    assert len(set(got.values()) | set(range(50))) == len(got) + 50  # no stream repeats a seed's or another's
    assert Task("v", Arm("a", "random"), 3, fold=2).fit_seed == got[(3, 2)]


def test_a_fold_task_trains_with_its_fold_seed(tiny):
    """Fold 1's seed-0 task gives what an unfolded task with fold_seed(0, 1) gives on the same data, and not
    what seed 0 gives (random scores are a function of the seed), so seed effects do not repeat across folds."""
    from harness.design.split import fold_seed
    from harness.runner.tasks import run_task

    hyp = _hyp(Split.rolling(test_from=5, folds=3)).replace(baseline=Arm("rnd", "random"))
    p = prep.prepare_hypothesis(hyp, tiny)
    v = p.variants[0]
    data = p.task_data[(v, 1)]
    arm = Arm("rnd", "random")

    def top(task):  # each evaluated user's ranking of the catalogue by the seed's random scores
        return run_task(task, data, ("ndcg@3",), None, "k", save_top=data.train.n_items).top

    folded = top(Task(v, arm, 0, fold=1))
    assert np.array_equal(folded, top(Task(v, arm, fold_seed(0, 1))))
    assert not np.array_equal(folded, top(Task(v, arm, 0)))
    assert task_key(Task(v, arm, 0, fold=1), p.context) != task_key(Task(v, arm, 0, fold=0), p.context)


def test_a_runs_arm_is_refused_with_folds(tiny, tmp_path):
    hyp = _hyp(Split.rolling(test_from=5, folds=2)).replace(baseline=Arm("mine", "runs", path=str(tmp_path / "r.csv")))
    with pytest.raises(HarnessError, match=r"arm 'mine' \(kind 'runs'\): precomputed run files rank one test window"):
        prep.prepare_hypothesis(hyp, tiny)
