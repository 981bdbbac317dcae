"""Run files as trec_eval and ranx read them: equal scores (kept in the file's order, counted and warned
about), non-numeric scores (one-line error), and map_trec@k (AP / |relevant|) through the whole pipeline."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from test_runs_arm import ITEMS, USERS, lists
from test_user_arms import interactions_csv

from harness.arms.scorer import FactorScorer, TrainData
from harness.data.runfiles import read_run, write_run
from harness.design.prepare import EvalData
from harness.errors import HarnessError
from harness.evaluation.users import evaluate
from harness.runner.tasks import Task, run_task
from harness.spec import Arm


def test_tied_scores_keep_the_rank_order_and_are_counted(tmp_path):
    p = tmp_path / "r.trec"
    # user 10: a=b (tied pair 1), b>c, c=d (tied pair 2); user 20: e=f (tied); user 30: no tie
    p.write_text("10 Q0 b 1 0.5 t\n10 Q0 a 2 0.5 t\n10 Q0 c 3 0.2 t\n10 Q0 d 4 0.2 t\n"
                 "20 Q0 f 1 1 t\n20 Q0 e 2 1 t\n30 Q0 a 1 3 t\n30 Q0 b 2 2 t\n99 Q0 a 1 1 t\n99 Q0 b 2 1 t\n")
    run = read_run(p, USERS, ITEMS)
    assert lists(run) == {0: [1, 0, 2, 3], 1: [5, 4], 2: [0, 1]}  # rank order, not trec_eval's docid order
    np.testing.assert_array_equal(run.tied, [2, 1, 0])  # user 99 is not in the data: not counted


def test_tie_count_for_score_only_csv_and_none_for_rank_only_or_written_runs(tmp_path):
    p = tmp_path / "r.csv"
    pd.DataFrame({"user": [10, 10, 10, 20], "item": ["a", "b", "c", "d"],
                  "score": [0.1, 0.5, 0.1, 2.0]}).to_csv(p, index=False)
    run = read_run(p, USERS, ITEMS)
    assert lists(run) == {0: [1, 0, 2], 1: [3]}
    np.testing.assert_array_equal(run.tied, [1, 0, 0])
    pd.DataFrame({"user": [10, 10], "item": ["a", "b"], "rank": [1, 2]}).to_csv(p, index=False)
    np.testing.assert_array_equal(read_run(p, USERS, ITEMS).tied, [0, 0, 0])
    w = write_run(tmp_path / "w.trec", np.array([10, 20]), np.array([["a", "b", "c"], ["d", "e", "f"]]), "trec")
    np.testing.assert_array_equal(read_run(w, USERS, ITEMS).tied, [0, 0, 0])


def test_tied_pairs_are_a_warning_in_the_runs_note(tmp_path):
    p = tmp_path / "r.trec"
    p.write_text("10 Q0 b 1 1 t\n10 Q0 c 2 1 t\n10 Q0 d 3 1 t\n20 Q0 a 1 2 t\n20 Q0 c 2 1 t\n")
    shape = (3, 6)
    seen = sp.csr_matrix((np.ones(1, np.float32), ([2], [5])), shape=shape)
    relevant = sp.csr_matrix((np.ones(3, bool), ([0, 1, 2], [2, 0, 0])), shape=shape)
    train = TrainData(positives=seen, seen=seen, user_ids=USERS, item_ids=ITEMS)
    data = EvalData("v", train, np.arange(3), relevant, np.array([1, 1, 1]))
    res = run_task(Task("v", Arm("r", "runs", path=str(p)), 0), data, ("ndcg@3",), None, "k")
    assert ("; WARNING: 2 tied pairs (adjacent ranks with equal scores) in 1 of 3 evaluated users' lists: the harness "
            "keeps the file's order (rank, else row order), trec_eval re-sorts equal scores by docid (descending)") \
        in res.notes[0]
    np.testing.assert_allclose(res.scores.values["ndcg@3"], [1 / np.log2(3), 1.0, 0.0])  # c stays at rank 2
    p.write_text("10 Q0 b 1 3 t\n10 Q0 c 2 2 t\n")
    res = run_task(Task("v", Arm("r", "runs", path=str(p)), 0), data, ("ndcg@3",), None, "k2")
    assert "WARNING" not in res.notes[0] and "tied pairs" not in res.notes[0]


@pytest.mark.parametrize("name, text, pattern", [
    ("r.trec", "10 Q0 a 1 0.9 t\n10 Q0 b 2 high t\n", r"r.trec: score 'high' at line/row 2 is not a number; write "
                                                      r"numeric scores \(higher = better\)"),
    ("r.trec", "10 Q0 a one 0.9 t\n", r"r.trec: rank 'one' at line/row 1 is not a positive integer"),
    ("r.trec", "10 Q0 a 1 0.9 t\n\n  \n10 Q0 b 2 - t\n", r"r.trec: score '-' at line/row 4 is not a number"),
    ("r.csv", "user,item,rank,score\n10,a,1,0.5\n10,b,2,n/a?\n", r"r.csv: score 'n/a\?' at line/row 3 is not a number"),
    ("r.csv", "user,item,score\n10,a,x\n", r"r.csv: score 'x' at line/row 2 is not a number"),
])
def test_non_numeric_scores_and_ranks_name_the_file_and_line(tmp_path, name, text, pattern):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(HarnessError, match=pattern):
        read_run(p, USERS, ITEMS)


# --------------------------------------------------------------------------- map_trec, fused vs naive
def _naive_ap(scores: np.ndarray, seen: np.ndarray, rel: set[int], k: int) -> tuple[float, float]:
    """(AP / min(|rel|, k), AP / |rel|) of one user: seen items masked, stable sort (ties by item index)."""
    s = scores.astype(np.float64).copy()
    s[seen] = -np.inf
    top = np.argsort(-s, kind="stable")[:k]
    ap, n_hit = 0.0, 0
    for i, it in enumerate(top):
        if it in rel:
            n_hit += 1
            ap += n_hit / (i + 1)
    return ap / min(len(rel), k), ap / len(rel)


@pytest.mark.parametrize("method", ["generic", "tiled"])
def test_map_trec_fused_and_generic_match_a_naive_loop(method):
    rng = np.random.default_rng(3)
    n_users, n_items, d, k = 60, 300, 8, 10
    u = rng.integers(-1, 2, (n_users, d)).astype(np.float32)  # small exact integers: ties, no rounding
    v = rng.integers(-1, 2, (n_items, d)).astype(np.float32)
    seen = sp.random(n_users, n_items, density=0.05, random_state=1, format="csr", dtype=np.float32)
    seen.data[:] = 1
    rel_sets = [set(rng.choice(np.setdiff1d(np.arange(n_items), seen[i].indices), int(rng.integers(1, 30)),
                               replace=False).tolist()) for i in range(n_users)]
    rows = np.repeat(np.arange(n_users), [len(r) for r in rel_sets])
    relevant = sp.csr_matrix((np.ones(len(rows), bool), (rows, np.concatenate([sorted(r) for r in rel_sets]))),
                             shape=(n_users, n_items))
    users = np.arange(n_users)
    res = evaluate(FactorScorer(u, v), users, seen, relevant, ("map@10", "map_trec@10"), method=method)
    ref = np.array([_naive_ap(u[i] @ v.T, seen[i].indices, rel_sets[i], k) for i in users])
    np.testing.assert_allclose(res.values["map@10"], ref[:, 0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(res.values["map_trec@10"], ref[:, 1], rtol=1e-13, atol=1e-15)
    many = np.array([len(r) > k for r in rel_sets])
    hit = res.values["map@10"] > 0
    assert (many & hit).sum() > 5  # the case where the two differ is exercised
    assert np.all(res.values["map_trec@10"][many & hit] < res.values["map@10"][many & hit])
    np.testing.assert_array_equal(res.values["map_trec@10"][~many], res.values["map@10"][~many])


# --------------------------------------------------------------------------- end to end
HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id={id!r}, claim="c", dataset="tabular:{data}", positives=("rating>=3",),
    baseline=Arm("pop", "popularity"), treatment=Arm("prod", "runs", path="runs.trec"),
    segments=(Segment.all(),), metrics=("map_trec@10", "map_trec@2", "map@2"), primary="map_trec@10",
    seeds=(0,), decision=Decision.not_worse(0.5), n_boot=100)
"""


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd)


def test_map_trec_and_tie_warning_through_the_cli_and_a_bad_score_is_one_line(tmp_path):
    data = interactions_csv(tmp_path / "events.csv")
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "h.py").write_text(HYP.format(id="HT", data=data))
    lines = [f"{u} Q0 {1000 + i} {i + 1} {1.0 if i < 5 else 0.5} t" for u in range(150) for i in range(15)]
    (hyps / "runs.trec").write_text("\n".join(lines) + "\n")
    base = ["--hypotheses", str(hyps), "--quiet", "--no-cache", "--results-dir", str(tmp_path / "res")]
    out = _cli("run", "HT", *base, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    run_dir = Path(out.stdout.splitlines()[0].split("report: ")[1]).parent
    report = (run_dir / "report.md").read_text()
    evaluated = int(re.search(r"runs.trec: 2250 rows; 0 of (\d+) evaluated users missing", report).group(1))
    assert evaluated > 100 and f"WARNING: {evaluated * 13} tied pairs (adjacent ranks with equal scores) in {evaluated} of " \
        f"{evaluated} evaluated users' lists" in report  # 4 + 9 tied pairs per user, before seen items are removed
    assert "`map_trec@k` = sum_i precision@i * hit_i / |relevant|, as ranx and trec_eval" in report
    assert "`map@k` = sum_i precision@i * hit_i / min(|relevant|, k)" in report
    per_user = pd.read_parquet(run_dir / "per_user.parquet")
    assert {"map_trec@10", "map_trec@2", "map@2"} <= set(per_user.columns) and per_user["map_trec@10"].mean() > 0
    assert (per_user["map_trec@2"] <= per_user["map@2"] + 1e-15).all()
    assert (per_user["map_trec@2"] < per_user["map@2"]).any()  # users with > 2 relevant items and a hit
    # a non-numeric TREC score: the arm's task fails with one line naming the file and the line (how the
    # runner reports a failed task is its own business)
    assert lines[31] == "2 Q0 1001 2 1.0 t"
    lines[31] = "2 Q0 1001 2 high t"
    (hyps / "runs.trec").write_text("\n".join(lines) + "\n")
    from harness.arms import runs

    ids = pd.read_csv(data)
    train = TrainData(positives=None, seen=None, user_ids=np.unique(ids.user_id), item_ids=np.unique(ids.item_id))
    with pytest.raises(HarnessError) as e:
        runs.fit(train, 0, path=str(hyps / "runs.trec"))
    assert str(e.value) == (f"run file {hyps / 'runs.trec'}: score 'high' at line/row 32 is not a number; write "
                            "numeric scores (higher = better)")
