"""Bad data through the real CLI: one line naming the file and the fix, exit 2, no results folder."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.data import synthetic

HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HD", claim="data", dataset="vk-lsvd:synthetic", positives=("watch_ratio>=0.5",),
    baseline=Arm("pop", "popularity"), treatment=Arm("cf", "lightfm", no_components=4, epochs=1),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0,),
    decision=Decision.not_worse(0.01), n_boot=200)
"""
WEEK = "subsamples/synthetic/train/week_03.parquet"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return synthetic.generate(tmp_path_factory.mktemp("bad") / "root", n_users=200, n_items=150,
                              mean_interactions=12.0, seed=2)


def _drop_column(root: Path) -> None:
    t = pq.read_table(root / WEEK)
    pq.write_table(t.drop(["timespent"]), root / WEEK)


def _negative_timespent(root: Path) -> None:
    t = pq.read_table(root / WEEK)
    i = t.schema.get_field_index("timespent")
    pq.write_table(t.set_column(i, "timespent", pa.array(np.full(len(t), -3, dtype=np.int16))), root / WEEK)


def _corrupt(root: Path) -> None:
    (root / WEEK).write_bytes(b"PAR1 this is not parquet")


def _missing_week(root: Path) -> None:
    (root / WEEK).unlink()


def _string_ids(root: Path) -> None:
    t = pq.read_table(root / WEEK)
    i = t.schema.get_field_index("user_id")
    pq.write_table(t.set_column(i, "user_id", pa.array([f"u{x}" for x in range(len(t))])), root / WEEK)


def _ragged_embeddings(root: Path) -> None:
    p = root / "metadata" / "item_embeddings.npz"
    with np.load(p) as z:
        ids = z["item_id"]
    emb = np.empty(len(ids), dtype=object)
    for j in range(len(ids)):
        emb[j] = np.zeros(64 if j % 2 else 32, dtype=np.float16)
    np.savez(p, item_id=ids, embedding=emb)


def _empty_validation(root: Path) -> None:
    p = root / "subsamples/synthetic/validation/week_25.parquet"
    t = pq.read_table(p)
    pq.write_table(t.slice(0, 0), p)


CASES = {
    "missing directory": (None, r"--data-dir .*nope is not a directory"),
    "missing week file": (_missing_week, r"missing week file\(s\) train/week_03\.parquet"),
    "missing column": (_drop_column, r"week_03\.parquet: missing column"),
    "wrong dtype": (_string_ids, r"week_03\.parquet: column 'user_id' has type string"),
    "negative timespent": (_negative_timespent, r"week_03\.parquet: column 'timespent' has negative values"),
    "corrupt parquet": (_corrupt, r"week_03\.parquet: cannot read parquet file"),
    "ragged embeddings": (_ragged_embeddings, r"item_embeddings\.npz: .*embedding"),
    "empty test window": (_empty_validation, r"week_25\.parquet: the validation week holds no interactions"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_vk_data(case, source, tmp_path):
    breaker, pattern = CASES[case]
    root = tmp_path / "data"
    if breaker is not None:
        shutil.copytree(source, root)
        breaker(root)
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "hd.py").write_text(HYP)
    tmp_path.joinpath("data").mkdir(exist_ok=True)
    out = subprocess.run([sys.executable, "-m", "harness", "run", "HD", "--data-dir",
                          str(root if breaker else tmp_path / "data" / "nope"), "--hypotheses", str(hyps),
                          "--results-dir", str(tmp_path / "results"), "--quiet", "--no-cache"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2, (case, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    import re
    assert re.search(pattern, lines[0]), lines[0]
    assert not (tmp_path / "results").exists()
