"""``index`` (results/README.md), ``diff`` (run to run) and reference-run housekeeping, on small synthetic runs."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness import cli
from harness.runner import discover, experiment
from harness.outputs import index, reference_runs
from harness.data import synthetic, vk_lsvd
from harness.spec import Arm, Decision, Hypothesis, Segment

HYP_FILE = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HT", claim="ALS beats popularity", dataset="synthetic-tiny",
    positives=("watch_ratio>=0.5", "like|share|bookmark"),
    baseline=Arm("pop", "popularity"), treatment=Arm("als", "als", factors=8, iterations=3),
    segments=(Segment.activity_quantile(0.7), Segment.all()), metrics=("ndcg@10", "recall@5"),
    primary="ndcg@10", seeds=(0, 1), decision=Decision.better(0.0), n_boot=200)
"""


def _hyp(seeds):
    return Hypothesis(id="HT", claim="ALS beats popularity", dataset="synthetic-tiny",
                      positives=("watch_ratio>=0.5", "like|share|bookmark"), baseline=Arm("pop", "popularity"),
                      treatment=Arm("als", "als", factors=8, iterations=3),
                      segments=(Segment.activity_quantile(0.7), Segment.all()), metrics=("ndcg@10", "recall@5"),
                      primary="ndcg@10", seeds=tuple(seeds), decision=Decision.better(0.0), n_boot=200)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two runs of one hypothesis with different seeds (older A: seeds 0-1, newer B: seeds 0-2)."""
    tmp = tmp_path_factory.mktemp("idx")
    root = synthetic.generate(tmp / "data", n_users=400, n_items=150, seed=3)
    inter = vk_lsvd.load(root, "synthetic", name="synthetic-tiny")
    kw = dict(inter=inter, results_dir=tmp / "runs", cache_dir=tmp / "cache", quiet=True)
    a = experiment.run(_hyp((0, 1)), **kw)
    b = experiment.run(_hyp((0, 1, 2)), **kw)
    (tmp / "hyps").mkdir()
    (tmp / "hyps" / "ht.py").write_text(HYP_FILE)
    return a, b, tmp


@pytest.fixture()
def results(two_runs, tmp_path):
    """A fresh copy of the results folder holding both runs (tests may delete or edit it)."""
    a, b, _ = two_runs
    res = tmp_path / "results"
    shutil.copytree(a.run_dir.parent.parent, res)
    return res, a.run_id, b.run_id


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _table(text: str) -> list[list[str]]:
    """Rows of the first markdown table, split on unescaped pipes."""
    rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows if not r.startswith("|---")]


def _set_status(run_dir: Path, status: str) -> None:
    sj = run_dir / "summary.json"
    doc = json.loads(sj.read_text())
    doc["verdict"]["status"] = status
    for v in doc["verdict"]["variants"]:
        v["status"] = status
    sj.write_text(json.dumps(doc))


def test_index_lists_both_runs_newest_first(results, capsys):
    res, rid_a, rid_b = results
    code, out, err = _cli(capsys, "index", "--results-dir", str(res))
    assert code == 0, err
    assert out.splitlines() == [f"wrote {res / 'README.md'}: 1 hypotheses, 2 runs"]
    top = _table((res / "README.md").read_text())
    assert top[0][:3] == ["hypothesis", "verdict", "dataset"]
    assert len(top) == 2 and all(len(r) == len(top[0]) for r in top)
    row = dict(zip(top[0], top[1]))
    doc_b = json.loads((res / "HT" / rid_b / "summary.json").read_text())
    assert row["hypothesis"] == "HT" and row["verdict"] == doc_b["verdict"]["status"]
    assert row["seeds"] == "3" and row["dataset"] == "`synthetic-tiny`"
    assert row["report"] == f"[report](HT/{rid_b}/report.md)"
    assert row["previous runs"] == "[1 earlier](HT/README.md)"
    # the primary delta of every decision cell, with its interval, pipes escaped for the table
    cell = next(c for c in doc_b["cells"] if (c["variant"], c["segment"], c["metric"]) == ("like|share|bookmark", "dense", "ndcg@10"))
    d = cell["delta"]
    assert f"`like\\|share\\|bookmark` / dense: {d['estimate']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]" in row["primary delta [95 % CI]"]
    runs = _table((res / "HT" / "README.md").read_text())
    assert [r[-1] for r in runs[1:]] == [f"[{rid_b}]({rid_b}/report.md)", f"[{rid_a}]({rid_a}/report.md)"]
    assert [r[2] for r in runs[1:]] == ["3", "2"]
    assert all("changed" not in r[0] for r in runs[1:])
    for link in re.findall(r"\]\(([^)]+)\)", (res / "README.md").read_text()):
        assert (res / link).is_file(), link


def test_index_marks_a_changed_verdict(results, capsys):
    res, rid_a, rid_b = results
    _set_status(res / "HT" / rid_a, "REJECTED")
    _set_status(res / "HT" / rid_b, "CONFIRMED")
    assert cli.main(["index", "--results-dir", str(res)]) == 0
    runs = _table((res / "HT" / "README.md").read_text())
    assert runs[1][0] == "**CONFIRMED** (changed, was REJECTED)"
    assert runs[2][0] == "REJECTED"
    assert _table((res / "README.md").read_text())[1][1] == "**CONFIRMED** (changed, was REJECTED)"


def test_index_is_rebuilt_from_folders_after_deletions(results, capsys):
    res, rid_a, rid_b = results
    assert _cli(capsys, "index", "--results-dir", str(res))[0] == 0
    shutil.rmtree(res / "HT" / rid_b)
    (res / "HT" / rid_a / "summary.json").rename(res / "HT" / rid_a / "summary.json.bak")  # partly deleted
    code, out, _ = _cli(capsys, "index", "--results-dir", str(res))
    assert code == 0
    assert out.splitlines() == [f"skipped {res / 'HT' / rid_a}: no summary.json (an incomplete or partly deleted run folder)",
                                f"no runs under {res}; run one with: python -m harness run H1 (wrote an empty {res / 'README.md'})"]
    assert "No runs yet" in (res / "README.md").read_text()
    assert not (res / "HT" / "README.md").exists()  # stale per-hypothesis page removed
    (res / "HT" / rid_a / "summary.json.bak").rename(res / "HT" / rid_a / "summary.json")
    assert cli.main(["index", "--results-dir", str(res)]) == 0
    assert rid_b not in (res / "README.md").read_text()
    assert [r[-1] for r in _table((res / "HT" / "README.md").read_text())[1:]] == [f"[{rid_a}]({rid_a}/report.md)"]
    assert not [p for p in res.rglob(".tmp-*")]


def test_index_on_missing_or_empty_results(tmp_path, capsys):
    code, out, err = _cli(capsys, "index", "--results-dir", str(tmp_path / "none"))
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"no results folder {tmp_path / 'none'}; run a hypothesis first "
                                "(python -m harness run H1) or pass --results-dir"]
    assert not (tmp_path / "none").exists()
    (tmp_path / "empty").mkdir()
    code, out, _ = _cli(capsys, "index", "--results-dir", str(tmp_path / "empty"))
    assert code == 0 and len(out.splitlines()) == 1 and out.startswith("no runs under")


def test_index_never_overwrites_a_hand_written_readme(results, capsys):
    res, _, _ = results
    (res / "README.md").write_text("# my notes\n")
    code, _, err = _cli(capsys, "index", "--results-dir", str(res))
    assert code == 2 and "was not written by the index" in err and "--results-dir" in err
    assert (res / "README.md").read_text() == "# my notes\n"


def _mover_reference(res: Path, rid_a: str, rid_b: str, variant: str, segment: str) -> pd.Series:
    """Hand-computed |change| of each user's seed-averaged ALS - popularity NDCG@10 delta, B vs A."""
    out = []
    for rid in (rid_a, rid_b):
        d = pd.read_parquet(res / "HT" / rid / "per_user.parquet")
        d = d[(d.variant == variant) & d[f"seg_{segment}"]]
        m = d.groupby(["user_id", "arm"])["ndcg@10"].mean().unstack()
        out.append(m["als"] - m["pop"])
    a, b = out
    both = a.index.intersection(b.index)
    return (b[both] - a[both]), a[both], b[both]


def test_diff_prints_cells_verdicts_and_movers(results, capsys):
    res, rid_a, rid_b = results
    code, out, err = _cli(capsys, "diff", rid_a, rid_b, "--results-dir", str(res), "--top", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"A: {rid_a}" and lines[1] == f"B: {rid_b}"
    doc_a, doc_b = (json.loads((res / "HT" / r / "summary.json").read_text()) for r in (rid_a, rid_b))
    assert lines[2].startswith(f"verdict: {doc_a['verdict']['status']} -> {doc_b['verdict']['status']}")
    header = next(i for i, ln in enumerate(lines) if ln.startswith("variant"))
    rows = lines[header + 1: header + 1 + len(doc_b["cells"])]
    for ln, ca, cb in zip(rows, doc_a["cells"], doc_b["cells"]):
        da, db = ca["delta"], cb["delta"]
        assert ln.startswith(ca["variant"]) and f" {ca['segment']} " in ln and f" {ca['metric']} " in ln
        assert f"{da['estimate']:+.4f} [{da['low']:+.4f}, {da['high']:+.4f}]" in ln
        assert f"{db['estimate']:+.4f} [{db['low']:+.4f}, {db['high']:+.4f}]" in ln
        assert f"{db['estimate'] - da['estimate']:+.4f}" in ln
        if ca["metric"] == "ndcg@10" and ca["segment"] == "dense":
            sa = next(v["status"] for v in doc_a["verdict"]["variants"] if v["variant"] == ca["variant"])
            sb = next(v["status"] for v in doc_b["verdict"]["variants"] if v["variant"] == ca["variant"])
            assert f"{sa} -> {sb}" in ln and (("CHANGED" in ln) == (sa != sb))
        else:
            assert "->" not in ln
    title = "users who moved most (ndcg@10, like|share|bookmark, segment dense;"
    i = next(i for i, ln in enumerate(lines) if ln.startswith(title))
    change, a, b = _mover_reference(res, rid_a, rid_b, "like|share|bookmark", "dense")
    top = change.abs().sort_values(ascending=False, kind="stable")
    first = lines[i + 2].split()
    uid = top.index[0]
    assert abs(change[uid]) == pytest.approx(abs(float(first[3])), abs=1e-4)
    assert float(first[1]) == pytest.approx(a[int(first[0])], abs=1e-4)
    assert float(first[2]) == pytest.approx(b[int(first[0])], abs=1e-4)
    assert abs(float(first[3])) == pytest.approx(top.iloc[0], abs=1e-4)
    assert len([ln for ln in lines[i + 2:i + 6] if ln.startswith("  ") and ln.strip()]) == 3


def test_diff_marks_changed_verdicts(results, capsys):
    res, rid_a, rid_b = results
    _set_status(res / "HT" / rid_a, "REJECTED")
    _set_status(res / "HT" / rid_b, "CONFIRMED")
    code, out, _ = _cli(capsys, "diff", str(res / "HT" / rid_a), str(res / "HT" / rid_b / "summary.json"))
    assert code == 0
    assert out.splitlines()[2] == "verdict: REJECTED -> CONFIRMED  CHANGED"
    assert sum(ln.endswith("REJECTED -> CONFIRMED  CHANGED") for ln in out.splitlines()[3:]) == 2  # both variants, dense


def test_diff_without_per_user_tables_still_compares(results, capsys):
    res, rid_a, rid_b = results
    (res / "HT" / rid_a / "per_user.parquet").unlink()
    code, out, _ = _cli(capsys, "diff", rid_a, rid_b, "--results-dir", str(res))
    assert code == 0
    assert "note: no per_user.parquet in run A: users who moved are not shown" in out.splitlines()
    assert "users who moved most" not in out


def test_diff_bad_input(results, capsys):
    res, rid_a, rid_b = results
    code, out, err = _cli(capsys, "diff", rid_a, "HT-nope-0123456789", "--results-dir", str(res))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "run 'HT-nope-0123456789' not found" in err and "--results-dir" in err
    code, _, err = _cli(capsys, "diff", rid_a, rid_b, "--results-dir", str(res), "--metric", "map@10")
    assert code == 2 and "--metric 'map@10' is in neither run (they have: ndcg@10, recall@5)" in err
    code, _, err = _cli(capsys, "diff", rid_a, rid_b, "--results-dir", str(tmp_empty := res / "empty"))
    assert code == 2 and str(tmp_empty) in err
    with pytest.raises(SystemExit) as e:
        cli.main(["diff", rid_a])
    assert e.value.code == 2
    assert "run_b" in capsys.readouterr().err


def test_gate_rebuilds_the_index(results, two_runs, capsys):
    res, rid_a, rid_b = results
    _, _, tmp = two_runs
    code, out, err = _cli(capsys, "gate", "HT", "--baseline", str(res / "HT" / rid_a), "--run", str(res / "HT" / rid_b),
                          "--margin", "0.05", "--hypotheses", str(tmp / "hyps"), "--results-dir", str(res))
    assert code in (0, 1), err
    assert (res / "README.md").read_text().startswith(index.MARKER)
    assert (res / "HT" / "README.md").is_file()


def test_run_argument_errors(capsys):
    code, _, err = _cli(capsys, "run")
    assert code == 2 and err == "error: run: name a hypothesis (e.g. python -m harness run H1) or pass --all\n"
    code, _, err = _cli(capsys, "run", "H1", "--all")
    assert code == 2 and "either a hypothesis id (H1) or --all" in err
    code, _, err = _cli(capsys, "run", "H1", "--reference", "--dataset", "ml-100k")
    assert code == 2 and "--reference runs use --dataset synthetic-vk or synthetic-kion only" in err \
        and "drop --dataset ml-100k" in err


def test_reference_finish_keeps_one_run_and_drops_big_tables(results):
    res, rid_a, rid_b = results
    ref = res / "reference"
    shutil.copytree(res / "HT", ref / "HT")
    notes = reference_runs.finish(ref / "HT" / rid_b, limit=100)
    size = (res / "HT" / rid_b / "per_user.parquet").stat().st_size
    assert notes == [f"removed older reference run {ref / 'HT' / rid_a}",
                     f"left out {ref / 'HT' / rid_b / 'per_user.parquet'} ({size / 1e6:.1f} MB > 0.0001 MB)"]
    assert [p.name for p in (ref / "HT").iterdir()] == [rid_b]
    assert (ref / "HT" / rid_b / "summary.json").is_file()
    plain = reference_runs.reindex(res, lambda: discover.registered_ids(None))  # an ordinary run or `index`
    assert len(plain) == 1 and not (ref / "README.md").exists()  # the committed reference index is left alone
    idx = reference_runs.reindex(res, lambda: discover.registered_ids(None), reference=True)  # run --reference
    text = (ref / "README.md").read_text()
    assert idx[1].n_runs == 1 and "python -m harness run --all --reference" in text
    assert "Per-user tables above 1 MB are not committed (left out: HT)" in text
    assert "[reference/README.md](reference/README.md)" in (res / "README.md").read_text()
    assert idx[0].n_runs == 2  # the reference folder is not a hypothesis of the main index


def test_index_shows_each_decided_metric_of_an_all_of_decision():
    """H10 decides on aplt@10 (better) and ndcg@10 (not worse): each index line shows its own metric's delta."""
    import json

    from harness.outputs.index import _row, delta_text

    ref = Path(__file__).resolve().parents[1] / "results" / "reference" / "H10"
    folders = sorted(p.parent for p in ref.glob("*/summary.json"))
    if not folders:
        pytest.skip("no committed H10 reference run")
    doc = json.loads((folders[-1] / "summary.json").read_text())
    row = _row(doc, folders[-1], ref.parent)
    cells = {(c["variant"], c["segment"], c["metric"]): c["delta"] for c in doc["cells"] if c.get("delta")}
    by_metric = {d.metric or doc["hypothesis"]["primary"]: d for d in row.deltas}
    assert set(by_metric) == {"aplt@10", "ndcg@10"}
    for m, d in by_metric.items():
        assert d.estimate == cells[(d.variant, d.segment, m)]["estimate"]
    text = delta_text(row)
    assert "/ dense / aplt@10: " in text and text.count("/ dense: ") == 1
