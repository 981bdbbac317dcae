"""H1 end to end on the generated MovieLens-format fixture (small settings): report files, verdict,
reproducibility."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness.runner import experiment, discover as registry
from harness.spec import Arm

ROOT = Path(__file__).resolve().parents[1]


def small_h1(seeds=(0, 1, 2)):
    h = registry.get("H1", ROOT / "hypotheses")
    fast = dict(loss="bpr", no_components=16, learning_rate=0.05, epochs=3, curve=True)
    return h.replace(baseline=Arm("cf", "lightfm", **fast),
                     treatment=Arm("cf+content", "lightfm", item_features="embedding[:32]", **fast),
                     seeds=tuple(seeds), n_boot=500)


@pytest.fixture(scope="module")
def run_twice(ml100k_dir, tmp_path_factory):
    """The same small H1 run three times: n_jobs=1, n_jobs=2, and n_jobs=1 again (from cache)."""
    tmp = tmp_path_factory.mktemp("e2e")
    kw = dict(dataset="ml-100k", data_dir=ml100k_dir, quiet=True)
    a = experiment.run(small_h1(), results_dir=tmp / "a", cache_dir=tmp / "cache_a", n_jobs=1, **kw)
    b = experiment.run(small_h1(), results_dir=tmp / "b", cache_dir=tmp / "cache_b", n_jobs=2, **kw)
    c = experiment.run(small_h1(), results_dir=tmp / "a", cache_dir=tmp / "cache_a", n_jobs=1, **kw)
    return a, b, c


def test_run_folder_has_every_artifact(run_twice):
    a, _, _ = run_twice
    for name in ("report.md", "summary.json", "per_user.parquet", "provenance.json", "figures/forest.png",
                 "figures/seeds.png", "figures/distribution.png", "figures/learning_curves.png"):
        assert (a.run_dir / name).is_file(), name
    assert not [p for p in a.run_dir.parent.iterdir() if p.name.startswith(".tmp")]
    for png in (a.run_dir / "figures").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_shows_both_arms_delta_ci_and_wilcoxon(run_twice):
    a, _, _ = run_twice
    text = (a.run_dir / "report.md").read_text()
    assert text.startswith("# H1: ")
    assert "**Verdict:" in text
    assert "## Positives: `rating>=4`" in text  # H1's VK positives fall back to MovieLens' default
    for col in ("| cf |", "| cf+content |", "95 % CI (seed x user)", "Wilcoxon p raw / adj"):
        assert col in text.replace("| segment | metric | users | cf | cf+content |", "| cf | cf+content |")
    doc = json.loads((a.run_dir / "summary.json").read_text())
    dense = next(c for c in doc["cells"] if c["segment"] == "dense" and c["metric"] == "ndcg@10")
    assert 0.25 * 300 < dense["n_users"] < 0.4 * 300 and dense["n_seeds"] == 3  # "dense": top 30 % of 300 users
    assert dense["delta"]["low"] <= dense["delta"]["estimate"] <= dense["delta"]["high"]
    # every verdict is one of the three
    assert doc["verdict"]["status"] in ("CONFIRMED", "REJECTED", "INCONCLUSIVE")


def test_summary_means_recomputable_from_per_user(run_twice):
    a, _, _ = run_twice
    doc = json.loads((a.run_dir / "summary.json").read_text())
    pu = pd.read_parquet(a.run_dir / "per_user.parquet")
    for c in doc["cells"]:
        d = pu[(pu.variant == c["variant"]) & pu[f"seg_{c['segment']}"]]
        base = d[d.arm == "cf"][c["metric"]].mean()
        treat = d[d.arm == "cf+content"][c["metric"]].mean()
        assert base == pytest.approx(c["mean_baseline"], abs=1e-12)
        assert treat == pytest.approx(c["mean_treatment"], abs=1e-12)
        assert c["delta"]["estimate"] == pytest.approx(treat - base, abs=1e-12)


def test_identical_results_for_n_jobs_and_reruns(run_twice):
    a, b, c = run_twice
    assert a.run_id == b.run_id == c.run_id
    pa, pb, pc = (r.run_dir / "per_user.parquet" for r in (a, b, c))
    assert pa.read_bytes() == pb.read_bytes()
    assert pa.read_bytes() == pc.read_bytes()
    assert (a.run_dir / "summary.json").read_text() == (b.run_dir / "summary.json").read_text()
    assert c.cached == 6 and c.fitted == 0  # the rerun read every task from the cache


def test_cli_run_prints_report_path_and_verdict(ml100k_dir, tmp_path):
    hyp_dir = tmp_path / "hyps"
    hyp_dir.mkdir()
    (hyp_dir / "h1_small.py").write_text(
        "from harness.spec import Arm, Decision, Hypothesis, Segment\n"
        "f = dict(loss='bpr', no_components=8, epochs=2)\n"
        "HYPOTHESIS = Hypothesis(id='H1', claim='small', dataset='ml-100k', positives=('rating>=4',),\n"
        "    baseline=Arm('cf', 'lightfm', **f), treatment=Arm('cf+content', 'lightfm', item_features='content', **f),\n"
        "    segments=(Segment.activity_quantile(0.7), Segment.all()), metrics=('ndcg@10',), primary='ndcg@10',\n"
        "    seeds=(0, 1), decision=Decision.not_better(0.002), n_boot=200)\n")
    out = subprocess.run([sys.executable, "-m", "harness", "run", "H1", "--data-dir", str(ml100k_dir),
                          "--hypotheses", str(hyp_dir), "--results-dir", str(tmp_path / "res"),
                          "--cache-dir", str(tmp_path / "cache"), "--quiet", "--n-jobs", "1"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("report: ") and lines[0].endswith("report.md")
    assert Path(lines[0].split(" ", 1)[1]).is_file()
    assert lines[1].split(":")[0] == "H1" and any(s in lines[1] for s in ("CONFIRMED", "REJECTED", "INCONCLUSIVE"))
    show = subprocess.run([sys.executable, "-m", "harness", "show", "latest", "H1", "--results-dir",
                           str(tmp_path / "res")], capture_output=True, text=True, cwd=tmp_path)
    assert show.returncode == 0, show.stderr
    assert show.stdout.splitlines()[0] == lines[1]


def test_learning_curves_for_epoch_arms(run_twice, ml100k):
    a, _, _ = run_twice
    doc = json.loads((a.run_dir / "summary.json").read_text())
    curves = doc["curves"]["rating>=4"]
    assert set(curves) == {"cf", "cf+content"}
    for c in curves.values():
        assert c["metric"] == "ndcg@10" and set(c["seeds"]) == {"0", "1", "2"}
        assert all(len(s) == 3 for s in c["seeds"].values())  # 3 epochs
    # the curve is the validation window inside training (never the test window): recomputed here
    from harness.runner.tuning import window as tuning
    from harness.arms import lightfm as lfm
    from harness.design.prepare import prepare
    from harness.design.split import split

    data = prepare(ml100k, split(ml100k, ml100k.default_split), "rating>=4")
    params = {k: v for k, v in small_h1().baseline.kwargs.items() if k not in ("epochs", "curve")}
    again = tuning.validation_curve(lfm.fit, data.train, 0, params, "ndcg@10", 3)
    assert curves["cf"]["seeds"]["0"] == pytest.approx(list(again), abs=1e-12)
