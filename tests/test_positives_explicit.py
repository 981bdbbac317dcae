"""Nothing swapped silently: positives given for a run (``--positives``) that read a column the data lacks
are an error naming the column and the columns there are; a hypothesis' own positives still fall back to
the dataset's default (documented), as a warning beside the verdict."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness.design.feedback import resolve
from harness.errors import HarnessError
from harness.runner import experiment
from harness.spec import Arm, Decision, Hypothesis, Segment

EVENTS = pd.DataFrame({"user": [0, 1], "item": [0, 1], "time": [0, 1], "rating": [4.0, 2.0], "plays": [3, 1]})


def test_explicit_positives_with_a_missing_column_are_an_error():
    with pytest.raises(HarnessError) as e:
        resolve(("ratng>=4",), EVENTS, ("rating>=4",), explicit=True)
    assert str(e.value) == ("--positives 'ratng>=4' reads column(s) ratng (did you mean rating?), which the data lacks "
                            "(columns: rating, plays); fix the expression in --positives")
    with pytest.raises(HarnessError, match="--positives 'like' reads column"):  # one good, one bad: not skipped
        resolve(("rating>=4", "like"), EVENTS, ("rating>=4",), explicit=True)
    assert resolve(("plays>=2",), EVENTS, ("rating>=4",), explicit=True) == (("plays>=2",), "")
    # a hypothesis' own positives: the documented fallback, with the note that becomes a warning
    assert resolve(("ratng>=4",), EVENTS, ("rating>=4",)) == (
        ("rating>=4",), "positives ['ratng>=4'] need columns this dataset lacks; using the dataset's default "
                        "['rating>=4']")


HX = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HX", claim="pop vs itemknn", dataset="ml-100k", positives=("watch_ratio>=0.5",),
    baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn"), segments=(Segment.all(),),
    metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1, 2), decision=Decision.better(0.0), n_boot=200)
"""


def _ratings(d: Path) -> Path:
    data = d / "ratings.csv"
    rows = ["user,item,rating,time"] + [f"{u},{(u * 7 + j * 3) % 40},{1 + (u + j) % 5},{j}"
                                        for u in range(60) for j in range(12)]
    data.write_text("\n".join(rows) + "\n")
    return data


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_cli_positives_typo_is_one_line_exit_2_and_writes_nothing(tmp_path):
    data = _ratings(tmp_path)
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "hx.py").write_text(HX)
    before = _tree(tmp_path)
    out = subprocess.run([sys.executable, "-m", "harness", "run", "HX", "--dataset", f"tabular:{data.name}",
                          "--hypotheses", str(hyps), "--results-dir", str(tmp_path / "res"), "--no-cache", "--quiet",
                          "--positives", "ratng>=4"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.splitlines() == ["error: --positives 'ratng>=4' reads column(s) ratng (did you mean rating?), "
                                       "which the data lacks (columns: rating); fix the expression in --positives"]
    assert _tree(tmp_path) == before


def test_own_positives_fall_back_with_a_warning_and_explicit_ones_fail(tmp_path):
    from harness.data import load_dataset

    inter = load_dataset(f"tabular:{_ratings(tmp_path)}", None, None)
    hyp = Hypothesis(id="HY", claim="c", dataset=inter.name, positives=("watch_ratio>=0.5",),
                     baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn"), segments=(Segment.all(),),
                     metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1, 2), decision=Decision.better(0.0), n_boot=200)
    out = experiment.run(hyp, inter=inter, results_dir=tmp_path / "res", cache_dir=None, quiet=True)
    assert out.summary["warnings"][0] == ("positives ['watch_ratio>=0.5'] need columns this dataset lacks; using the "
                                          "dataset's default ['rating>=4']")
    with pytest.raises(HarnessError, match=r"--positives 'watch_ratio>=0\.5' reads column\(s\) watch_ratio"):
        experiment.run(hyp.replace(explicit_positives=True), inter=inter, results_dir=tmp_path / "res2",
                       cache_dir=None, quiet=True)
    assert not (tmp_path / "res2").exists()
    assert hyp.replace(explicit_positives=True).to_dict() == hyp.to_dict()  # same spec, same run id
