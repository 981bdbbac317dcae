"""``Decision.no_disparity``: the spec's checks, the verdict from the group-difference interval, summary.json and
the report, on the generated ML-100K fixture (gender, age) and, when present, the real ML-100K."""
from __future__ import annotations

import json

import numpy as np
import pytest
from _errcheck import cli, interactions_csv, one_line_exit_2, write_hyp

from harness.decision import analysis
from harness.decision.verdict import decide_cell
from harness.errors import HarnessError
from harness.runner import experiment
from harness.spec import Arm, Decision, Hypothesis, Segment
from harness.stats.disparity import group_difference_interval


def hypothesis(decision: Decision, seeds=(0, 1, 2)) -> Hypothesis:
    return Hypothesis(id="HD", claim="ALS helps women and men alike", dataset="ml-100k", positives=("rating>=4",),
                      baseline=Arm("pop", "popularity"), treatment=Arm("als", "als", factors=8, iterations=3),
                      segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=seeds,
                      decision=decision, n_boot=200)


@pytest.mark.parametrize("kwargs,message", [
    (dict(attribute="", margin=0.01), "no_disparity needs attribute=, a user metadata column"),
    (dict(attribute="gender", margin=0.0), "no_disparity\\(margin\\) needs margin > 0"),
    (dict(attribute="gender", margin=0.01, groups=("F", "F")), "groups=\\('F', 'F'\\) must be two different"),
    (dict(attribute="gender", margin=0.01, groups=("F",)), "must be two different values"),
])
def test_spec_errors(kwargs, message):
    with pytest.raises(HarnessError, match=message):
        Decision.no_disparity(**kwargs)
    with pytest.raises(HarnessError, match="attribute/groups only go with Decision.no_disparity"):
        Decision("better", 0.0, 0.05, "gender")


def test_a_gender_run_decides_on_the_group_difference(ml100k, tmp_path):
    hyp = hypothesis(Decision.no_disparity(attribute="gender", margin=0.05))
    out = experiment.run(hyp, inter=ml100k, results_dir=tmp_path, cache_dir=None, quiet=True)
    doc = json.loads((out.run_dir / "summary.json").read_text())
    cell = next(c for c in doc["cells"] if c["metric"] == "ndcg@10")
    dis = cell["disparity"]
    assert dis["attribute"] == "gender" and dis["groups"] == ["F", "M"] and dis["left_out"] == 0
    # recomputed from per_user.parquet by hand: the same users, deltas and interval
    pu = out.per_user
    assert "attr_gender" in pu.columns
    _, base, treat = analysis.matrices(pu, "rating>=4", "pop", "als", "ndcg@10", "seg_all")
    genders = pu.drop_duplicates("user_index").set_index("user_index").sort_index()["attr_gender"].to_numpy()
    delta = treat - base
    ref = group_difference_interval(delta, genders == "F", confidence_level=0.95)
    assert dis["difference"]["low"] == pytest.approx(ref.ci.low, abs=1e-12)
    assert dis["mean_delta"][0] == pytest.approx(delta[:, genders == "F"].mean(), abs=1e-12)
    assert dis["n_users"] == [int((genders == "F").sum()), int((genders == "M").sum())]
    lo, hi = ref.ci.low, ref.ci.high
    expect = "CONFIRMED" if -0.05 < lo and hi < 0.05 else "REJECTED" if lo > 0.05 or hi < -0.05 else "INCONCLUSIVE"
    assert doc["verdict"]["status"] == expect
    assert "in gender=F" in doc["verdict"]["reason"] and "minus that in gender=M" in doc["verdict"]["reason"]
    assert doc["hypothesis"]["decisions"][0] == {"segment": "all", "rule": "no_disparity", "margin": 0.05,
                                                 "alpha": 0.05, "attribute": "gender", "groups": None}
    report = (out.run_dir / "report.md").read_text()
    assert "## Disparity between user groups" in report and "gender=F" in report
    assert "`no_disparity(attribute=gender, margin=0.05)`" in report


def test_an_attribute_with_more_values_needs_groups(ml100k, tmp_path):
    with pytest.raises(HarnessError, match="attribute 'occupation' has .* values .* name the two to compare with "
                                           "groups="):
        experiment.run(hypothesis(Decision.no_disparity(attribute="occupation", margin=0.05), seeds=(0, 1)),
                       inter=ml100k, results_dir=None, cache_dir=None, quiet=True)
    out = experiment.run(hypothesis(Decision.no_disparity("occupation", 0.05, groups=("student", "engineer")),
                                    seeds=(0, 1)), inter=ml100k, results_dir=None, cache_dir=None, quiet=True)
    dis = out.summary["cells"][0]["disparity"]
    assert dis["groups"] == ["student", "engineer"] and dis["left_out"] > 0
    assert dis["n_users"][0] + dis["n_users"][1] + dis["left_out"] == out.summary["cells"][0]["n_users"]


def test_verdict_rule_on_a_made_up_interval():
    from harness.stats._results import ConfidenceInterval, IntervalResult

    def cell(lo, hi):
        iv = IntervalResult((lo + hi) / 2, ConfidenceInterval(lo, hi), 0.01, "m", 0.95, 0, 10.0)
        dis = analysis.Disparity("gender", ("F", "M"), (10, 20), (0.01, 0.0), iv, 0)
        return analysis.Cell("v", "all", "ndcg@10", 30, 3, primary=iv, disparity=dis)

    d = Decision.no_disparity("gender", 0.01)
    assert decide_cell(d, cell(-0.005, 0.008))[0] == "CONFIRMED"
    assert decide_cell(d, cell(0.011, 0.03))[0] == "REJECTED"
    assert decide_cell(d, cell(-0.03, -0.012))[0] == "REJECTED"
    status, reason = decide_cell(d, cell(-0.02, 0.005))
    assert status == "INCONCLUSIVE" and "is not inside (-0.01, +0.01)" in reason


def test_a_missing_column_is_one_line_before_training(tmp_path):
    data = interactions_csv(tmp_path / "d.csv")
    write_hyp(tmp_path / "hyps", data, decision='Decision.no_disparity(attribute="gender", margin=0.01)')
    out = cli("run", "HT", "--hypotheses", str(tmp_path / "hyps"), "--results-dir", str(tmp_path / "r"),
              "--cache-dir", str(tmp_path / "c"), cwd=tmp_path)
    one_line_exit_2(out, r"decision no_disparity: dataset .* has no user metadata column 'gender' "
                         r"\(available: none\); fix attribute=")
    assert not (tmp_path / "r").exists() and not (tmp_path / "c" / "tasks").exists()


def test_real_ml100k_gender(ml100k_real_dir, tmp_path):
    """The real MovieLens-100K users (gender F/M); the run must finish with a disparity cell."""
    from harness.data import movielens

    inter = movielens.load_100k(ml100k_real_dir)
    out = experiment.run(hypothesis(Decision.no_disparity(attribute="gender", margin=0.02)), inter=inter,
                         results_dir=None, cache_dir=None, quiet=True)
    dis = out.summary["cells"][0]["disparity"]
    assert dis["groups"] == ["F", "M"] and np.isfinite(dis["difference"]["low"])
