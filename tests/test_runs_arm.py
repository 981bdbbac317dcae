"""Precomputed runs as an arm: run files (parquet / CSV / TREC), their errors, how seen items, short
lists and missing users are scored, and ``--save-runs`` -> ``runs`` reproducing a trained arm exactly."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from harness.arms.scorer import TrainData
from harness.errors import HarnessError
from harness.design.prepare import EvalData
from harness.data.runfiles import read_run, write_run
from harness.runner.tasks import Task, run_task
from harness.spec import Arm

USERS = np.array([10, 20, 30])
ITEMS = np.array(["a", "b", "c", "d", "e", "f"])


def lists(run) -> dict:
    """user index -> listed item indices in rank order."""
    m = run.listed.tocsr()
    out = {}
    for u in range(m.shape[0]):
        row = m[u]
        if row.nnz:
            out[u] = [int(i) for i in row.indices[np.argsort(-row.data, kind="stable")]]
    return out


@pytest.mark.parametrize("fmt, name", [("parquet", "r.parquet"), ("csv", "r.csv"), ("trec", "r.trec")])
def test_write_then_read_round_trip(tmp_path, fmt, name):
    top = np.array([["c", "a", "f"], ["b", "e", "d"]])
    p = write_run(tmp_path / name, np.array([30, 10]), top, fmt)
    assert not list(tmp_path.glob("*.tmp"))
    run = read_run(p, USERS, ITEMS)
    assert lists(run) == {2: [2, 0, 5], 0: [1, 4, 3]}
    assert run.n_rows == 6 and run.unknown_users == 0
    if fmt == "trec":
        assert p.read_text().splitlines()[0] == "30 Q0 c 1 3.0 harness"  # qid Q0 docid rank score tag


def test_order_by_score_with_file_order_for_ties_and_unknown_users_counted(tmp_path):
    p = tmp_path / "r.csv"
    pd.DataFrame({"user": [10, 10, 10, 99, 20], "item": ["a", "b", "c", "a", "d"],
                  "score": [0.1, 0.5, 0.1, 1.0, 2.0]}).to_csv(p, index=False)
    run = read_run(p, USERS, ITEMS)
    assert lists(run) == {0: [1, 0, 2], 1: [3]}
    assert run.unknown_users == 1


@pytest.mark.parametrize("rows, pattern", [
    ({"user": [10, 10], "item": ["a", "zz"], "rank": [1, 2]},
     r"r.csv: item id 'zz' at line/row 3 is not in the dataset \(1 rows like this\); export the dataset's own item ids"),
    ({"user": [10, 10], "item": ["a", "b"], "rank": [1, 1]},
     r"r.csv: user '10' has rank 1 twice \(line/row 3\); give each of a user's items its own rank"),
    ({"user": [10, 10], "item": ["a", "a"], "rank": [1, 2]}, r"user '10' lists item 'a' twice \(line/row 3\)"),
    ({"user": [10], "item": ["a"], "rank": [0]}, r"rank '0' at line/row 2 is not a positive integer"),
    ({"uid": [10], "item": ["a"], "rank": [1]}, r"needs columns user, item and rank or score \(found: uid, item, rank\)"),
])
def test_bad_run_files(tmp_path, rows, pattern):
    p = tmp_path / "r.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    with pytest.raises(HarnessError, match=pattern):
        read_run(p, USERS, ITEMS)


def test_trec_scores_must_fall_with_rank_and_other_file_errors(tmp_path):
    p = tmp_path / "r.trec"
    p.write_text("10 Q0 a 1 0.5 t\n10 Q0 b 2 0.9 t\n")
    with pytest.raises(HarnessError, match=r"line 2: score rises with rank for user '10'; trec_eval and ranx"):
        read_run(p, USERS, ITEMS)
    p.write_text("10 Q0 a 1 0.5\n")
    with pytest.raises(HarnessError, match=r"line 1 has fewer than 6 fields"):
        read_run(p, USERS, ITEMS)
    with pytest.raises(HarnessError, match=r"run file not found: .*nope.parquet"):
        read_run(tmp_path / "nope.parquet", USERS, ITEMS)
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(HarnessError, match=r"unknown format '.json'; name it .parquet, .csv, .tsv or .trec"):
        read_run(tmp_path / "r.json", USERS, ITEMS)


def test_seen_items_removed_short_lists_end_and_missing_users_score_zero(tmp_path):
    """Hand-computed: user 10 lists [a (seen), c, f], relevant {c}: a is removed, c moves to rank 1
    (NDCG@3 = 1, recall@1 = 1). User 20 lists only [e], relevant {b, e}: NDCG@3 = 1 / (1 + 1/log2 3),
    recall@1 = 1/2; padding would have added b (index 1) at rank 3. User 30 is missing, relevant {a}:
    0 everywhere, though padding (a, b, c) would have hit a."""
    p = tmp_path / "run.csv"
    pd.DataFrame({"user": [10, 10, 10, 20], "item": ["a", "c", "f", "e"], "rank": [1, 2, 3, 1]}).to_csv(p, index=False)
    shape = (3, 6)
    seen = sp.csr_matrix((np.ones(4, np.float32), ([0, 1, 2, 2], [0, 5, 4, 5])), shape=shape)
    relevant = sp.csr_matrix((np.ones(4, bool), ([0, 1, 1, 2], [2, 1, 4, 0])), shape=shape)
    train = TrainData(positives=seen, seen=seen, user_ids=USERS, item_ids=ITEMS)
    data = EvalData("v", train, np.arange(3), relevant, np.array([1, 1, 2]))
    metrics = ("ndcg@3", "recall@1", "hitrate@3")
    res = run_task(Task("v", Arm("r", "runs", path=str(p)), 0), data, metrics, None, "k", save_top=3)
    v = res.scores.values
    np.testing.assert_allclose(v["ndcg@3"], [1.0, 1.0 / (1.0 + 1.0 / np.log2(3.0)), 0.0], rtol=1e-12)
    np.testing.assert_array_equal(v["recall@1"], [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(v["hitrate@3"], [1.0, 1.0, 0.0])
    assert res.scores.coverage["coverage@3"] == 3 / 6  # c, f, e
    assert "1 of 3 evaluated users missing (scored as empty lists); 1 listed items were seen in training" \
        in res.notes[0]
    assert "; 2 lists shorter than 3 after that" in res.notes[0]  # users 10 (c, f) and 20 (e)


# --------------------------------------------------------------------------- end to end
HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id={id!r}, claim="c", dataset="tabular:{data}", positives=("rating>=3",),
    baseline=Arm("als", "als", factors=8, iterations=3), treatment={treatment},
    segments=(Segment.all(),), metrics=("ndcg@10", "recall@5", "mrr@10", "novelty@10"), primary="ndcg@10",
    seeds=(0, 1), decision=Decision.equivalent(0.001), n_boot=200)
"""


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd)


def test_saved_runs_reproduce_the_trained_arm_exactly(tmp_path):
    from test_user_arms import interactions_csv

    data = interactions_csv(tmp_path / "events.csv")
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "ha.py").write_text(HYP.format(id="HA", data=data, treatment='Arm("pop", "popularity")'))
    (hyps / "hb.py").write_text(HYP.format(id="HB", data=data,
                                           treatment='Arm("als-file", "runs", path="../saved/als_seed{seed}.parquet")'))
    (hyps / "hc.py").write_text(HYP.format(id="HC", data=data,
                                           treatment='Arm("als-trec", "runs", path="../saved/als_seed{seed}.trec")'))
    base = ["--hypotheses", str(hyps), "--quiet", "--no-cache", "--results-dir", str(tmp_path / "res")]
    (tmp_path / "saved").mkdir()
    for fmt in ("parquet", "trec"):
        out = _cli("run", "HA", *base, "--save-runs", fmt, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        run_dir = Path(out.stdout.splitlines()[0].split("report: ")[1]).parent
        for seed in (0, 1):
            shutil.copy(run_dir / "runs" / "rating_ge_3" / f"als_seed{seed}.{fmt}", tmp_path / "saved")
    saved = pd.read_parquet(tmp_path / "saved" / "als_seed0.parquet")
    assert list(saved.columns) == ["user", "item", "rank"] and saved.groupby("user").size().eq(10).all()
    per_user = {}
    for hid in ("HB", "HC"):
        out = _cli("run", hid, *base, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert f"{hid}: CONFIRMED" in out.stdout
        run_dir = Path(out.stdout.splitlines()[0].split("report: ")[1]).parent
        per_user[hid] = pd.read_parquet(run_dir / "per_user.parquet")
    for hid, arm in (("HB", "als-file"), ("HC", "als-trec")):
        d = per_user[hid]
        a = d[d.arm == "als"].sort_values(["seed", "user_index"])
        b = d[d.arm == arm].sort_values(["seed", "user_index"])
        assert len(a) == len(b) > 100
        for m in ("ndcg@10", "recall@5", "mrr@10", "novelty@10"):
            np.testing.assert_array_equal(a[m].to_numpy(), b[m].to_numpy())
        assert a["ndcg@10"].mean() > 0.05  # a real ranking, not all zeros
    # a missing seed file: one line naming the file, exit 2, nothing written
    (tmp_path / "saved" / "als_seed1.parquet").unlink()
    shutil.rmtree(tmp_path / "res")
    out = _cli("run", "HB", *base, cwd=tmp_path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "run file not found for seed 1: " in out.stderr and "als_seed1.parquet" in out.stderr
    assert not (tmp_path / "res" / "HB").exists()


def test_another_save_runs_format_keeps_the_first_and_trec_scores_come_from_the_rank(tmp_path):
    """The README's `--save-runs` then `--save-runs trec` on one run id: the run folder is replaced whole, and
    the earlier format's files are carried over unchanged, so both formats are there (and stay there after a
    rerun without --save-runs). The TREC score is derived from the rank (k + 1 - rank), not the model's."""
    from test_user_arms import interactions_csv

    data = interactions_csv(tmp_path / "events.csv")
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "ha.py").write_text(HYP.format(id="HA", data=data, treatment='Arm("pop", "popularity")'))
    base = ["--hypotheses", str(hyps), "--quiet", "--results-dir", str(tmp_path / "res"),
            "--cache-dir", str(tmp_path / "cache")]
    run_dirs, first = [], {}
    for extra, exts in ((["--save-runs"], ("parquet",)), (["--save-runs", "trec"], ("parquet", "trec")),
                        ([], ("parquet", "trec"))):
        out = _cli("run", "HA", *base, *extra, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        run_dirs.append(Path(out.stdout.splitlines()[0].split("report: ")[1]).parent)
        runs = run_dirs[-1] / "runs" / "rating_ge_3"
        saved = sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []
        assert saved == sorted(f"{arm}_seed{seed}.{ext}" for arm in ("als", "pop") for seed in (0, 1)
                               for ext in exts), (extra, saved)
        first = first or {p.name: p.read_bytes() for p in runs.iterdir()}
    assert len(set(run_dirs)) == 1  # one run id: the same run written three times
    assert {n: (runs / n).read_bytes() for n in first} == first  # the parquet files, byte for byte
    assert sorted(p.name for p in (tmp_path / "res" / "HA").iterdir()) == sorted(["README.md", run_dirs[0].name])
    trec = pd.read_csv(runs / "als_seed0.trec", sep=" ", header=None,
                       names=["user", "q0", "item", "rank", "score", "tag"])
    parquet = pd.read_parquet(runs / "als_seed0.parquet")
    k = 10  # the largest metric k of the hypothesis
    assert (trec["score"] == k + 1 - trec["rank"]).all() and trec["rank"].max() == k
    assert trec[["user", "item", "rank"]].equals(parquet[["user", "item", "rank"]])
