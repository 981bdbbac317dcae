"""The committed reference runs (results/reference/): schema-valid, reports agree with summaries, small files,
figures linked relatively, and the committed index equal to one rebuilt from the folders."""
from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

from _shipped import stale_reference_index
from harness.outputs import index, reference_runs, report

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "results" / "reference"
SCHEMA = ROOT / "harness" / "schema" / "summary.schema.json"
RUNS = sorted(p.parent for p in REF.glob("*/*/summary.json"))


def test_reference_runs_exist_for_h1_to_h5():
    assert {p.parent.name for p in RUNS} >= {"H1", "H2", "H3", "H4", "H5"}
    assert len({p.parent.name for p in RUNS}) == len(RUNS), "one reference run per hypothesis"


@pytest.mark.parametrize("run", RUNS, ids=[p.parent.name for p in RUNS])
def test_reference_summary_validates_and_report_agrees(run):
    jsonschema = pytest.importorskip("jsonschema")
    doc = json.loads((run / "summary.json").read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["run_id"] == run.name and doc["hypothesis"]["id"] == run.parent.name
    assert doc["dataset"].split(":")[0] in reference_runs.SYNTHETIC_DATASETS  # never MovieLens-derived data
    text = (run / "report.md").read_text()
    v = doc["verdict"]
    assert text.splitlines()[0] == f"# {doc['hypothesis']['id']}: {v['status']}"
    assert f"**Verdict: {v['status']}** - {v['reason']}." in text
    for vv in v["variants"]:
        metric = f", metric `{vv['metric']}`" if vv.get("metric") else ""  # Decision.all_of: one line per metric
        assert (f"- positives `{vv['variant']}`, segment `{vv['segment']}`{metric}: **{vv['status']}** - "
                f"{vv['reason']}") in text


#: figure name (as ``report.render`` takes it) -> its file in ``<run>/figures/``
FIGURES = {"forest": "forest.png", "seeds": "seeds.png", "distribution": "distribution.png",
           "curves": "learning_curves.png", "folds": "folds.png"}


@pytest.mark.parametrize("run", RUNS, ids=[p.parent.name for p in RUNS])
def test_reference_report_is_what_this_code_renders(run):
    """report.md equals its summary.json rendered by the current code; after a change to the report, the
    diff below says what to regenerate (python -m harness run --all --reference)."""
    doc = json.loads((run / "summary.json").read_text())
    figs = {name: f"figures/{f}" for name, f in FIGURES.items() if (run / "figures" / f).is_file()}
    have, want = (run / "report.md").read_text(), report.render(doc, figs)
    diff = list(difflib.unified_diff(have.splitlines(), want.splitlines(), "report.md (committed)",
                                     "report.md (rendered now)", lineterm="", n=0))
    assert not diff, (f"{run.relative_to(ROOT)}/report.md is not what this code renders from its summary.json; "
                      "regenerate with python -m harness run --all --reference. Differences:\n" + "\n".join(diff[:30]))


@pytest.mark.parametrize("run", RUNS, ids=[p.parent.name for p in RUNS])
def test_reference_files_are_small_and_figures_relative(run):
    pq = run / "per_user.parquet"
    assert not pq.exists() or pq.stat().st_size <= reference_runs.PER_USER_LIMIT
    for f in run.rglob("*"):
        assert f.stat().st_size <= reference_runs.PER_USER_LIMIT, f
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (run / "report.md").read_text())
    assert len(links) >= 3
    for link in links:
        assert not link.startswith(("/", "http")) and ".." not in link, link
        assert (run / link).is_file() and (run / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", link


def test_committed_reference_index_is_current():
    """The committed index equals one rebuilt from the run folders and the shipped hypotheses (never
    from whatever else sits in hypotheses/: tests/_shipped.py)."""
    diff = stale_reference_index(REF)
    assert not diff, ("results/reference/README.md (or a results/reference/<H>/README.md) is stale; rebuild it with "
                      "python -m harness run --all --reference. Differences:\n" + "\n".join(diff[:40]))
    text = (REF / "README.md").read_text()
    for h, runs in index.scan(REF).runs.items():
        doc = json.loads((REF / runs[0].path / "summary.json").read_text())
        row = next(r for r in text.splitlines() if r.startswith(f"| {h} |"))
        assert row.split(" | ")[1] == doc["verdict"]["status"]
