"""An ANN arm end to end: byte-identical per-user results for n_jobs 1 and 2 and from the cache, an
ANN section in the report and summary.json (valid against the schema), and one-line CLI errors."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _tiny import tiny_vk

from harness.runner import experiment
from harness.spec import Arm, Decision, Hypothesis, Segment

pytest.importorskip("hnswlib")
SCHEMA = Path(__file__).resolve().parents[1] / "harness" / "schema" / "summary.schema.json"
ALS = dict(factors=8, iterations=3)


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("ann"), "synthetic-ann", n_users=500, n_items=1500, seed=7,
                   mean_interactions=25)


def hypothesis(ann: dict) -> Hypothesis:
    return Hypothesis(id="HA", claim="ann", dataset="synthetic-ann", positives=("watch_ratio>=0.5",),
                      baseline=Arm("exact", "als", **ALS), treatment=Arm("hnsw", "als", **ALS, ann=ann),
                      segments=(Segment.all(),), metrics=("ndcg@10", "recall@20"), primary="ndcg@10",
                      seeds=(0, 1), decision=Decision.not_worse(0.01), n_boot=200)


def identical_runs(hyp: Hypothesis, inter, tmp_path: Path) -> Path:
    """Run ``hyp`` with n_jobs 1 (caching), n_jobs 2 (loky, no cache) and from the cache; assert the
    per-unit results and summaries are byte-identical; return the first run's folder."""
    runs = {}
    for tag, kw in (("seq", dict(n_jobs=1, cache_dir=tmp_path / "cache")),
                    ("loky2", dict(n_jobs=2, cache_dir=None)),
                    ("cached", dict(n_jobs=2, cache_dir=tmp_path / "cache"))):
        runs[tag] = experiment.run(hyp, inter=inter, results_dir=tmp_path / tag, quiet=True, **kw)
    assert runs["cached"].fitted == 0
    ref = runs["seq"].run_dir
    for tag, out in runs.items():
        assert (out.run_dir / "per_user.parquet").read_bytes() == (ref / "per_user.parquet").read_bytes(), tag
        assert (out.run_dir / "summary.json").read_text() == (ref / "summary.json").read_text(), tag
    return ref


def test_ann_arm_is_deterministic_for_n_jobs_and_cache_and_reported(inter, tmp_path):
    hyp = hypothesis({"M": 4, "ef_construction": 20, "ef": 20, "sample": 200})
    ref = identical_runs(hyp, inter, tmp_path)
    doc = json.loads((ref / "summary.json").read_text())
    a = doc["ann"]["watch_ratio>=0.5"]["hnsw"]
    assert a["k"] == 20 and a["n_users"] == 200 and a["seeds"] == [0, 1] and a["exact_twin"] == "exact"
    assert 0.5 < a["recall"]["mean"] < 1.0  # a weak index: approximate, not broken
    assert "exact" not in doc["ann"]["watch_ratio>=0.5"]
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    text = (ref / "report.md").read_text()
    assert "## Approximate search (ANN)" in text
    row = next(line for line in text.splitlines() if line.startswith("| `watch_ratio>=0.5` | `hnsw`"))
    assert f"{a['recall']['mean']:.3f}" in row and "method=hnsw, M=4, ef_construction=20, ef=20" in row
    # the hypothesis' own delta (ANN - exact on every user) and the sample's exact - ANN have opposite signs
    cell = next(c for c in doc["cells"] if c["metric"] == "ndcg@10")
    if abs(cell["delta"]["estimate"]) > 1e-3:
        assert cell["delta"]["estimate"] * a["delta"]["ndcg@10"]["estimate"] < 0


def test_ann_arm_in_the_item_direction_is_deterministic_and_reports_items(inter, tmp_path):
    hyp = replace(hypothesis({"M": 4, "ef_construction": 20, "ef": 20, "sample": 150}), id="HAI",
                  direction="item_to_users")
    ref = identical_runs(hyp, inter, tmp_path)
    doc = json.loads((ref / "summary.json").read_text())
    assert doc["hypothesis"]["unit"] == "items"
    a = doc["ann"]["watch_ratio>=0.5"]["hnsw"]
    assert a["unit"] == "items" and a["k"] == 20 and a["n_users"] == 150 and a["exact_twin"] == "exact"
    assert 0.5 < a["recall"]["mean"] < 1.0  # a weak index over the users: approximate, not broken
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    text = (ref / "report.md").read_text()
    assert "## Approximate search (ANN)" in text and "On a sample of evaluated items" in text
    assert "seed x item interval" in text and "| items | seeds |" in text
    table = pd.read_parquet(ref / "per_user.parquet")
    exact, ann = (table[table.arm == arm].sort_values(["seed", "user_index"]) for arm in ("exact", "hnsw"))
    assert not np.array_equal(exact["ndcg@10"].to_numpy(), ann["ndcg@10"].to_numpy())  # ANN lists were evaluated


HYP_FILE = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="H9", claim="c", dataset="synthetic-vk", positives=("watch_ratio>=0.5",),
    baseline=Arm("exact", {kind!r}), treatment=Arm("ann", {kind!r}, ann={ann!r}),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0,),
    decision=Decision.not_worse(0.002))
"""


@pytest.mark.parametrize("kind, ann, pattern", [
    ("als", {"ef": 5}, r"Arm 'ann': ann\['ef'\]=5 is below k=10 of the metrics; .* use ef >= 10"),
    ("als", {"method": "annoy"}, r"Unknown ANN method 'annoy'"),
    ("als", {"M": 0}, r"ann\['M'\]=0 must be an integer >= 2"),
    ("popularity", {"ef": 50}, r"Arm 'ann' \(popularity\): ann= needs a factor model"),
])
def test_bad_ann_parameters_exit_2_with_one_line(kind, ann, pattern, tmp_path):
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "h9.py").write_text(HYP_FILE.format(kind=kind, ann=ann))
    out = subprocess.run([sys.executable, "-m", "harness", "run", "H9", "--hypotheses", str(hyps),
                          "--results-dir", str(tmp_path / "results")], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert re.search(pattern, out.stderr), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "results").exists()
