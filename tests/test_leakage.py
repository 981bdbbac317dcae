"""The leakage audit on every run (harness.design.leakage): hand-computed shares on a tiny file for a per-user
leave-last, a global time and a random split, "not measurable" without a time column, and a run's summary.json,
warning and report lines."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.data import tabular
from harness.design import leakage
from harness.design.prepare import prepare
from harness.design.split import split
from harness.runner import experiment
from harness.spec import Arm, Decision, Hypothesis, Segment, Split

# user 1 watches 10, 11, 12 at times 1-3 and 13 at 4; user 2 watches 10, 12, 14 at 5-7 and 13 at 8.
ROWS = [(1, 10, 1), (1, 11, 2), (1, 12, 3), (1, 13, 4), (2, 10, 5), (2, 12, 6), (2, 14, 7), (2, 13, 8)]


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.csv"
    pd.DataFrame([(u, i, 5, t) for u, i, t in ROWS], columns=["user_id", "item_id", "rating", "timestamp"]) \
        .to_csv(p, index=False)
    return p


def _audit(inter, spec):
    sp = split(inter, spec)
    return leakage.audit(inter, sp.train, sp.test, {"rating>=4": prepare(inter, sp, "rating>=4")}), sp


def test_leave_last_by_hand(tiny):
    """Test rows: (1, 13)@4 and (2, 13)@8, so the test window starts at 4; user 2's training rows at 5, 6, 7 are
    later: 3 of 6. Item 13 first appears at 4: after user 1's last training row (3), before user 2's (7): 1 of 2."""
    a, _ = _audit(tabular.load(tiny), Split.leave_last(1, min_train=1))
    assert a.measurable and a.test_start == 4 and a.train_rows == 6
    assert a.train_after_test_start == 0.5
    assert a.future_item_share == {"rating>=4": 0.5}
    w = leakage.warning(a, Split.leave_last(1, min_train=1))
    assert w.startswith("training sees the future: 50.0 % of training interactions are later than the start of "
                        "the test window (time 4)") and "split=Split.global_time(test_from=...)" in w


def test_global_time_split_is_zero(tiny):
    """test_from=8: only (2, 13)@8 is test; every training row is earlier; item 13 (first at 4) was out before
    user 2's last training row (7)."""
    a, _ = _audit(tabular.load(tiny), Split.global_time(test_from=8))
    assert a.test_start == 8 and a.train_after_test_start == 0.0
    assert a.future_item_share == {"rating>=4": 0.0}
    assert leakage.warning(a, Split.global_time(test_from=8)) is None


def test_random_split_share_equals_its_masks(tiny):
    inter = tabular.load(tiny)
    spec = Split.random(1, 3)
    a, sp = _audit(inter, spec)
    t = inter.events["time"].to_numpy()
    assert a.train_after_test_start == pytest.approx(float((t[sp.train] > t[sp.test].min()).mean()))
    assert leakage.warning(a, spec) is None  # the split's own warning (leakage_warning) already says it


def test_no_time_column_is_not_measurable(tiny, tmp_path):
    p = tmp_path / "untimed.csv"
    pd.read_csv(tiny).drop(columns="timestamp").to_csv(p, index=False)
    inter = tabular.load(p, time=None, split=Split.file_order(1))
    a, _ = _audit(inter, Split.file_order(1, min_train=1))
    assert not a.measurable and a.train_after_test_start is None
    assert leakage.lines(a.to_dict())[0].startswith("Leakage audit: not measurable")


def test_a_run_records_the_audit_and_warns(ml100k, tmp_path):
    hyp = Hypothesis(id="HL", claim="kNN beats popularity", dataset="ml-100k", positives=("rating>=4",),
                     baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn", K=20),
                     segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
                     decision=Decision.better(0.0), n_boot=200)
    out = experiment.run(hyp, inter=ml100k, results_dir=tmp_path, cache_dir=None, quiet=True)
    doc = json.loads((out.run_dir / "summary.json").read_text())
    audit = doc["data"]["leakage"]
    sp = split(ml100k, ml100k.default_split)
    t = ml100k.events["time"].to_numpy()
    assert audit["train_after_test_start"] == pytest.approx(float((t[sp.train] > t[sp.test].min()).mean()))
    assert audit["train_after_test_start"] > 0.5  # per-user leave-last: most training rows are in the future
    assert np.isfinite(audit["future_item_share"]["rating>=4"])
    assert sum(w.startswith("training sees the future") for w in doc["warnings"]) == 1
    report = (out.run_dir / "report.md").read_text()
    assert "Leakage audit: " in report and "warning:** training sees the future" in report
