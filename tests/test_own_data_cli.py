"""Own data without friction: a MovieLens-latest-style CSV and a whitespace Last.fm-style file (no header,
no time) through H1 with flags only; every new error path is one line, exit 2, nothing written; every
flag an error message suggests exists in the CLI's help."""
from __future__ import annotations

import gzip
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.cli import build_parser
from harness.data import load_dataset
from harness.errors import HarnessError
from harness.spec import Split
from harness.design.split import split

ROOT = Path(__file__).resolve().parents[1]
GENRES = ("Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi")


def movielens_latest(d: Path, n_users: int = 120, n_items: int = 80, seed: int = 0) -> tuple[Path, Path]:
    """``ratings.csv`` (userId,movieId,rating,timestamp) and ``movies.csv`` (movieId,title,genres) in the
    MovieLens-latest layout: users prefer items of one genre, so content carries signal."""
    rng = np.random.default_rng(seed)
    genre = rng.integers(0, len(GENRES), n_items)
    rows = []
    for u in range(n_users):
        fav = rng.integers(0, len(GENRES))
        p = np.where(genre == fav, 6.0, 1.0) / np.arange(1, n_items + 1) ** 0.5
        items = rng.choice(n_items, size=int(rng.integers(15, 35)), replace=False, p=p / p.sum())
        for j, i in enumerate(items):
            rating = 5.0 if genre[i] == fav else float(rng.integers(1, 5))
            rows.append((u + 1, 10 * (i + 1), rating, 1_500_000_000 + 3600 * j + u))
    ratings = d / "ratings.csv"
    pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"]).to_csv(ratings, index=False)
    movies = d / "movies.csv"
    pd.DataFrame({"movieId": 10 * (np.arange(n_items) + 1), "title": [f"Movie {i}" for i in range(n_items)],
                  "genres": [f"{GENRES[g]}|{GENRES[(g + 1) % len(GENRES)]}" for g in genre]}).to_csv(movies, index=False)
    return ratings, movies


def cli(*args, cwd: Path):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd)


FAST_H1 = ["--seeds", "2", "--quiet", "--no-cache", "--n-jobs", "1", "--hypotheses", str(ROOT / "hypotheses")]


def _one_line_exit_2(out, results: Path) -> str:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert not results.exists() or not any(results.rglob("*.json")), list(results.rglob("*"))
    return lines[0]


def test_h1_on_a_movielens_latest_csv_with_flags_only(tmp_path):
    ratings, movies = movielens_latest(tmp_path)
    res = tmp_path / "res"
    flags = ["--dataset", f"tabular:{ratings.name}", "--column", "user=userId", "--column", "item=movieId",
             "--column", "time=timestamp", "--results-dir", str(res), *FAST_H1]
    # H1's treatment needs item content: one line naming --item-features, before any training
    line = _one_line_exit_2(cli("run", "H1", *flags, cwd=tmp_path), res)
    assert "has no item content; for a tabular file give --item-features FILE" in line
    out = cli("run", "H1", *flags, "--item-features", movies.name, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = Path(out.stdout.splitlines()[0].split("report: ")[1])
    text = (tmp_path / report).read_text() if not report.is_absolute() else report.read_text()
    assert "using the dataset's default ['rating>=4']" in text  # H1's VK positives fall back, with a note
    assert "item features from movies.csv: genres (6 tokens, multi-hot)" in text
    assert "per-user leave-last-5 by time" in text


def test_h1_on_a_whitespace_lastfm_file_without_header_or_time(tmp_path):
    rng = np.random.default_rng(1)
    rows = [(u, a, int(rng.integers(1, 50))) for u in range(100) for a in rng.choice(60, 20, replace=False)]
    data = tmp_path / "user_artists.dat"
    data.write_text("".join(f"{u}  {a}\t{p}\n" for u, a, p in rows))  # mixed spaces and tabs
    tags = tmp_path / "artists.tsv"
    pd.DataFrame({"item": np.arange(60), "tags": [f"t{i % 5}|t{i % 3 + 5}" for i in range(60)]}).to_csv(
        tags, sep="\t", index=False)
    res = tmp_path / "res"
    flags = ["--dataset", f"tabular:{data.name}", "--sep", "whitespace", "--no-header", "--names", "user,item,plays",
             "--item-features", tags.name, "--results-dir", str(res), *FAST_H1]
    line = _one_line_exit_2(cli("run", "H1", *flags, cwd=tmp_path), res)
    assert "no time column 'timestamp'" in line and "--split random" in line and "--split order" in line
    line = _one_line_exit_2(cli("run", "H1", *flags, "--split", "random:7", cwd=tmp_path), res)
    assert re.search(r"read column\(s\) bookmark, like, share, watch_ratio, which the data lacks.*--positives 'plays>=1'",
                     line), line
    out = cli("run", "H1", *flags, "--split", "random:7", "--positives", "plays>=10", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = Path(out.stdout.splitlines()[0].split("report: ")[1])
    text = (report if report.is_absolute() else tmp_path / report).read_text()
    assert "per-user random holdout of 5 (seed 7; no time order" in text
    assert "positives `plays>=10`" in text or "`plays>=10`" in text


def test_split_random_and_order_by_hand(tmp_path):
    """order: each user's last 2 rows in the file are test; random: 2 per user drawn with the seed,
    the same for the same seed, and a different draw for another seed."""
    p = tmp_path / "x.txt"
    p.write_text("".join(f"{u} {i} 1\n" for u in (1, 2) for i in range(6)))
    order = load_dataset(f"tabular:{p}", sep=" ", names=("user", "item", "plays"), split="order")
    s = split(order, Split.file_order(2))
    ev = order.events
    assert sorted(ev.loc[s.test, "item"].map(lambda i: int(order.item_ids[i])).tolist()) == [4, 4, 5, 5]
    assert order.counts["time"].startswith("no time column")
    r = load_dataset(f"tabular:{p}", sep="whitespace", names=("user", "item", "plays"), split="random")
    a = split(r, Split.random(2, seed=3)).test
    assert a.sum() == 4 and np.array_equal(a, split(r, Split.random(2, seed=3)).test)
    assert any(not np.array_equal(a, split(r, Split.random(2, seed=s)).test) for s in range(4, 10))
    assert all(r.events.loc[a, "user"].value_counts() == 2)


def test_gzip_and_separator(tmp_path):
    p = tmp_path / "r.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("u;i;rating;t\n1;a;5;10\n1;b;3;20\n2;a;4;30\n")
    x = load_dataset(f"tabular:{p}", columns={"user": "u", "item": "i", "time": "t"}, sep=";")
    assert len(x.events) == 3 and x.default_positives == ("rating>=4",)
    assert list(x.item_ids) == ["a", "b"]


HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HE", claim="c", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("pop", "popularity"), treatment={treatment},
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0,),
    decision=Decision.better(0.0), n_boot=200)
"""


@pytest.mark.parametrize("treatment, extra, pattern", [
    ('Arm("b", "als", regularization="high")', [], r"he\.py: Arm 'b' \(als\): parameter regularization='high' is a "
                                                   r"str; it must be float"),
    ('Arm("b", "als")', ["--results-dir", "afile"], r"--results-dir afile is a file, not a directory"),
    ('Arm("b", "als")', ["--no-header"], r"--no-header needs the column names: add --names"),
    ('Arm("b", "als")', ["--names", "user,item"], r"--names names the columns .* add --no-header"),
    ('Arm("b", "als")', ["--sep", ";", "--data-dir", "."], r"--sep applies to tabular:<file> datasets only"),
    ('Arm("b", "als")', ["--split", "order", "--data-dir", "."], r"--split order applies to tabular:<file> datasets"),
    ('Arm("b", "runs", path="nope_seed{seed}.parquet")', ["--data-dir", "DATA"],
     r"arm 'runs': run file not found for seed 0: .*nope_seed0.parquet"),
    ('Arm("b", "./models/none.py:fit")', [], r"he\.py: Arm 'b': arm .*none.py:fit.*file not found"),
    ('Arm("b", "runs")', [], r"arm 'runs' needs path="),
])
def test_new_error_paths_are_one_line_exit_2_nothing_written(tmp_path, treatment, extra, pattern, ml100k_dir):
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "he.py").write_text(HYP.format(treatment=treatment))
    (tmp_path / "afile").write_text("x")
    extra = [str(ml100k_dir) if e == "DATA" else e for e in extra]
    res = tmp_path / "res"
    args = ["run", "HE", "--hypotheses", str(hyps), "--quiet", "--no-cache"]
    if "--results-dir" not in extra:
        args += ["--results-dir", str(res)]
    line = _one_line_exit_2(cli(*args, *extra, cwd=tmp_path), res)
    assert re.search(pattern, line), line


def test_positives_without_a_default_names_the_flag():
    from harness.design.feedback import resolve

    ev = pd.DataFrame({"user": [0], "item": [0], "time": [0], "plays": [3]})
    with pytest.raises(HarnessError, match=r"read column\(s\) like, which the data lacks, and it has no default .*"
                                           r"give one with --positives, e.g. --positives 'plays>=1'"):
        resolve(("like",), ev, ())
    assert resolve(("like",), ev, ("plays>=2",)) == (("plays>=2",), "positives ['like'] need columns this dataset "
                                                                    "lacks; using the dataset's default ['plays>=2']")


def _help_text() -> str:
    ap = build_parser()
    parts = [ap.format_help()]
    sub = next(a for a in ap._actions if a.__class__.__name__ == "_SubParsersAction")
    parts += [p.format_help() for p in sub.choices.values()]
    return "\n".join(parts)


def test_every_flag_an_error_message_suggests_exists():
    """Grep the package's HarnessError messages for ``--flag`` and look each up in the CLI's own help."""
    help_flags = set(re.findall(r"--[a-z][a-z0-9-]*", _help_text()))
    suggested: dict[str, str] = {}
    for path in (ROOT / "harness").rglob("*.py"):
        text = path.read_text()
        for m in re.finditer(r"HarnessError\((.*?)\)(?: from None)?\n", text, flags=re.S):
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", m.group(1)):
                suggested.setdefault(flag, str(path.relative_to(ROOT)))
    assert {"--positives", "--split", "--item-features", "--names", "--no-header", "--sep", "--column",
            "--results-dir", "--data-dir"} <= set(suggested)
    missing = {f: where for f, where in suggested.items() if f not in help_flags}
    assert not missing, missing
