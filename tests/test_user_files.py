"""A user's own hypotheses and runs stay out of the committed files, and out of the tests' way: on a copy
of hypotheses/ and results/reference/ with the README's `new H99` file, another hypothesis and its run
folder added, an ordinary `run` and `index` leave every committed index byte-identical, and the checks
the test suite makes on the committed files still pass."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from _shipped import ROOT, clashing_new_examples, shipped_ids, stale_reference_index

from harness.runner import discover

HX = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HX", claim="pop vs itemknn", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn"), segments=(Segment.all(),),
    metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1, 2), decision=Decision.better(0.0), n_boot=200)
"""


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_user_hypotheses_and_runs_change_no_committed_file_and_no_check(tmp_path):
    proj = tmp_path / "proj"
    hyps, results = proj / "hypotheses", proj / "results"
    shutil.copytree(ROOT / "hypotheses", hyps)
    shutil.copytree(ROOT / "results" / "reference", results / "reference")
    committed = {p: p.read_bytes() for p in (results / "reference").rglob("README.md")}
    assert cli("new", "H99", "--claim", "My own claim", "--hypotheses", hyps, cwd=proj).returncode == 0
    (hyps / "hx_mine.py").write_text(HX)
    (proj / "ratings.csv").write_text("user,item,rating,time\n" + "".join(
        f"{u},{(u * 7 + j * 3) % 40},{1 + (u + j) % 5},{j}\n" for u in range(60) for j in range(12)))
    assert {"H99", "HX"} <= set(discover.registered_ids(hyps))  # what the old checks read: every file there

    run = cli("run", "HX", "--dataset", "tabular:ratings.csv", "--hypotheses", hyps, "--results-dir", results,
              "--no-cache", "--quiet", cwd=proj)
    assert run.returncode == 0, run.stderr
    index = cli("index", "--results-dir", results, "--hypotheses", hyps, cwd=proj)
    assert index.returncode == 0, index.stderr
    assert len(list((results / "HX").glob("HX-*/summary.json"))) == 1  # the user's run folder, indexed
    assert "| HX |" in (results / "README.md").read_text()

    assert {p: p.read_bytes() for p in (results / "reference").rglob("README.md")} == committed
    # the check on the committed index finds the same on the copy as on the repository (nothing, once the
    # reference runs are current): the user's files change nothing in it
    same = [line.replace(str(results / "reference"), "REF") for line in stale_reference_index(results / "reference", hyps)]
    assert same == [line.replace(str(ROOT / "results" / "reference"), "REF") for line in
                    stale_reference_index(ROOT / "results" / "reference")]
    assert clashing_new_examples(hyps)[1] == set()
    assert shipped_ids(hyps) == shipped_ids()
