"""The synthetic VK-LSVD generator: exact layout, determinism, and the planted structure."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from _vkfiles import raw_weeks, read_npz

from harness.data import synthetic
from harness.errors import HarnessError

SMALL = {"n_users": 300, "n_items": 400, "mean_interactions": 20.0}

INTERACTION_TYPES = {
    "user_id": "uint32", "item_id": "uint32", "place": "uint8", "platform": "uint8", "agent": "uint8",
    "timespent": "uint8", "like": "bool", "dislike": "bool", "share": "bool", "bookmark": "bool",
    "click_on_author": "bool", "open_comments": "bool",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return synthetic.generate(tmp_path_factory.mktemp("syn") / "vk", seed=3, **SMALL)


@pytest.fixture(scope="module")
def wide(tmp_path_factory) -> dict[float, Path]:
    """Few users, many items: enough items to measure the content signal."""
    base = tmp_path_factory.mktemp("wide")
    return {s: synthetic.generate(base / f"s{s}", n_users=40, n_items=3000, mean_interactions=5.0,
                                  content_signal=s, seed=1) for s in (0.1, 0.5, 0.9)}


def test_layout_names_columns_and_dtypes(small):
    sub = small / "subsamples" / "synthetic"
    assert sorted(p.name for p in (sub / "train").iterdir()) == [f"week_{w:02d}.parquet" for w in range(25)]
    assert [p.name for p in (sub / "validation").iterdir()] == ["week_25.parquet"]
    for p in list((sub / "train").iterdir()) + [sub / "validation" / "week_25.parquet"]:
        schema = pq.read_schema(p)
        assert {f.name: str(f.type) for f in schema} == INTERACTION_TYPES
    items = pq.read_schema(small / "metadata" / "items_metadata.parquet")
    assert {f.name: str(f.type) for f in items} == {
        "item_id": "uint32", "author_id": "uint32", "duration": "uint8", "train_interactions_rank": "uint32"}
    users = pq.read_schema(small / "metadata" / "users_metadata.parquet")
    assert {f.name: str(f.type) for f in users} == {
        "user_id": "uint32", "age": "uint8", "gender": "uint8", "geo": "uint8", "train_interactions_rank": "uint32"}
    emb = read_npz(small / "metadata" / "item_embeddings.npz")
    assert set(emb) == {"item_id", "embedding"}
    assert emb["item_id"].dtype == np.uint32 and emb["embedding"].dtype == np.float16
    assert emb["embedding"].shape == (len(emb["item_id"]), 64)


def test_planted_counts_match_files(small):
    info = synthetic.info(small)
    df = raw_weeks(small)
    assert len(df) == info["rows"] == sum(info["rows_per_week"])
    assert df.groupby("week").size().tolist() == info["rows_per_week"]
    key = df[["user_id", "item_id", "week"]]
    assert int(key.duplicated().sum()) == info["duplicates"] == synthetic.N_DUPLICATES
    # duplicated rows are exact copies, and apart from them no user-item pair repeats (no re-exposure)
    assert int(df.duplicated().sum()) == synthetic.N_DUPLICATES
    assert not df.drop_duplicates()[["user_id", "item_id"]].duplicated().any()
    assert df.user_id.nunique() == SMALL["n_users"]
    items = pq.read_table(small / "metadata" / "items_metadata.parquet").to_pandas()
    assert len(items) == SMALL["n_items"] + info["extra_items_only_in_metadata"]
    assert set(df.item_id) <= set(items.item_id)
    assert info["zero_duration_items"] == int((items.duration == 0).sum())
    emb = read_npz(small / "metadata" / "item_embeddings.npz")
    assert info["items_without_embedding"] == len(items) - len(emb["item_id"]) > 0
    assert items.duration[items.duration > 0].between(5, 255).all()


def test_same_seed_byte_identical_different_seed_differs(tmp_path, small):
    again = synthetic.generate(tmp_path / "again", seed=3, **SMALL)
    files = sorted(p.relative_to(small) for p in small.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (small / rel).read_bytes() == (again / rel).read_bytes(), rel
    other = synthetic.generate(tmp_path / "other", seed=4, **SMALL)
    for rel in ("subsamples/synthetic/train/week_00.parquet", "metadata/item_embeddings.npz"):
        assert (small / rel).read_bytes() != (other / rel).read_bytes()


def test_npz_is_uncompressed_with_fixed_timestamps(small):
    with zipfile.ZipFile(small / "metadata" / "item_embeddings.npz") as zf:
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)


def _heldout_r2(x: np.ndarray, y: np.ndarray) -> float:
    """R^2 of predicting y from x by least squares fitted on the first half, scored on the second."""
    n = len(x) // 2
    xa = np.c_[x, np.ones(len(x))]
    beta, *_ = np.linalg.lstsq(xa[:n], y[:n], rcond=None)
    resid = y[n:] - xa[n:] @ beta
    return float(1 - (resid ** 2).sum() / ((y[n:] - y[n:].mean(0)) ** 2).sum())


def test_embeddings_carry_the_declared_share_of_item_signal(wide):
    r2 = {}
    for s, root in wide.items():
        truth = read_npz(root / "synthetic_truth.npz")
        emb = read_npz(root / "metadata" / "item_embeddings.npz")
        pos = pd.Index(truth["item_id"]).get_indexer(emb["item_id"])
        r2[s] = _heldout_r2(emb["embedding"].astype(np.float64), truth["item_factors"][pos].astype(np.float64))
        assert r2[s] == pytest.approx(s, abs=0.06), (s, r2[s])
    # the first 32 dimensions (what H1 uses) still carry the signal
    truth = read_npz(wide[0.9] / "synthetic_truth.npz")
    emb = read_npz(wide[0.9] / "metadata" / "item_embeddings.npz")
    pos = pd.Index(truth["item_id"]).get_indexer(emb["item_id"])
    assert _heldout_r2(emb["embedding"][:, :32].astype(np.float64), truth["item_factors"][pos]) > 0.8


def test_content_signal_zero_and_one(tmp_path):
    for s in (0.0, 1.0):
        root = synthetic.generate(tmp_path / f"s{s}", n_users=20, n_items=1500, mean_interactions=3.0,
                                  content_signal=s, seed=2)
        truth = read_npz(root / "synthetic_truth.npz")
        emb = read_npz(root / "metadata" / "item_embeddings.npz")
        pos = pd.Index(truth["item_id"]).get_indexer(emb["item_id"])
        r2 = _heldout_r2(emb["embedding"].astype(np.float64), truth["item_factors"][pos].astype(np.float64))
        assert (r2 < 0.06) if s == 0.0 else (r2 > 0.97), (s, r2)


def test_activity_is_heavy_tailed_and_popularity_skewed(small):
    df = raw_weeks(small).drop_duplicates()
    per_user = df.groupby("user_id").size().sort_values(ascending=False).to_numpy()
    assert per_user[: len(per_user) // 10].sum() / per_user.sum() > 0.3     # top 10 % of users
    assert per_user.max() > 8 * np.median(per_user)
    per_item = df.groupby("item_id").size().sort_values(ascending=False).to_numpy()
    assert per_item[: len(per_item) // 10].sum() / per_item.sum() > 0.3     # top 10 % of items


def test_new_users_arrive_in_later_weeks(small):
    df = raw_weeks(small)
    first = df.groupby("user_id").week.min()
    truth = read_npz(small / "synthetic_truth.npz")
    start = pd.Series(truth["user_start_week"], index=truth["user_id"]).loc[first.index]
    assert (first >= start).all()                      # nobody acts before arriving
    assert 0.1 < (start > 0).mean() < 0.3              # ~20 % arrive after week 0
    assert (first >= 13).sum() > 20
    # the validation week is boosted: more rows than any training week
    info = synthetic.info(small)
    assert info["rows_per_week"][25] > max(info["rows_per_week"][:25])


def test_feedback_increases_with_affinity(small):
    df = raw_weeks(small).drop_duplicates()
    truth = read_npz(small / "synthetic_truth.npz")
    u = truth["user_factors"][pd.Index(truth["user_id"]).get_indexer(df.user_id)]
    v = truth["item_factors"][pd.Index(truth["item_id"]).get_indexer(df.item_id)]
    aff = (u * v).sum(1) / 4.0
    items = pq.read_table(small / "metadata" / "items_metadata.parquet").to_pandas().set_index("item_id")
    dur = df.item_id.map(items.duration).to_numpy().astype(float)
    ok = dur > 0
    p1 = df.timespent.to_numpy()[ok] / dur[ok] >= 0.5
    p2 = (df.like | df.share | df.bookmark).to_numpy()
    assert aff[ok][p1].mean() > aff[ok][~p1].mean() + 0.3
    assert aff[p2].mean() > aff[~p2].mean() + 0.3
    assert 0.3 < p1.mean() < 0.7 and 0.05 < p2.mean() < 0.3


def test_scale_multiplies_users(tmp_path):
    a = synthetic.info(synthetic.generate(tmp_path / "a", n_users=50, n_items=100, mean_interactions=10, scale=1))
    b = synthetic.info(synthetic.generate(tmp_path / "b", n_users=50, n_items=100, mean_interactions=10, scale=3))
    assert b["n_users"] == 3 * a["n_users"] == 150
    assert 2 * a["rows"] < b["rows"] < 4.5 * a["rows"]


def test_generate_replaces_atomically_and_cleans_up_on_failure(tmp_path, monkeypatch):
    root = synthetic.generate(tmp_path / "d", n_users=30, n_items=60, mean_interactions=5)
    before = (root / "SYNTHETIC.json").read_bytes()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synthetic, "_build", boom)
    with pytest.raises(RuntimeError):
        synthetic.generate(root, n_users=30, n_items=60, seed=9)
    assert (root / "SYNTHETIC.json").read_bytes() == before      # old dataset untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]    # no temp dirs left


def test_ensure_generates_once_and_reuses(tmp_path, monkeypatch):
    root = synthetic.ensure(tmp_path, scale=1, seed=0)
    assert root == tmp_path / f"synthetic-vk-x1-s0-v{synthetic.GENERATOR_VERSION}"
    info = json.loads((root / "SYNTHETIC.json").read_text())
    assert (info["n_users"], info["n_items"]) == (synthetic.DEFAULT_USERS, synthetic.DEFAULT_ITEMS)
    monkeypatch.setattr(synthetic, "generate", lambda *a, **k: pytest.fail("regenerated a cached dataset"))
    assert synthetic.ensure(tmp_path, scale=1, seed=0) == root
    assert sorted(p.name for p in tmp_path.iterdir()) == [root.name]


@pytest.mark.parametrize("kwargs, match", [
    ({"content_signal": 1.5}, "content_signal=1.5 must be in"),
    ({"scale": 0}, "scale >= 1"),
    ({"n_items": 5}, "n_items >= 30"),
    ({"mean_interactions": 0.5}, "mean_interactions=0.5"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(HarnessError, match=match):
        synthetic.generate(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()
