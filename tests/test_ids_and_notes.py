"""Ids as written in text files ('0196' is not '196'), and report notes for rows with missing values
in a positive definition's column and for dropped --item-features columns."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data import item_features
from harness.data.tabular import load
from harness.design.feedback import missing_notes, positive_mask
from harness.runner.prepared import prepare_hypothesis
from harness.spec import Arm, Decision, Hypothesis, Segment, Split


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_leading_zero_ids_are_distinct_and_the_column_stays_text(tmp_path):
    p = _csv(tmp_path / "e.csv", "user_id,item_id,rating,timestamp\n0196,1,5,1\n196,2,4,2\n196,1,3,3\n0196,2,1,4\n")
    x = load(p)
    assert x.user_ids.tolist() == ["0196", "196"] and x.n_users == 2
    assert x.item_ids.tolist() == [1, 2] and x.item_ids.dtype == np.int64  # plain integers stay numeric
    assert x.counts["duplicates_removed"] == 0 and len(x.events) == 4
    ev = x.events
    assert sorted(ev.loc[ev.user == 0, "rating"].tolist()) == [1, 5]  # '0196' kept its own two rows


def test_plain_integer_and_integral_float_ids_stay_numeric_and_text_ids_as_written(tmp_path):
    p = _csv(tmp_path / "e.csv", "user_id,item_id,rating,timestamp\n196,7.0,5,1\n-3,8,4,2\n")
    x = load(p)
    assert x.user_ids.tolist() == [-3, 196] and x.user_ids.dtype == np.int64
    assert x.item_ids.tolist() == [7, 8] and x.item_ids.dtype == np.int64
    p = _csv(tmp_path / "e.csv", "user_id,item_id,rating,timestamp\nu1,007,5,1\nu2,7,4,2\n")
    x = load(p)
    assert x.user_ids.tolist() == ["u1", "u2"] and x.item_ids.tolist() == ["007", "7"]


def test_item_features_match_text_ids_and_name_dropped_columns(tmp_path):
    feats = _csv(tmp_path / "items.csv", "item_id,title,year,genres\n0196,Alpha,1990,a|b\n196,Beta,2000,b\n")
    content, has, desc = item_features.read(feats, "item_id", np.array(["0196", "196", "9"], dtype=object))
    # year, then the multi-hot tokens a, b
    np.testing.assert_array_equal(content, [[1990, 1, 1], [2000, 0, 1], [0, 0, 0]])
    assert has.tolist() == [True, True, False]
    assert desc == ("item features from items.csv: year, genres (2 tokens, multi-hot); dropped column(s) title: "
                    "text that is neither numeric nor '|'-separated tokens")
    content, _, _ = item_features.read(feats, "item_id", np.array([196]))  # numeric ids: '0196' is 196 too,
    assert content[0, 0] == 2000  # and the last row of an item wins
    _csv(tmp_path / "items.csv", "item_id,year\n196,2000\n")
    assert "dropped" not in item_features.read(tmp_path / "items.csv", "item_id", np.array([196]))[2]


def test_missing_values_in_a_positive_column_are_counted():
    events = pd.DataFrame({"user": [0, 0, 1, 1], "item": [0, 1, 0, 1], "time": [1, 2, 3, 4],
                           "rating": [5.0, np.nan, np.nan, 3.0], "like": [True, False, True, False]})
    assert positive_mask("rating>=4", events).tolist() == [True, False, False, False]
    assert missing_notes(("rating>=4", "like", "rating>=4&like"), events) == [
        "positives 'rating>=4': 2 of 4 interactions have no value in column 'rating' and count as non-positive",
        "positives 'rating>=4&like': 2 of 4 interactions have no value in column 'rating' and count as non-positive"]
    assert missing_notes(("like",), events) == []


def test_missing_ratings_note_reaches_the_prepared_notes(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(u, i, "" if (u + i) % 7 == 0 else str(int(rng.integers(1, 6))), 10 * i)
            for u in range(30) for i in range(12)]
    p = tmp_path / "e.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"]).to_csv(p, index=False)
    inter = load(p, split=Split.leave_last(3))
    n_missing = sum(1 for u, i, r, _ in rows if r == "")
    hyp = Hypothesis(id="HX", claim="c", dataset="tabular:e.csv", positives=("rating>=3",),
                     baseline=Arm("pop", "popularity"), treatment=Arm("rnd", "random"), segments=(Segment.all(),),
                     metrics=("ndcg@5",), primary="ndcg@5", seeds=(0,), decision=Decision.better(0.0))
    notes = prepare_hypothesis(hyp, inter).notes
    assert (f"positives 'rating>=3': {n_missing} of {len(rows)} interactions have no value in column 'rating' and "
            "count as non-positive") in notes


@pytest.mark.parametrize("ids", [("0196", "196")])
def test_cli_report_shows_two_users_and_the_missing_ratings_note(tmp_path, ids):
    rows = []
    for u in [*ids, *[str(100 + j) for j in range(40)]]:
        for i in range(12):
            rows.append(f"{u},{1000 + (i * 7 + len(u)) % 30},{'' if i == 3 else 1 + (i * 3) % 5},{10 * i}")
    p = _csv(tmp_path / "e.csv", "user_id,item_id,rating,timestamp\n" + "\n".join(rows) + "\n")
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "h.py").write_text(
        "from harness.spec import Arm, Decision, Hypothesis, Segment\n"
        f"HYPOTHESIS = Hypothesis(id='HZ', claim='c', dataset='tabular:{p}', positives=('rating>=3',),\n"
        "    baseline=Arm('pop', 'popularity'), treatment=Arm('rnd', 'random'), segments=(Segment.all(),),\n"
        "    metrics=('ndcg@5',), primary='ndcg@5', seeds=(0,), decision=Decision.better(0.0), n_boot=200)\n")
    out = subprocess.run([sys.executable, "-m", "harness", "run", "HZ", "--hypotheses", str(hyps), "--quiet",
                          "--no-cache", "--n-jobs", "1", "--results-dir", str(tmp_path / "res")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = Path(out.stdout.splitlines()[0].split("report: ")[1]).read_text()
    assert f"{len(ids) + 40} users" in report
    assert (f"note: positives 'rating>=3': {len(ids) + 40} of {12 * (len(ids) + 40)} interactions have no value in "
            "column 'rating' and count as non-positive") in report
