"""Rolling-origin folds end to end on a small generated VK-LSVD: the deciding interval is
``harness.stats.fold_interval`` of the folds' delta arrays (recomputed here from per_user.parquet), each fold's
interval is its seed x user interval, "holds in k of F" applies the decision to each fold by hand; segments come
from each fold's training data; identical bytes for n_jobs 1 and 2 and from the cache; one fold equals the
ordinary time split's numbers and per-user table; an ordinary split has no fold fields."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from _tiny import tiny_vk

from harness import stats as S
from harness.decision import analysis, rolling
from harness.outputs import report as report_text, summary
from harness.design import feedback
from harness.errors import HarnessError
from harness.runner import experiment
from harness.spec import Arm, Decision, Hypothesis, Segment, Split

SCHEMA = Path(__file__).resolve().parents[1] / "harness" / "schema" / "summary.schema.json"
MARGIN = 0.02


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("rolling"), "synthetic-roll", n_users=300, n_items=120, seed=5)


def hypothesis(split: Split) -> Hypothesis:
    fast = dict(loss="bpr", no_components=8, learning_rate=0.05, epochs=2)
    return Hypothesis(id="HR", claim="rolling", dataset="synthetic-roll", positives=("watch_ratio>=0.5",),
                      baseline=Arm("cf", "lightfm", **fast),
                      treatment=Arm("cf+content", "lightfm", item_features="embedding[:8]", **fast),
                      segments=(Segment.activity_quantile(0.7, name="dense"), Segment.all()),
                      metrics=("ndcg@10", "recall@10"), primary="ndcg@10", seeds=(0, 1, 2), n_boot=200,
                      decision=Decision.not_better(margin=MARGIN), split=split)


@pytest.fixture(scope="module")
def runs(inter, tmp_path_factory):
    """The same 3-fold run with n_jobs=1 (cached), n_jobs=2 (no cache) and again from the cache."""
    tmp = tmp_path_factory.mktemp("rolling_runs")
    hyp = hypothesis(Split.rolling(test_from=23, folds=3))
    a = experiment.run(hyp, inter=inter, results_dir=tmp / "a", cache_dir=tmp / "cache", n_jobs=1, quiet=True)
    b = experiment.run(hyp, inter=inter, results_dir=tmp / "b", cache_dir=None, n_jobs=2, quiet=True)
    c = experiment.run(hyp, inter=inter, results_dir=tmp / "c", cache_dir=tmp / "cache", n_jobs=2, quiet=True)
    return a, b, c


def _deltas(per_user: pd.DataFrame, fold: int, segment: str, metric: str) -> np.ndarray:
    rows = per_user[(per_user["fold"] == fold) & per_user[f"seg_{segment}"]]
    wide = rows.pivot_table(index=["seed", "user_index"], columns="arm", values=metric)
    delta = (wide["cf+content"] - wide["cf"]).unstack("user_index")
    return delta.sort_index().to_numpy()


def _users(per_user: pd.DataFrame, fold: int, segment: str) -> np.ndarray:
    rows = per_user[(per_user["fold"] == fold) & per_user[f"seg_{segment}"]]
    return np.sort(rows["user_index"].unique())


def test_one_task_per_fold_and_same_bytes_any_n_jobs_and_cache(runs):
    a, b, c = runs
    assert (a.fitted, a.cached) == (3 * 2 * 3, 0) and (c.fitted, c.cached) == (0, 18)
    for other in (b, c):
        assert other.run_id == a.run_id
        for name in ("per_user.parquet", "summary.json", "report.md"):
            assert (other.run_dir / name).read_bytes() == (a.run_dir / name).read_bytes(), name
    labels = {t["task"] for t in a.provenance["tasks"]}
    assert len(labels) == 18 and all(" / fold " in x for x in labels)
    assert sorted({t["fold"] for t in a.provenance["tasks"]}) == [0, 1, 2]


def test_deciding_interval_is_fold_interval_of_the_per_user_table(runs):
    a, _, _ = runs
    per_user = pd.read_parquet(a.run_dir / "per_user.parquet")
    assert list(per_user.columns[:4]) == ["variant", "arm", "seed", "fold"]
    doc = json.loads((a.run_dir / "summary.json").read_text())
    for cell in doc["cells"]:
        deltas = [_deltas(per_user, f, cell["segment"], cell["metric"]) for f in range(3)]
        users = [_users(per_user, f, cell["segment"]) for f in range(3)]  # users shared by folds count as such
        want = S.fold_interval(deltas, confidence_level=0.95, users=users)
        got = cell["delta"]
        assert (got["estimate"], got["low"], got["high"], got["se"]) == pytest.approx(
            (want.estimate, want.ci.low, want.ci.high, want.standard_error), rel=1e-12, abs=1e-15)
        folds = cell["folds"]
        assert folds["tau"] == pytest.approx(want.tau, abs=1e-15)
        assert folds["seed_sd"] == pytest.approx(want.seed_sd, rel=1e-12)
        assert sum(pf["n_users"] for pf in folds["per_fold"]) == cell["n_users"]
        for f, pf in enumerate(folds["per_fold"]):
            own = S.seed_user_interval(deltas[f], confidence_level=0.95, n_resamples=0,
                                       rng=np.random.default_rng(0))
            assert pf["n_users"] == deltas[f].shape[1]
            assert (pf["delta"]["low"], pf["delta"]["high"]) == pytest.approx((own.ci.low, own.ci.high), rel=1e-12)
            assert pf["mean_delta"] == pytest.approx(deltas[f].mean(), rel=1e-12)
        assert sum(pf["weight"] for pf in folds["per_fold"]) == pytest.approx(1.0)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))


def test_holds_in_k_of_f_applies_the_decision_to_each_fold(runs):
    a, _, _ = runs
    doc = a.summary
    (vv,) = doc["verdict"]["variants"]
    cell = next(c for c in doc["cells"] if (c["segment"], c["metric"]) == ("dense", "ndcg@10"))

    def status(d):  # not_better: CONFIRMED when high < margin, REJECTED when low > margin
        return "CONFIRMED" if d["high"] < MARGIN else "REJECTED" if d["low"] > MARGIN else "INCONCLUSIVE"

    assert vv["status"] == status(cell["delta"]) == doc["verdict"]["status"]
    statuses = [status(pf["delta"]) for pf in cell["folds"]["per_fold"]]
    assert vv["folds"] == {"holds": statuses.count(vv["status"]), "of": 3, "statuses": statuses}
    assert f"the verdict holds in {statuses.count(vv['status'])} of 3 folds" in vv["reason"]
    report = (a.run_dir / "report.md").read_text()
    assert "## Across test windows (rolling-origin folds)" in report
    assert "on the 95 % interval over the test windows (random-effects combination of each fold's seed x user" \
        in report
    assert f"holds in {statuses.count(vv['status'])} of 3 folds" in report
    tau, sd = cell["folds"]["tau"], cell["folds"]["seed_sd"]
    assert f"fold-to-fold SD (tau) {tau:.4f} beside the seed SD {sd:.4f}" in report
    assert "![per-fold deltas with CIs](figures/folds.png)" in report
    assert "- rolling-origin folds: the split, positives, segments and leakage audit below describe the last fold " \
        "(test [25, 26))" in report
    shown = report_text.terminal(doc)
    assert f"folds: watch_ratio>=0.5 / dense: fold-to-fold SD (tau) {tau:.4f}" in shown
    assert (a.run_dir / "figures" / "folds.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_segments_and_activity_per_fold(runs, inter):
    """n_train_pos of a fold counts the user's training positives before that fold's window; users differ
    between folds."""
    a, _, _ = runs
    per_user = a.per_user
    ev = inter.events
    pos = feedback.positive_mask("watch_ratio>=0.5", ev)
    seen = []
    for f, start in enumerate((23, 24, 25)):
        want = np.bincount(ev["user"][pos & (ev["time"] < start).to_numpy()], minlength=inter.n_users)
        rows = per_user[(per_user["fold"] == f) & (per_user["arm"] == "cf") & (per_user["seed"] == 0)]
        assert rows["n_train_pos"].tolist() == want[rows["user_index"]].tolist()
        dense = rows[rows["seg_dense"]]["n_train_pos"]
        assert dense.min() > rows[~rows["seg_dense"]]["n_train_pos"].max()  # dense: the most active in this fold
        seen.append(set(rows["user_index"]))
    assert seen[0] != seen[1] and (seen[0] | seen[1] | seen[2]) - (seen[0] & seen[1] & seen[2])
    assert [f["fold"] for f in a.summary["data"]["folds"]] == ["test [23, 24)", "test [24, 25)", "test [25, 26)"]


def test_one_fold_gives_the_ordinary_time_split_numbers(inter, tmp_path):
    """Split.rolling with one fold [25, 26) on data ending in week 25 is the global time split at 25: the same
    per-user table (plus a fold column), the same cells (plus their folds block), verdict status and run blocks."""
    kw = dict(inter=inter, results_dir=tmp_path / "r", cache_dir=None, quiet=True)
    plain = experiment.run(hypothesis(Split.global_time(25)), **kw)
    one = experiment.run(hypothesis(Split.rolling(test_from=25, folds=1)), **kw)
    assert inter.events["time"].max() == 25
    pd.testing.assert_frame_equal(one.per_user.drop(columns="fold"), plain.per_user)
    cells_one = [{k: v for k, v in c.items() if k != "folds"} for c in one.summary["cells"]]
    assert json.dumps(cells_one) == json.dumps(plain.summary["cells"])
    assert one.summary["verdict"]["status"] == plain.summary["verdict"]["status"]
    for block in ("coverage", "reference", "curves"):
        assert one.summary[block] == plain.summary[block]
    assert all("folds" not in c for c in plain.summary["cells"])
    assert all("folds" not in v for v in plain.summary["verdict"]["variants"])
    assert "folds" not in plain.summary["data"] and "fold" not in plain.per_user.columns
    assert "rolling-origin" not in (plain.run_dir / "report.md").read_text()
    assert not (plain.run_dir / "figures" / "folds.png").exists()


def test_save_runs_and_no_disparity_are_refused_with_folds(inter, tmp_path):
    with pytest.raises(HarnessError, match="--save-runs does not support rolling-origin folds"):
        experiment.run(hypothesis(Split.rolling(test_from=24, folds=2)), inter=inter, results_dir=tmp_path,
                       cache_dir=None, quiet=True, save_runs="csv")
    hyp = hypothesis(Split.rolling(test_from=24, folds=2)).replace(
        decision=Decision.no_disparity("gender", margin=0.01))
    with pytest.raises(HarnessError, match="no_disparity does not combine rolling-origin folds"):
        rolling.compare_folds(hyp, pd.DataFrame({"fold": [0]}), ("watch_ratio>=0.5",), ("a", "b"))


def test_a_fold_without_users_is_left_out_of_the_interval():
    """Fold 2 of 3 has no users in the cell: the interval combines folds 1 and 3 (fold_interval of their deltas),
    the stacked statistics use their 5 + 4 users, and the empty fold has no weight in summary.json."""
    rng = np.random.default_rng(1)
    seeds = np.array([0, 1, 2])
    parts = [(seeds, rng.random((3, 5)), rng.random((3, 5))), (seeds, np.zeros((3, 0)), np.zeros((3, 0))),
             (seeds, rng.random((3, 4)), rng.random((3, 4)))]
    folds = tuple((label, analysis.analyse_cell(b, t, s, variant="v", segment="s", metric="ndcg@10", level=0.95,
                                                 n_boot=50, rng=np.random.default_rng(0)))
                  for label, (s, b, t) in zip(("f1", "f2", "f3"), parts))
    cell = rolling.combine(parts, folds, variant="v", segment="s", metric="ndcg@10", level=0.95, n_boot=50,
                           rng=np.random.default_rng(0))
    want = S.fold_interval([parts[0][2] - parts[0][1], parts[2][2] - parts[2][1]], confidence_level=0.95)
    assert (cell.primary.ci.low, cell.primary.ci.high) == (want.ci.low, want.ci.high)
    assert cell.n_users == 9 and cell.primary_p == analysis.primary_pvalue(want)
    doc = summary.folds_dict(cell)
    assert [pf["weight"] for pf in doc["per_fold"]] == [want.weights[0], None, want.weights[1]]
    assert doc["per_fold"][1] == {"fold": "f2", "n_users": 0, "empty": True, "mean_delta": None, "delta": None,
                                  "weight": None}


def test_gate_on_folds_uses_the_fold_interval(runs, inter, tmp_path):
    """Gating a rolling run against itself with the treatment's ndcg lowered by 0.05 in fold 2: the interval is
    fold_interval of the per-fold (new - baseline) arrays, here 0 in folds 1 and 3 and -0.05 in fold 2."""
    from harness.outputs import gate

    a, _, _ = runs
    base = a.per_user
    new = base.copy()
    hit = (new["fold"] == 1) & (new["arm"] == "cf+content")
    new.loc[hit, "ndcg@10"] -= 0.05
    res = gate.compare_runs(a.summary, base, a.summary, new, metric="ndcg@10", margin=0.01)
    deltas = [_deltas(new, f, "dense", "ndcg@10") - _deltas(base, f, "dense", "ndcg@10") for f in range(3)]
    deltas = [np.where(np.isclose(d, 0.0), 0.0, d) for d in deltas]  # treatment - treatment: exactly 0 or -0.05
    want = S.fold_interval([d for d in deltas], confidence_level=0.95)
    (cell,) = res.cells
    assert cell.interval.estimate == pytest.approx(want.estimate, abs=1e-12)
    assert (cell.interval.ci.low, cell.interval.ci.high) == pytest.approx((want.ci.low, want.ci.high), abs=1e-9)
    assert cell.passed == (want.ci.low > -0.01)
    plain = experiment.run(hypothesis(Split.global_time(25)), inter=inter, results_dir=None, cache_dir=None,
                           quiet=True)
    with pytest.raises(HarnessError, match="one run has rolling-origin folds"):
        gate.compare_runs(plain.summary, plain.per_user, a.summary, base, metric="ndcg@10", margin=0.01)


HYP_TABULAR = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HT", claim="t", dataset="tabular:{path}", positives=("rating>=4",),
    baseline=Arm("pop", "popularity"), treatment=Arm("als", "als", factors=8, iterations=3),
    segments=(Segment.activity_quantile(0.7, name="dense"), Segment.all()), metrics=("ndcg@10",),
    primary="ndcg@10", seeds=(0, 1), decision=Decision.better(0.0), n_boot=100)
"""


def test_cli_split_rolling_on_a_timestamped_file(inter, tmp_path):
    """``--split rolling:3`` on a CSV with unix times: 3 folds of 5 % of the rows each at the end of the timeline
    (test rows per fold from the data block add up to the last ~15 %), one task per (fold, arm, seed)."""
    import subprocess
    import sys

    ev = inter.events
    rows = pd.DataFrame({"user_id": inter.user_ids[ev["user"]], "item_id": inter.item_ids[ev["item"]],
                         "rating": np.where(ev["watch_ratio"].fillna(0) >= 0.5, 5, 1),
                         "timestamp": 1_600_000_000 + ev["time"].to_numpy() * 604_800 + np.arange(len(ev))})
    path = tmp_path / "events.csv"
    rows.to_csv(path, index=False)
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "ht.py").write_text(HYP_TABULAR.format(path=path))
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "harness", "run", "HT", "--hypotheses", str(hyps), "--quiet",
                           "--no-cache", "--n-jobs", "1", "--split", "rolling:3", "--results-dir", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=root)
    assert done.returncode in (0, 1), done.stderr
    (run_dir,) = [d for d in (tmp_path / "r" / "HT").iterdir() if d.is_dir()]
    doc = json.loads((run_dir / "summary.json").read_text())
    folds = doc["data"]["folds"]
    assert len(folds) == 3 and folds[-1]["test_window"][1] is None
    n = len(rows)
    starts = [n - round(k * 0.05 * n) for k in (3, 2, 1)] + [n]  # distinct times: windows cut at these positions
    assert [f["split_counts"]["test_rows"] for f in folds] == np.diff(starts).tolist()
    assert doc["data"]["split"].startswith("rolling-origin split by row count: 3 folds")
    assert len(json.loads((run_dir / "provenance.json").read_text())["tasks"]) == 3 * 2 * 2
    bad = subprocess.run([sys.executable, "-m", "harness", "run", "HT", "--hypotheses", str(hyps), "--split",
                          "rolling:0"], capture_output=True, text=True, cwd=root)
    assert bad.returncode == 2 and "rolling:FOLDS with FOLDS >= 1" in bad.stderr
