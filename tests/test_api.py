"""The Python API (issue 28, part 1): harness.run(hypothesis, **options) -> Result, harness.load(...).

The options object is shared with the CLI's ``run``; a Result equals the CLI's run byte for byte in
per_user; ``results_dir=None`` writes nothing; load() round-trips."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harness
from harness.errors import HarnessError
from harness.outputs import run_folder
from harness.runner.options import CLI_ONLY, RunOptions

HYP = '''
from harness.spec import Arm, Decision, Hypothesis, Segment

HYPOTHESIS = Hypothesis(
    id="HAPI", claim="item kNN beats popularity", dataset="ml-100k", positives=["rating>=4"],
    baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn", K=30),
    segments=[Segment.activity_quantile(0.7, name="dense"), Segment.all()],
    metrics=["ndcg@10", "recall@10"], primary="ndcg@10", seeds=range(2),
    decision=Decision.better(margin=0.0))
'''


@pytest.fixture
def hyp_dir(tmp_path) -> Path:
    d = tmp_path / "hyps"
    d.mkdir()
    (d / "h_api.py").write_text(HYP)
    return d


def _cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd)


def test_every_run_flag_is_an_option_and_back():
    from harness.cli import build_parser

    parser = build_parser()
    run_parser = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "run")[1]
    dests = {a.dest for a in run_parser._actions if a.dest != "help"}
    fields = {f.name for f in dataclasses.fields(RunOptions)}
    flags = {"columns" if d == "column" else d for d in dests} - set(CLI_ONLY)
    assert flags == fields, f"flags without an option: {sorted(flags - fields)}; options without a flag: {sorted(fields - flags)}"


def test_result_equals_the_cli_run(tmp_path, hyp_dir, ml100k_dir, monkeypatch):
    res_cli, res_api = tmp_path / "cli", tmp_path / "api"
    out = _cli("run", "HAPI", "--hypotheses", str(hyp_dir), "--data-dir", str(ml100k_dir), "--results-dir",
               str(res_cli), "--no-cache", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (cli_dir,) = [p for p in (res_cli / "HAPI").iterdir() if p.is_dir()]
    monkeypatch.chdir(tmp_path)
    r = harness.run("HAPI", hypotheses=hyp_dir, data_dir=ml100k_dir, results_dir=res_api, cache_dir=None, quiet=True)
    assert r.run_dir.parent.parent == res_api and r.run_dir.name == cli_dir.name
    assert (r.run_dir / "per_user.parquet").read_bytes() == (cli_dir / "per_user.parquet").read_bytes()
    assert str(r.verdict) == out.stdout.strip().splitlines()[-1]
    mem = harness.run(Path(hyp_dir / "h_api.py"), data_dir=ml100k_dir, results_dir=None, cache_dir=None, quiet=True)
    assert mem.run_dir is None and mem.report_path is None and mem.figures == []
    run_folder.write_parquet(tmp_path / "mem.parquet", mem.per_user)
    assert (tmp_path / "mem.parquet").read_bytes() == (cli_dir / "per_user.parquet").read_bytes()
    assert mem.summary["cells"] == r.summary["cells"] and mem.run_id == r.run_id


def test_results_dir_none_writes_nothing(tmp_path, ml100k_dir, monkeypatch):
    from harness import Arm, Decision, Hypothesis, Segment

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    hyp = Hypothesis(id="HMEM", claim="x", dataset="ml-100k", positives=["rating>=4"],
                     baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn"), segments=[Segment.all()],
                     metrics=["ndcg@10"], primary="ndcg@10", seeds=range(2), decision=Decision.better(0.0))
    before = sorted(p for p in tmp_path.rglob("*"))
    r = harness.run(hyp, data_dir=ml100k_dir, results_dir=None, cache_dir=None, quiet=True)
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert r.per_user.shape[0] > 0 and r.verdict.status in ("CONFIRMED", "REJECTED", "INCONCLUSIVE")


def test_load_round_trips_and_the_frames_hold_numbers(tmp_path, hyp_dir, ml100k_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = tmp_path / "results"
    r = harness.run("HAPI", hypotheses=hyp_dir, data_dir=ml100k_dir, results_dir=res, cache_dir=tmp_path / "c",
                    quiet=True)
    for ref in (r.run_dir, r.run_id, "HAPI"):
        back = harness.load(ref, results_dir=res)
        assert back.run_dir == r.run_dir
        pd.testing.assert_frame_equal(back.per_user, r.per_user)
        pd.testing.assert_frame_equal(back.cells, r.cells)
        pd.testing.assert_frame_equal(back.arms, r.arms)
        assert str(back.verdict) == str(r.verdict) and back.warnings == r.warnings
    cells = r.cells
    assert len(cells) == 2 * 2  # (1 positives) x (2 segments) x (2 metrics)
    for col in ("delta", "ci_low", "ci_high", "p", "p_adjusted", "p_wilcoxon", "p_wilcoxon_adjusted", "cohens_dz",
                "rank_biserial", "mde", "n_users"):
        assert pd.api.types.is_numeric_dtype(cells[col]), col
    doc = {(c["segment"], c["metric"]): c for c in r.summary["cells"]}
    for row in cells.itertuples(index=False):
        c = doc[(row.segment, row.metric)]
        assert row.ci_low == c["delta"]["low"] and row.ci_high == c["delta"]["high"] and row.n_users == c["n_users"]
        assert pd.notna(row.status) == (row.metric == "ndcg@10" and row.segment == "dense")
    dense = cells[cells["status"].notna()].iloc[0]
    assert dense["decision"] == "better(0)" and dense["status"] == r.verdict.status
    arms = r.arms
    assert sorted(zip(arms["arm"], arms["seed"])) == [("knn", 0), ("knn", 1), ("pop", 0), ("pop", 1)]
    pu = r.per_user
    want = pu[(pu.arm == "knn") & (pu.seed == 1)]["ndcg@10"].mean()
    assert np.isclose(arms[(arms.arm == "knn") & (arms.seed == 1)]["ndcg@10"].iloc[0], want, rtol=0, atol=1e-15)
    assert (arms["seconds"] >= 0).all() and arms["cached"].notna().all()
    md = r._repr_markdown_()
    assert md.startswith(f"**HAPI: {r.verdict.status}**") and "| dense | ndcg@10 |" in md
    assert r.report_path.is_file() and all(p.suffix == ".png" for p in r.figures) and r.figures


def test_public_names_and_bad_options(tmp_path):
    from harness import Arm, Decision, Hypothesis, Segment, load, run  # noqa: F401

    with pytest.raises(HarnessError, match="Unknown option 'n_job'. Did you mean: n_jobs"):
        run("H1", n_job=2)
    with pytest.raises(HarnessError, match="seeds=0"):
        run("H1", seeds=0)
    with pytest.raises(HarnessError, match="not found"):
        load(tmp_path / "nothing", results_dir=tmp_path)


def test_the_notebook_executes(tmp_path):
    """docs/notebook.py (jupytext percent format) runs top to bottom as a script, offline."""
    nb = Path(__file__).resolve().parents[1] / "docs" / "notebook.py"
    out = subprocess.run([sys.executable, str(nb)], capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("HNB: ") and any(s in lines[0] for s in ("CONFIRMED", "REJECTED", "INCONCLUSIVE"))
    assert "positives" in out.stdout and "dense" in out.stdout and "ci_low" in out.stdout
    assert (tmp_path / "notebook-figures" / "dense_delta.png").stat().st_size > 1000
    assert not (tmp_path / "results").exists(), "results_dir=None writes no run folder"
