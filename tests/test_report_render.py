"""A report that renders and leads with what matters: every markdown table keeps its columns under a real
CommonMark parser (committed reference summaries rendered with this code, and a fresh run), what undercuts
the verdict stands right under it (report.md, ``show``, ``run``), each decision names its interval, and
repeated notes collapse into one line with counts."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _markdown import table_problems
from _tiny import tiny_vk

from harness.outputs import report
from harness.outputs.repeats import collapse
from harness.runner import experiment, notes as run_notes
from harness.spec import Arm, Decision, Hypothesis, Segment, Split

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "harness" / "schema" / "summary.schema.json"
REFERENCE = sorted(ROOT.glob("results/reference/*/*/summary.json"))


def test_the_checker_finds_the_tables_that_broke():
    """Unescaped pipes: a variant name shifts a row; a header with |delta| is no table at all."""
    shifted = "| variant | p |\n|---|---|\n| like|share|bookmark | 0.1 |\n"
    assert table_problems(shifted) == ["line 3: 4 cells under a 2-column header: | like|share|bookmark | 0.1 |"]
    header = "| metric | max A/A |delta| |\n|---|---|\n| ndcg@10 | 0.01 |\n"
    assert len(table_problems(header)) == 3 and all("not rendered as a table row" in p for p in table_problems(header))
    fixed = "| metric | max A/A \\|delta\\| |\n|---|---|\n| `like\\|share` | 0.01 |\n"
    assert table_problems(fixed) == []


@pytest.mark.parametrize("path", REFERENCE, ids=[p.parent.parent.name for p in REFERENCE])
def test_committed_reference_summaries_render_whole_tables(path):
    doc = json.loads(path.read_text())
    figs = {"forest": "figures/forest.png", "seeds": "figures/seeds.png"}
    text = report.render(doc, figs)
    assert table_problems(text) == []
    assert "- **warning:**" not in text or doc.get("warnings")  # no warnings block for a summary without any
    # the interval each decision rests on, named under it (over test windows for rolling-origin folds)
    assert "  - interval: seed x " in text or "  - interval: random-effects combination of " in text


# ---------------------------------------------------------------- a fresh small run
@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """Two seeds on a per-user random split, positives with pipes: warnings for both."""
    tmp = tmp_path_factory.mktemp("render")
    inter = tiny_vk(tmp, "synthetic-render", n_users=300, n_items=120, seed=5)
    hyp = Hypothesis(id="HM", claim="item-kNN beats popularity", dataset="synthetic-render",
                     positives=("watch_ratio>=0.5", "like|share|bookmark"), baseline=Arm("pop", "popularity"),
                     treatment=Arm("knn", "itemknn"), segments=(Segment.activity_quantile(0.7), Segment.all()),
                     metrics=("ndcg@10", "recall@10"), primary="ndcg@10", seeds=(0, 1),
                     decision=Decision.better(0.0), split=Split.random(3), n_boot=200)
    return experiment.run(hyp, inter=inter, results_dir=tmp / "results", cache_dir=None, quiet=True)


def test_fresh_report_tables_render(small_run):
    text = (small_run.run_dir / "report.md").read_text()
    assert "like\\|share\\|bookmark" in text  # the effect-size and seed-noise rows name the variant
    assert "max A/A \\|delta\\|" in text
    assert table_problems(text) == []


def test_warnings_stand_under_the_verdict(small_run):
    jsonschema = pytest.importorskip("jsonschema")
    doc = small_run.summary
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    warnings = doc["warnings"]
    assert any(w.startswith("leakage-prone split: per-user random holdout") for w in warnings)
    assert warnings[-1].startswith("too few seeds for the interval: 2 seeds: the seed x user interval estimates "
                                   "seed variance from 1 degree of freedom")
    lines = (small_run.run_dir / "report.md").read_text().splitlines()
    at = lines.index(f"**Verdict: {doc['verdict']['status']}** - {doc['verdict']['reason']}.")
    assert lines[at + 1] == "" and lines[at + 2:at + 2 + len(warnings)] == [f"- **warning:** {w}" for w in warnings]
    assert lines[at + 2 + len(warnings)] == ""
    for vv in doc["verdict"]["variants"]:
        bullet = lines.index(f"- positives `{vv['variant']}`, segment `{vv['segment']}`: **{vv['status']}** - "
                             f"{vv['reason']}")
        assert lines[bullet + 1].startswith("  - interval: seed x user variance-components interval (2 seeds x ")
    term = report.terminal(doc).splitlines()
    assert term[0].startswith("HM: ") and term[1:1 + len(warnings)] == [f"warning: {w}" for w in warnings]
    assert not any("leakage-prone" in n or "too few seeds" in n for n in doc["notes"])  # not said twice


def test_show_prints_warnings_and_reads_summaries_without_them(small_run, tmp_path):
    def show(folder: Path):
        return subprocess.run([sys.executable, "-m", "harness", "show", str(folder)], capture_output=True, text=True,
                              cwd=tmp_path)

    out = show(small_run.run_dir)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1:1 + len(small_run.summary["warnings"])] == [f"warning: {w}" for w in small_run.summary["warnings"]]
    old = tmp_path / "HM" / "old-run"
    shutil.copytree(small_run.run_dir, old)
    doc = json.loads((old / "summary.json").read_text())
    del doc["warnings"]  # a summary.json written before warnings existed
    (old / "summary.json").write_text(json.dumps(doc))
    out = show(old)
    assert out.returncode == 0 and "warning:" not in out.stdout, out.stderr
    assert out.stdout.splitlines()[1].startswith("claim: ")
    text = report.render(doc, {})
    assert "**warning:**" not in text and table_problems(text) == []


def test_run_prints_warnings_after_the_verdict_line(tmp_path):
    """On the CLI: the verdict on stdout, then one ``warning:`` line each on stderr."""
    data = tmp_path / "ratings.csv"
    rows = ["user,item,rating,time"] + [f"{u},{(u * 7 + j * 3) % 40},{1 + (u + j) % 5},{j}"
                                        for u in range(60) for j in range(12)]
    data.write_text("\n".join(rows) + "\n")
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "hx.py").write_text(HX)
    out = subprocess.run([sys.executable, "-m", "harness", "run", "HX", "--dataset", f"tabular:{data.name}",
                          "--hypotheses", str(hyps), "--results-dir", str(tmp_path / "res"), "--no-cache",
                          "--quiet", "--seeds", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1].startswith("HX: ")
    assert out.stderr.splitlines() == [
        "warning: too few seeds for the interval: 1 seed: seed variance was not measured, so the interval is "
        "user-only and a retrained model may move the delta by more than it shows; use at least 3 seeds (--seeds 3)"]


HX = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HX", claim="pop vs itemknn", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn"), segments=(Segment.all(),),
    metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1, 2), decision=Decision.better(0.0), n_boot=200)
"""


# ---------------------------------------------------------------- warnings and notes, by hand
def test_run_warnings_in_order_without_prefix():
    hyp = Hypothesis(id="HW", claim="c", dataset="d", positives=("p",), baseline=Arm("a", "popularity"),
                     treatment=Arm("b", "lightfm"), segments=(Segment.all(),), metrics=("ndcg@10",),
                     primary="ndcg@10", seeds=(0, 1, 2), decision=Decision.better(0.0))
    rising = [0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50]
    curves = {"v": {"b": {"metric": "ndcg@10", "seeds": {"0": rising}, "mean": rising}}}
    out = run_notes.run_warnings(("positives ['x'] need columns this dataset lacks; using the dataset's default "
                                  "['y']",), curves, hyp, 2)
    assert out[0].startswith("positives ['x'] need columns")
    assert out[1].startswith("arm 'b' (v) had not converged: its mean validation ndcg@10 still rose by +0.1000")
    assert out[2].startswith("too few seeds for the interval: 2 seeds")
    assert run_notes.run_warnings((), {}, hyp, 3) == []
    assert run_notes.seed_warning(3) is None and run_notes.seed_warning(5, "items") is None
    assert "seed x item interval" in run_notes.seed_warning(2, "items")
    assert "the interval is item-only" in run_notes.seed_warning(1, "items")


def test_twenty_tuned_notes_become_one_line_with_counts():
    tuned = [f"{v} / {arm} / seed {s}: tuned on the validation window (last 20 % of each user's training "
             f"interactions, ndcg@10): {{'epochs': {e}}}"
             for v in ("watch_ratio>=0.5", "like|share|bookmark") for arm, base in (("cf", 4), ("cf+content", 11))
             for s, e in zip(range(5), (base, base + 6, base + 1, base + 3, base + 16))]
    other = ["item content: VK-LSVD item embeddings (64 dims)", "segment 'warm' has no evaluable users"]
    out = collapse(other[:1] + tuned + other[1:] + other[1:])
    assert out == [other[0],
                   "20 tasks (arms cf, cf+content; 2 positive definitions; seeds 0-4): tuned on the validation window "
                   "(last 20 % of each user's training interactions, ndcg@10): {'epochs': 4..27}",
                   "segment 'warm' has no evaluable users (2 times)"]
    one = tuned[:1]
    assert collapse(one) == one  # a single note stays as written
    same = [n.replace("{'epochs': 5}", "{'epochs': 4}") for n in tuned[:5]]
    assert collapse(tuned[:5]) == ["5 tasks (arm cf; positives watch_ratio>=0.5; seeds 0-4): tuned on the validation "
                                   "window (last 20 % of each user's training interactions, ndcg@10): "
                                   "{'epochs': 4..20}"]
    assert collapse([same[0], same[2].replace("seed 2", "seed 7")])[0].startswith("2 tasks (arm cf; positives "
                                                                                  "watch_ratio>=0.5; seeds 0, 7)")
