"""A user's own parquet file through the CLI, with a column mapping and their own positive column."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd

HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HT", claim="t", dataset="tabular:{path}", positives=("liked",),
    baseline=Arm("pop", "popularity"), treatment=Arm("als", "als", factors=16, iterations=5),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
    decision=Decision.better(0.0), n_boot=300)
"""


def test_tabular_with_column_mapping(ml100k_dir, tmp_path):
    d = pd.read_csv(ml100k_dir / "ml-100k.inter", sep="\t")
    d.columns = ["uid", "iid", "stars", "ts"]
    d["liked"] = d["stars"] >= 4
    path = tmp_path / "mine.parquet"
    d.to_parquet(path)
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "ht.py").write_text(HYP.format(path=path))
    base = [sys.executable, "-m", "harness", "run", "HT", "--hypotheses", str(hyps), "--quiet", "--no-cache",
            "--results-dir", str(tmp_path / "res")]
    ok = subprocess.run(base + ["--column", "user=uid", "--column", "item=iid", "--column", "time=ts"],
                        capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "HT: CONFIRMED" in ok.stdout  # ALS beats popularity by a wide margin (fixture: NDCG@10 ~0.45 vs ~0.12)
    bad = subprocess.run(base + ["--column", "user=uid", "--column", "item=iid"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert bad.returncode == 2
    assert "timestamp" in bad.stderr and "--column time=<col>" in bad.stderr
    bad_flag = subprocess.run(base + ["--column", "user"], capture_output=True, text=True, cwd=tmp_path)
    assert bad_flag.returncode == 2 and "expected KEY=COL" in bad_flag.stderr
