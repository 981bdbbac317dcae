"""Everything user-facing about an item -> users run says items: the report, the results index, show,
list and calibrate (whose statistics run over items)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from _tiny import tiny_vk

from harness.runner import calibrate, experiment
from harness.outputs import index, report
from harness.spec import Arm, Decision, Hypothesis, Segment, Split

ENGAGED = "like|dislike|share|bookmark|click_on_author|open_comments"


def hyp(**kw) -> Hypothesis:
    base = dict(id="HW", claim="c", dataset="synthetic-wording", positives=(ENGAGED,),
                baseline=Arm("gmm", "gmm_profile", n_components=4),
                treatment=Arm("mean", "profile", grid={"engaged": [0.0, 1.0]}),
                segments=(Segment.cold_items(), Segment.all()), metrics=("ndcg@100", "recall@100"),
                primary="ndcg@100", seeds=(0, 1), decision=Decision.better(0.0), n_boot=200,
                split=Split.cold_items(25, sample=0.3, seed=1), direction="item_to_users")
    base.update(kw)
    return Hypothesis(**base)


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("wording"), "synthetic-wording", n_users=300, n_items=200, seed=5,
                   mean_interactions=25)


@pytest.fixture(scope="module")
def run(inter, tmp_path_factory):
    segs = (Segment.cold_items(), Segment.item_popularity(10**6, None, name="huge"), Segment.all())
    return experiment.run(hyp(segments=segs), inter=inter, results_dir=tmp_path_factory.mktemp("results"),
                          cache_dir=None, quiet=True)


def test_report_says_items(run):
    text = (run.run_dir / "report.md").read_text()
    assert "seed x item interval" in text and "Units of analysis: **items**" in text
    assert "seed x user" not in text and "per-user" not in text and "users only" not in text
    assert "by the validation primary metric per item (each item with a validation positive ranks" in text
    assert "ndcg@100 per item; grid search" in text  # the tuning note
    assert "pivot `seed x item_index`" in text
    assert "segment 'huge' has no evaluable items for positives" in text
    show = report.terminal(run.summary)
    assert "units: items (direction item_to_users; deltas per item, seed x item interval)" in show.splitlines()


def test_index_says_items_and_user_runs_are_unchanged(run):
    root = run.run_dir.parents[1]
    idx = index.scan(root)
    row = idx.runs["HW"][0]
    assert row.unit == "items"
    text = index.render_root(idx)
    assert "for hypotheses marked *per item* the units are items and the interval is seed x item" in text
    cell = index.primary_text(row)
    d = run.summary["cells"][0]["delta"]
    assert cell.startswith("ndcg@100 per item: ") and f"{d['estimate']:+.4f}" in text
    assert "Units of analysis: items" in index.render_hypothesis("HW", idx.runs["HW"])
    users = index.RunRow(**{**row.__dict__, "unit": "users",
                            "deltas": (index.Delta("v", "all", None, None, None),)})
    assert index.primary_text(users) == "ndcg@100: `v` / all: n/a (no evaluable users)"
    items = index.Index({"HW": (users,)}, ())
    assert "per item" not in index.render_root(items) and "Units of analysis" not in \
        index.render_hypothesis("HW", (users,))
    no_items = index.RunRow(**{**row.__dict__, "deltas": (index.Delta("v", "cold", None, None, None),)})
    assert index.delta_text(no_items) == "`v` / cold: n/a (no evaluable items)"


def test_list_says_per_item(tmp_path):
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "hw.py").write_text(
        "from harness.spec import Arm, Decision, Hypothesis, Segment\n"
        "HYPOTHESIS = Hypothesis(id='HW', claim='c', dataset='synthetic-vk', positives=('like',),\n"
        "    baseline=Arm('mean', 'profile'), treatment=Arm('gmm', 'gmm_profile', n_components=4),\n"
        "    segments=(Segment.all(),), metrics=('ndcg@100',), primary='ndcg@100', seeds=(0,),\n"
        "    decision=Decision.better(0.0), direction='item_to_users')\n")
    out = subprocess.run([sys.executable, "-m", "harness", "list", "--hypotheses", str(hyps)], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "[mean vs gmm; ndcg@100 per item (items -> users); all: better(0)" in out.stdout


def test_calibrate_runs_over_items(inter):
    p = experiment.prepare_hypothesis(hyp(segments=(Segment.all(),)), inter)
    cal = calibrate.calibrate(p, 4, n_resamples=200)
    assert cal.unit == "items"
    deciding = cal.rows[0]
    assert deciding.deciding and deciding.n_comparisons == 1  # 4 seeds, 2 per arm
    assert [r.n_comparisons for r in cal.rows[1:]] == [2] * 5  # disjoint seed pairs (0, 1), (2, 3)
    text = calibrate.render(cal)
    assert "(ndcg@100 per item; the baseline trained with 4 seeds" in text
    assert "seed x item interval (deciding)" in text and "bootstrap CI (items only)" in text
    assert "user" not in text


def test_diff_says_items(run):
    from harness.outputs import diff

    doc, pu = diff.load(run.run_dir)
    text = diff.render(diff.compare(doc, pu, doc, pu, top=2))
    assert "items who moved most (ndcg@100" in text and "per-item delta" in text
    assert text.splitlines()[-3].split()[0] == "item_id" and "user" not in text
