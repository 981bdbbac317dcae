"""``Decision.all_of``: claims over several metrics ("better on A AND not worse on B"), an intersection-union
test: the spec's checks, the verdict's composition, summary.json and the report, and the error rate of
confirming a false AND by simulation."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from harness.decision import analysis
from harness.decision.verdict import decide
from harness.errors import HarnessError
from harness.runner import experiment
from harness.spec import Arm, Decision, Hypothesis, Segment
from harness.stats import seed_user_interval
from harness.stats._results import ConfidenceInterval, IntervalResult

BOTH = Decision.all_of(Decision.better(0.0, metric="recall@10"), Decision.not_worse(0.01))


def hypothesis(decision=BOTH, seeds=(0, 1, 2)) -> Hypothesis:
    return Hypothesis(id="HA", claim="kNN finds more and ranks no worse", dataset="ml-100k", positives=("rating>=4",),
                      baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn", K=50),
                      segments=(Segment.all(),), metrics=("ndcg@10", "recall@10"), primary="ndcg@10", seeds=seeds,
                      decision=decision, n_boot=200)


def test_spec_errors():
    with pytest.raises(HarnessError, match="all_of needs at least two decisions"):
        Decision.all_of(Decision.better(0.0))
    with pytest.raises(HarnessError, match="not nested all_of"):
        Decision.all_of(Decision.better(0.0), BOTH)
    with pytest.raises(HarnessError, match="same rule on the same metric twice"):
        Decision.all_of(Decision.better(0.0), Decision.better(0.01))
    with pytest.raises(HarnessError, match="decision metric .*'mrr@10'.* one of the hypothesis' metrics"):
        hypothesis(Decision.all_of(Decision.better(0.0, metric="mrr@10"), Decision.not_worse(0.01)))
    with pytest.raises(HarnessError, match="metric='ndcg' must be one of the hypothesis' metrics"):
        Decision.better(0.0, metric="ndcg")
    assert [d.metric for _, d in hypothesis().decisions] == ["recall@10", None]


def _cell(metric, lo, hi):
    iv = IntervalResult((lo + hi) / 2, ConfidenceInterval(lo, hi), 0.01, "m", 0.95, 0, 10.0)
    return analysis.Cell("v", "all", metric, 100, 3, primary=iv)


@pytest.mark.parametrize("recall,ndcg,status", [
    ((0.01, 0.02), (-0.005, 0.01), "CONFIRMED"),     # better on recall, not worse on ndcg
    ((0.01, 0.02), (-0.03, -0.015), "REJECTED"),     # ndcg worse beyond the margin
    ((-0.02, -0.01), (-0.005, 0.01), "REJECTED"),    # recall worse
    ((-0.01, 0.02), (-0.005, 0.01), "INCONCLUSIVE"),  # recall not shown better
])
def test_the_verdict_is_the_and_of_the_parts(recall, ndcg, status):
    v = decide(hypothesis(), [_cell("ndcg@10", *ndcg), _cell("recall@10", *recall)])
    assert v.status == status
    assert [(p.cell.metric, p.status) for p in v.variants][0][0] == "recall@10"
    assert "v / all / recall@10: " in v.reason and "v / all / ndcg@10: " in v.reason


def test_a_run_records_each_part(ml100k, tmp_path):
    out = experiment.run(hypothesis(), inter=ml100k, results_dir=tmp_path, cache_dir=None, quiet=True)
    doc = json.loads((out.run_dir / "summary.json").read_text())
    assert doc["hypothesis"]["decisions"] == [
        {"segment": "all", "rule": "better", "margin": 0.0, "alpha": 0.05, "metric": "recall@10"},
        {"segment": "all", "rule": "not_worse", "margin": 0.01, "alpha": 0.05}]
    parts = doc["verdict"]["variants"]
    assert [p.get("metric") for p in parts] == ["recall@10", None]
    cells = {c["metric"]: c for c in doc["cells"]}
    lo = cells["recall@10"]["delta"]["low"]
    assert parts[0]["status"] == ("CONFIRMED" if lo > 0 else parts[0]["status"])
    statuses = [p["status"] for p in parts]
    expect = "CONFIRMED" if all(s == "CONFIRMED" for s in statuses) else "REJECTED" if "REJECTED" in statuses \
        else "INCONCLUSIVE"
    assert doc["verdict"]["status"] == expect
    report = (out.run_dir / "report.md").read_text()
    assert "intersection-union test" in report and "metric `recall@10`" in report
    assert "`better(margin=0)` on `recall@10` in segment `all`" in report


def test_confirming_a_false_and_stays_below_alpha():
    """Part 1 true (a clear gain), part 2 false at its boundary (true delta exactly -margin for not_worse):
    the AND is false, and it is confirmed in at most alpha of the simulated runs (about alpha / 2 here, since
    not_worse uses one side of the two-sided interval), within the 99 % binomial band."""
    rng = np.random.default_rng(8)
    margin, reps, confirmed = 0.01, 1000, 0
    for _ in range(reps):
        k, n = 5, 300
        gain = 0.05 + rng.normal(0, 0.01, size=(k, 1)) + rng.normal(0, 0.1, size=(k, n))
        worse = -margin + rng.normal(0, 0.005, size=(k, 1)) + rng.normal(0, 0.05, size=n) \
            + rng.normal(0, 0.05, size=(k, n))
        a = seed_user_interval(gain, rng=rng).ci
        b = seed_user_interval(worse, rng=rng).ci
        confirmed += (a.low > 0) and (b.low > -margin)
    hi = stats.binom.ppf(0.995, reps, 0.05) / reps
    assert confirmed / reps <= hi
