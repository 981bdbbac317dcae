"""Reports agree with summary.json, the schema validates, figures and links resolve; the CI gate."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.runner import experiment
from harness.outputs import report
from harness.data import synthetic, vk_lsvd
from harness.spec import Arm, Decision, Hypothesis, Segment

SCHEMA = Path(__file__).resolve().parents[1] / "harness" / "schema" / "summary.schema.json"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    root = synthetic.generate(tmp / "data", n_users=400, n_items=150, seed=3)
    inter = vk_lsvd.load(root, "synthetic", name="synthetic-tiny")
    f = dict(loss="warp", no_components=8, epochs=3)
    hyp = Hypothesis(id="HR", claim="tiny", dataset="synthetic-tiny", positives=("watch_ratio>=0.5", "like|share|bookmark"),
                     baseline=Arm("cf", "lightfm", **f), treatment=Arm("cf+emb", "lightfm", item_features="embedding[:8]", **f),
                     segments=(Segment.activity_quantile(0.7), Segment.all()), metrics=("ndcg@10", "recall@5"),
                     primary="ndcg@10", seeds=(0, 1, 2), decision=Decision.not_better(0.01), n_boot=300)
    return experiment.run(hyp, inter=inter, results_dir=tmp / "results", cache_dir=None, quiet=True)


def _md_tables(text: str) -> dict[str, list[dict]]:
    """Parse each '## Positives: `v`' table of report.md into rows keyed by header."""
    out = {}
    for m in re.finditer(r"## Positives: `([^`]+)`\n\n((?:\|.*\|\n)+)", text):
        lines = m.group(2).strip().splitlines()
        header = [h.strip() for h in lines[0].strip("|").split("|")]
        out[m.group(1)] = [dict(zip(header, [c.strip() for c in ln.strip("|").split("|")])) for ln in lines[2:]]
    return out


def test_report_tables_match_summary(tiny_run):
    text = (tiny_run.run_dir / "report.md").read_text()
    doc = json.loads((tiny_run.run_dir / "summary.json").read_text())
    tables = _md_tables(text)
    assert set(tables) == {"watch_ratio>=0.5", "like|share|bookmark"}
    for var, rows in tables.items():
        cells = [c for c in doc["cells"] if c["variant"] == var]
        assert len(rows) == len(cells) == 4
        for row, c in zip(rows, cells):
            assert (row["segment"], row["metric"], int(row["users"])) == (c["segment"], c["metric"], c["n_users"])
            if c["empty"]:
                continue
            assert float(row["cf"]) == pytest.approx(c["mean_baseline"], abs=5e-5)
            assert float(row["cf+emb"]) == pytest.approx(c["mean_treatment"], abs=5e-5)
            assert float(row["delta"]) == pytest.approx(c["delta"]["estimate"], abs=5e-5)
            lo, hi = (float(x) for x in row["95 % CI (seed x user)"].strip("[]").split(","))
            assert (lo, hi) == (pytest.approx(c["delta"]["low"], abs=5e-5), pytest.approx(c["delta"]["high"], abs=5e-5))
            w_raw = row["Wilcoxon p raw / adj"].split(" / ")[0]
            assert float(w_raw) == pytest.approx(c["tests"]["wilcoxon"]["p"], rel=5e-3, abs=5e-4)
            assert row["seeds agree"] == f"{c['seeds_agree'][0]}/{c['seeds_agree'][1]}"
    assert f"**Verdict: {doc['verdict']['status']}**" in text
    assert report.terminal(doc).splitlines()[0] == f"HR: {doc['verdict']['status']} - {doc['verdict']['reason']}"


def test_summary_validates_against_schema(tiny_run):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = json.loads((tiny_run.run_dir / "summary.json").read_text())
    jsonschema.validate(doc, schema)
    broken = dict(doc, schema_version=2)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_figures_are_pngs_and_links_resolve(tiny_run):
    text = (tiny_run.run_dir / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) >= 3
    for link in links:
        p = tiny_run.run_dir / link
        assert p.is_file(), link
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert p.stat().st_size > 2000


# ---------------------------------------------------------------- gate
GATE_HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HG", claim="gate", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("pop", "popularity"),
    treatment=Arm("model", "lightfm", loss="warp", no_components={comp}, epochs={epochs}, learning_rate=0.05),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1, 2),
    decision=Decision.better(0.0), n_boot=300)
"""


def _gate_env(tmp: Path, ml: Path, comp: int, epochs: int, tag: str) -> Path:
    d = tmp / f"hyps_{tag}"
    d.mkdir()
    (d / "hg.py").write_text(GATE_HYP.format(comp=comp, epochs=epochs))
    return d


def _harness(*args, cwd):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def gate_baseline(ml100k_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gate")
    hyps = _gate_env(tmp, ml100k_dir, comp=32, epochs=10, tag="base")
    out = _harness("run", "HG", "--data-dir", str(ml100k_dir), "--hypotheses", str(hyps), "--results-dir",
                   str(tmp / "base"), "--cache-dir", str(tmp / "cache"), "--quiet", cwd=tmp)
    assert out.returncode == 0, out.stderr
    (summary,) = (tmp / "base" / "HG").glob("*/summary.json")
    return tmp, summary


def test_gate_passes_on_equivalent_arm(gate_baseline, ml100k_dir):
    tmp, summary = gate_baseline
    hyps = _gate_env(tmp, ml100k_dir, comp=32, epochs=10, tag="same")
    out = _harness("gate", "HG", "--baseline", str(summary), "--margin", "0.002", "--metric", "ndcg@10",
                   "--data-dir", str(ml100k_dir), "--hypotheses", str(hyps), "--results-dir", str(tmp / "same"),
                   "--cache-dir", str(tmp / "cache"), "--quiet", cwd=tmp)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("PASS: model ndcg@10")


def test_gate_fails_on_degraded_arm(gate_baseline, ml100k_dir):
    tmp, summary = gate_baseline
    hyps = _gate_env(tmp, ml100k_dir, comp=4, epochs=1, tag="worse")
    out = _harness("gate", "HG", "--baseline", str(summary), "--margin", "0.002", "--data-dir", str(ml100k_dir),
                   "--hypotheses", str(hyps), "--results-dir", str(tmp / "worse"), "--cache-dir", str(tmp / "cache"),
                   "--quiet", cwd=tmp)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith("FAIL: model ndcg@10") and "lower bound not above -0.002" in out.stdout
    # reading an existing run instead of re-running gives the same answer
    (run,) = (tmp / "worse" / "HG").glob("*/summary.json")  # the folder also holds the index README.md
    run = run.parent
    again = _harness("gate", "HG", "--baseline", str(summary), "--run", str(run), "--margin", "0.002",
                     "--hypotheses", str(hyps), cwd=tmp)
    assert again.returncode == 1 and again.stdout == out.stdout


@pytest.mark.parametrize("args, message", [
    (["--margin", "-0.1"], "--margin -0.1 is negative"),
    (["--margin", "0.002", "--metric", "ndcg@0"], "k=0"),
    (["--margin", "0.002", "--arm", "nope"], "has no arm 'nope'"),
])
def test_gate_bad_input_exits_2(gate_baseline, args, message):
    tmp, summary = gate_baseline
    hyps = tmp / "hyps_base"
    out = _harness("gate", "HG", "--baseline", str(summary), "--run", str(summary.parent), "--hypotheses",
                   str(hyps), *args, cwd=tmp)
    assert out.returncode == 2 and message in out.stderr, out.stderr


def test_gate_missing_baseline_exits_2(tmp_path):
    out = _harness("gate", "H1", "--baseline", str(tmp_path / "nope.json"), "--margin", "0.002", cwd=tmp_path)
    assert out.returncode == 2 and "not found" in out.stderr


def test_holm_families_accuracy_and_descriptive_separately():
    """Adjusted p-values equal statsmodels' Holm within each family."""
    import numpy as np
    from statsmodels.stats.multitest import multipletests

    from harness.decision import analysis

    rng = np.random.default_rng(1)
    hyp = Hypothesis(id="HA", claim="c", dataset="x", positives=("rating>=4",), baseline=Arm("a", "popularity"),
                     treatment=Arm("b", "random"), segments=(Segment.all(), Segment.activity_quantile(0.5)),
                     metrics=("ndcg@10", "recall@10", "novelty@10"), primary="ndcg@10", seeds=(0, 1, 2),
                     decision=Decision.better(0.0), n_boot=200)
    import pandas as pd

    rows = []
    for arm, shift in (("a", 0.0), ("b", 0.01)):
        for seed in range(3):
            n = 300
            rows.append(pd.DataFrame({"variant": "rating>=4", "arm": arm, "seed": seed, "user_index": np.arange(n),
                                      "seg_all": True, "seg_dense": np.arange(n) % 2 == 0,
                                      "ndcg@10": rng.random(n) + shift, "recall@10": rng.random(n) + shift,
                                      "novelty@10": rng.random(n) * 5}))
    cells = analysis.compare(hyp, pd.concat(rows, ignore_index=True), ("rating>=4",))
    for name in ("primary", "paired_t"):
        raw = np.array([c.primary_p if name == "primary" else c.tests[name].pvalue for c in cells])
        adj = np.array([c.adjusted[name] for c in cells])
        desc = np.array([c.metric == "novelty@10" for c in cells])
        for fam in (desc, ~desc):
            np.testing.assert_allclose(adj[fam], multipletests(raw[fam], method="holm")[1], rtol=1e-12)


def test_relative_ci_with_an_infinite_bound_renders():
    """summary.json stores an infinite bound as null beside a finite one (relative_bootstrap's +inf)."""
    from harness.outputs.report import _rel_ci

    assert _rel_ci({"low": 200.0, "high": None}) == "[+200.00, +inf] %"
    assert _rel_ci({"low": None, "high": None}) == "n/a" and _rel_ci(None) == "n/a"
    assert _rel_ci({"low": -1.5, "high": 2.25}) == "[-1.50, +2.25] %"
