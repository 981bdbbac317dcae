"""Issue 27, item 1: the data's identity is in every key.

Run, change any one input (a feature file's content, a reader flag, a byte in the middle of a large file,
a runs file), rerun with the cache: the result equals a --no-cache run, under a new run id. Before the fix
the task cache key and the run id fingerprinted only the interactions file (and files over 64 MiB only by
size + first/last MiB), so each of these gave the previous run's numbers, or crashed."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data import identity, load_dataset
from harness.runner import experiment
from harness.spec import Arm, Decision, Hypothesis, Segment

N_USERS, N_ITEMS = 80, 60


def _ratings(path: Path, seed: int = 0, header: bool = True) -> Path:
    """user,item,rating,timestamp,t2 (t2: another time order, so --column time=t2 changes the split)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(N_USERS):
        items = rng.choice(N_ITEMS, size=int(rng.integers(12, 25)), replace=False,
                           p=(w := 1.0 / np.arange(1, N_ITEMS + 1) ** 0.7) / w.sum())
        for j, i in enumerate(items):
            rows.append((u, 100 + i, float(rng.integers(1, 6)), 1_000 + 10 * j + u, 5_000 - 10 * j))
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp", "t2"])
    df.to_csv(path, index=False, header=header)
    return path


def _features(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    tags = [f"g{rng.integers(0, 4)}|g{rng.integers(4, 8)}" for _ in range(N_ITEMS)]
    pd.DataFrame({"item_id": 100 + np.arange(N_ITEMS), "tags": tags}).to_csv(path, index=False)
    return path


def _hyp(treatment: Arm | None = None) -> Hypothesis:
    return Hypothesis(id="HID", claim="identity", dataset="tabular:x.csv", positives=["rating>=4"],
                      baseline=Arm("pop", "popularity"), treatment=treatment or Arm("content", "content"),
                      segments=[Segment.all()], metrics=["ndcg@10"], primary="ndcg@10", seeds=range(2),
                      decision=Decision.better(margin=0.0))


def _run(tmp: Path, hyp: Hypothesis, data: Path, cache: Path | None, **load):
    columns = load.pop("columns", None)
    return experiment.run(hyp, dataset=f"tabular:{data}", results_dir=tmp / "results", cache_dir=cache,
                          quiet=True, columns=columns, load_options=load)


def _same_numbers(a, b) -> None:
    assert (a.run_dir / "per_user.parquet").read_bytes() == (b.run_dir / "per_user.parquet").read_bytes()
    assert a.summary["cells"] == b.summary["cells"]


def _check_change(tmp: Path, hyp_a, hyp_b, data_a: Path, data_b: Path, load_a: dict, load_b: dict,
                  change=None, refit: int = 4) -> None:
    """Run A with the cache; apply ``change``; run B with the cache and B without it (fresh folders)."""
    cache = tmp / "cache"
    a = _run(tmp, hyp_a, data_a, cache, **dict(load_a))
    if change is not None:
        change()
    b = _run(tmp, hyp_b, data_b, cache, **dict(load_b))
    fresh = _run(tmp / "fresh", hyp_b, data_b, None, **dict(load_b))
    assert b.run_id != a.run_id, "a changed input must give a new run id (else the old folder is overwritten)"
    assert b.fitted == refit and b.cached == 4 - refit, "no task of the changed input may come from the cache"
    assert b.run_id == fresh.run_id
    _same_numbers(b, fresh)
    assert (a.run_dir / "summary.json").is_file(), "the first run's folder is kept"


def test_a_changed_item_features_file(tmp_path):
    data, feats = _ratings(tmp_path / "x.csv"), _features(tmp_path / "items.csv", 1)
    before = _run(tmp_path / "probe", _hyp(), data, None, item_features=feats)
    _check_change(tmp_path, _hyp(), _hyp(), data, data, {"item_features": feats}, {"item_features": feats},
                  change=lambda: _features(feats, 2))
    after = _run(tmp_path / "probe2", _hyp(), data, None, item_features=feats)
    assert before.summary["cells"] != after.summary["cells"], "the test data must make the features matter"


def test_a_changed_column_mapping(tmp_path):
    """--column time=t2 orders every user's history the other way: another split (was a crash)."""
    data = _ratings(tmp_path / "x.csv")
    _check_change(tmp_path, _hyp(Arm("knn", "itemknn")), _hyp(Arm("knn", "itemknn")), data, data, {},
                  {"columns": {"time": "t2"}})


def test_changed_names_of_a_headerless_file(tmp_path):
    """--names swaps two columns: same file, another dataset."""
    data = _ratings(tmp_path / "x.csv", header=False)
    a = {"names": ("user_id", "item_id", "rating", "timestamp", "t2")}
    b = {"names": ("user_id", "item_id", "rating", "t2", "timestamp")}
    _check_change(tmp_path, _hyp(Arm("knn", "itemknn")), _hyp(Arm("knn", "itemknn")), data, data, a, b)


def test_a_changed_runs_file(tmp_path):
    data = _ratings(tmp_path / "x.csv")
    runs = tmp_path / "runs"
    runs.mkdir()

    def export(shift: int) -> None:
        for seed in (0, 1):
            rows = [(u, 100 + (u + r * 7 + seed + shift) % N_ITEMS, r + 1) for u in range(N_USERS) for r in range(10)]
            pd.DataFrame(rows, columns=["user", "item", "rank"]).to_csv(runs / f"r{seed}.csv", index=False)

    export(0)
    hyp = _hyp(Arm("prod", "runs", path=str(runs / "r{seed}.csv")))
    _check_change(tmp_path, hyp, hyp, data, data, {}, {}, change=lambda: export(3), refit=2)


def test_a_byte_in_the_middle_of_a_large_file_changes_the_identity(tmp_path):
    """Files over the old partial-hash size (64 MiB) are hashed in full: one byte in the middle counts."""
    big = tmp_path / "big.bin"
    size = identity.MEMO_MIN_BYTES + (3 << 20)
    with open(big, "wb") as f:
        f.truncate(size)
    memo = tmp_path / "memo"
    first = identity.file_digest(big, memo)
    with open(big, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\x01")
    assert identity.file_digest(big, memo) != first
    assert identity.fingerprint_files([big]) != identity.combine(first, {})


def test_the_digest_memo_is_keyed_by_path_size_mtime_and_inode(tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(identity.MEMO_MIN_BYTES)
    memo = tmp_path / "memo"
    true = identity.file_digest(big, memo)
    (entry,) = list(memo.iterdir())
    key, digest = entry.read_text().split("\n")[:2]
    assert digest == true and key.startswith(str(big.resolve()))
    entry.write_text(f"{key}\n{'0' * 64}\n")  # a planted digest is used while the key matches ...
    assert identity.file_digest(big, memo) == "0" * 64
    st = big.stat()
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # ... and ignored once the file's mtime moves
    assert identity.file_digest(big, memo) == true


def test_reader_options_are_part_of_the_dataset_identity(tmp_path):
    data = _ratings(tmp_path / "x.csv")
    feats = _features(tmp_path / "items.csv", 1)
    base = load_dataset(f"tabular:{data}").fingerprint
    variants = {"column": load_dataset(f"tabular:{data}", columns={"time": "t2"}).fingerprint,
                "split": load_dataset(f"tabular:{data}", split="random").fingerprint,
                "features": load_dataset(f"tabular:{data}", item_features=feats).fingerprint,
                "positives": load_dataset(f"tabular:{data}", positives=("rating>=3",)).fingerprint,
                "sep": load_dataset(f"tabular:{data}", sep=",").fingerprint}
    assert base not in variants.values() and len(set(variants.values())) == len(variants)
    assert load_dataset(f"tabular:{data}").fingerprint == base, "the identity is deterministic"


@pytest.mark.parametrize("edit", ["middle", "append"])
def test_a_changed_interactions_file(tmp_path, edit):
    data = _ratings(tmp_path / "x.csv")
    text = data.read_text().splitlines(keepends=True)

    def change() -> None:
        rows = list(text)
        if edit == "middle":  # one rating in the middle: 1 -> 5 (or the other way)
            i = len(rows) // 2
            cells = rows[i].split(",")
            cells[2] = "5.0" if cells[2] != "5.0" else "1.0"
            rows[i] = ",".join(cells)
        else:
            rows.append("0,100,5.0,99999,1\n")
        data.write_text("".join(rows))

    _check_change(tmp_path, _hyp(Arm("knn", "itemknn")), _hyp(Arm("knn", "itemknn")), data, data, {}, {}, change)
