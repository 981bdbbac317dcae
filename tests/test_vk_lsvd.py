"""The VK-LSVD reader, on files written by the synthetic generator."""
from __future__ import annotations

import io
import shutil
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from _vkfiles import raw_weeks, read_npz

from harness.data import synthetic, vk_lsvd
from harness.errors import HarnessError
from harness.spec import Split

SUB = "synthetic"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return synthetic.generate(tmp_path_factory.mktemp("vk") / "root", n_users=250, n_items=300,
                              mean_interactions=15.0, seed=5)


@pytest.fixture(scope="module")
def loaded(source):
    return vk_lsvd.load(source, SUB)


@pytest.fixture
def root(source, tmp_path) -> Path:
    """A private copy to break."""
    return Path(shutil.copytree(source, tmp_path / "root"))


def _week(root: Path, w: int) -> Path:
    return vk_lsvd.week_path(root, SUB, w)


def _rewrite(path: Path, fn) -> None:
    pq.write_table(fn(pq.read_table(path)), path)


def _set_col(table: pa.Table, name: str, arr) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, arr)


def _saveread_npz(path: Path, **arrays) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for k, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a, allow_pickle=True)
            zf.writestr(f"{k}.npy", buf.getvalue())


# ----------------------------------------------------------------------------- round trip
def test_round_trip_rows_ids_dtypes_and_time(source, loaded):
    raw = raw_weeks(source)
    info = synthetic.info(source)
    d = loaded
    assert d.name == "vk-lsvd:synthetic"
    assert d.counts["rows_read"] == len(raw) == info["rows"]
    assert d.counts["duplicates_removed"] == info["duplicates"] == synthetic.N_DUPLICATES
    assert len(d.events) == len(raw.drop_duplicates(["user_id", "item_id", "week"]))
    assert d.counts["n_train_files"] == 25 and d.counts["n_validation_files"] == 1
    assert np.array_equal(d.user_ids, np.unique(raw.user_id)) and d.user_ids.dtype == np.uint32
    assert np.array_equal(d.item_ids, np.unique(raw.item_id))
    assert (d.n_users, d.n_items) == (250, raw.item_id.nunique())
    e = d.events
    assert {c: str(t) for c, t in e.dtypes.items()} == {
        "user": "int32", "item": "int32", "time": "int64", "timespent": "int16", "duration": "float32",
        "watch_ratio": "float32", "like": "bool", "dislike": "bool", "share": "bool", "bookmark": "bool",
        "click_on_author": "bool", "open_comments": "bool"}
    # every deduplicated raw row is an event with the same values, week -> time
    ours = pd.DataFrame({"user_id": d.user_ids[e.user], "item_id": d.item_ids[e.item], "week": e.time,
                         "timespent": e.timespent, "like": e.like, "dislike": e.dislike, "share": e.share,
                         "bookmark": e.bookmark, "click_on_author": e.click_on_author,
                         "open_comments": e.open_comments})
    ref = raw[list(ours.columns)].drop_duplicates().astype(ours.dtypes.to_dict())
    pd.testing.assert_frame_equal(ours.sort_values(list(ours.columns)).reset_index(drop=True),
                                  ref.sort_values(list(ours.columns)).reset_index(drop=True))
    assert sorted(e.time.unique()) == list(range(26))
    assert d.counts["validation_rows"] == int((e.time == 25).sum()) == info["rows_per_week"][25] - \
        int(raw[raw.week == 25].duplicated().sum())
    assert d.default_split == Split.global_time(25)
    assert d.default_positives == ("watch_ratio>=0.5", "like|share|bookmark")
    assert e.time.is_monotonic_increasing


def test_watch_ratio_and_zero_duration(source, loaded):
    e = loaded.events
    items = pq.read_table(source / "metadata" / "items_metadata.parquet").to_pandas().set_index("item_id")
    dur = items.duration.reindex(loaded.item_ids[e.item]).to_numpy().astype(np.float64)
    assert np.array_equal(e.duration.to_numpy(), dur.astype(np.float32))
    zero = dur == 0
    assert zero.sum() == loaded.counts["zero_duration_rows"] > 0
    assert e.watch_ratio[zero].isna().all()
    expected = np.clip(e.timespent.to_numpy()[~zero] / dur[~zero], 0, 10)
    np.testing.assert_allclose(e.watch_ratio.to_numpy()[~zero], expected, rtol=1e-6)
    assert e.watch_ratio.max() <= 10.0
    assert loaded.item_meta.duration.to_numpy().tolist() == \
        items.duration.reindex(loaded.item_ids).astype(np.float32).tolist()
    assert np.array_equal(loaded.item_meta.author_id.to_numpy(), items.author_id.reindex(loaded.item_ids).to_numpy())


def test_embeddings_mapped_to_dense_items_including_missing(source, loaded):
    emb = read_npz(source / "metadata" / "item_embeddings.npz")
    row = pd.Index(emb["item_id"]).get_indexer(loaded.item_ids)
    has = row >= 0
    assert (~has).sum() == loaded.counts["items_without_embeddings"] > 0
    assert np.array_equal(loaded.item_has_content, has)
    assert loaded.item_content.dtype == np.float32 and loaded.item_content.shape == (loaded.n_items, 64)
    assert np.array_equal(loaded.item_content[has], emb["embedding"][row[has]].astype(np.float32))
    assert not loaded.item_content[~has].any()
    assert loaded.content_desc == "VK-LSVD item embeddings (64 dims)"


def test_user_meta_with_missing_users(source, loaded):
    users = pq.read_table(source / "metadata" / "users_metadata.parquet").to_pandas().set_index("user_id")
    um = loaded.user_meta
    assert list(um.index) == list(range(loaded.n_users)) and list(um.columns) == ["age", "gender", "geo"]
    ref = users.reindex(loaded.user_ids)[["age", "gender", "geo"]].astype(np.float32).reset_index(drop=True)
    pd.testing.assert_frame_equal(um, ref)
    assert um.age.isna().sum() == loaded.counts["users_without_metadata"]


def test_weeks_subset_and_fingerprint(source, loaded):
    part = vk_lsvd.load(source, SUB, weeks=range(20, 26), name="last6")
    assert part.name == "last6"
    assert sorted(part.events.time.unique()) == list(range(20, 26))
    assert part.counts["n_train_files"] == 5
    assert part.fingerprint != loaded.fingerprint
    assert vk_lsvd.load(source, SUB).fingerprint == loaded.fingerprint
    only_train = vk_lsvd.load(source, SUB, weeks=range(25))
    assert only_train.counts["n_validation_files"] == 0 and only_train.events.time.max() == 24


def test_duplicate_rows_merge_by_max_timespent_and_any_flag(root):
    path = _week(root, 4)
    t = pq.read_table(path)
    first = t.slice(0, 1).to_pylist()[0]
    twin = dict(first, timespent=min(first["timespent"] + 7, 255), like=not first["like"], share=True)
    pq.write_table(pa.concat_tables([t, pa.Table.from_pylist([twin], schema=t.schema)]), path)
    d = vk_lsvd.load(root, SUB)
    assert d.counts["duplicates_removed"] == synthetic.N_DUPLICATES + 1
    e = d.events
    hit = e[(d.user_ids[e.user] == first["user_id"]) & (d.item_ids[e.item] == first["item_id"]) & (e.time == 4)]
    assert len(hit) == 1
    assert hit.timespent.iloc[0] == twin["timespent"]
    assert bool(hit.like.iloc[0]) and bool(hit.share.iloc[0])


# ----------------------------------------------------------------------------- projection and casting
def test_reads_only_needed_columns(root):
    # a broken column the reader does not need (and an extra one) must not matter
    for w in (0, 25):
        _rewrite(_week(root, w), lambda t: _set_col(t, "place", pa.array(["x"] * len(t))).append_column(
            "extra", pa.array(np.arange(len(t)))))
    d = vk_lsvd.load(root, SUB)
    assert d.counts["rows_read"] == synthetic.info(root)["rows"]


def test_castable_types_are_accepted(root, loaded):
    _rewrite(_week(root, 2), lambda t: _set_col(_set_col(t, "user_id", t["user_id"].cast(pa.int64())),
                                                "like", t["like"].cast(pa.int8())))
    _rewrite(_week(root, 3), lambda t: _set_col(t, "timespent", t["timespent"].cast(pa.float64())))
    d = vk_lsvd.load(root, SUB)
    pd.testing.assert_frame_equal(d.events, loaded.events)


def test_missing_needed_column(root):
    _rewrite(_week(root, 3), lambda t: t.drop_columns(["like"]))
    with pytest.raises(HarnessError, match=r"week_03\.parquet: missing column\(s\) like"):
        vk_lsvd.load(root, SUB)


@pytest.mark.parametrize("col, arr, match", [
    ("user_id", lambda n: pa.array(["u"] * n), (r"week_03\.parquet: column 'user_id' has type string that cannot "
                                               r"be read as uint32")),
    ("item_id", lambda n: pa.array(-np.arange(1, n + 1)), r"column 'item_id' has type int64 that cannot be read"),
    ("like", lambda n: pa.array([[1]] * n), r"column 'like' has type list<\w+: int64> that cannot be read as bool"),
    ("timespent", lambda n: pa.array(np.r_[np.nan, np.ones(n - 1)]), r"week_03\.parquet: column 'timespent' has NaN"),
    ("timespent", lambda n: pa.array(np.r_[-3, np.ones(n - 1, dtype=np.int64)]),
     r"week_03\.parquet: column 'timespent' has negative values \(min -3\)"),
    ("share", lambda n: pa.array([None] + [True] * (n - 1)), r"column 'share' has 1 missing values"),
])
def test_bad_column_values(root, col, arr, match):
    _rewrite(_week(root, 3), lambda t: _set_col(t, col, arr(len(t))))
    with pytest.raises(HarnessError, match=match):
        vk_lsvd.load(root, SUB)


def test_corrupt_parquet(root):
    _week(root, 7).write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(HarnessError, match=r"week_07\.parquet: cannot read parquet file .*re-download"):
        vk_lsvd.load(root, SUB)


def test_truncated_parquet(root):
    path = _week(root, 8)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(HarnessError, match=r"week_08\.parquet: cannot read parquet file"):
        vk_lsvd.load(root, SUB)


# ----------------------------------------------------------------------------- missing files / empty weeks
def test_missing_root(tmp_path):
    with pytest.raises(HarnessError,
                       match=r"VK-LSVD root .*nope does not exist; download .*pip install huggingface_hub"):
        vk_lsvd.load(tmp_path / "nope", SUB)


def test_unknown_subsample_lists_available(root):
    with pytest.raises(HarnessError, match=r"no such VK-LSVD subsample\. Unknown subsample 'synthetc'\. "
                                           r"Did you mean: synthetic\? Available: synthetic"):
        vk_lsvd.load(root, "synthetc")


def test_missing_week_files_named(root):
    _week(root, 3).unlink()
    _week(root, 25).unlink()
    with pytest.raises(HarnessError,
                       match=r"missing week file\(s\) train/week_03\.parquet, validation/week_25\.parquet"):
        vk_lsvd.load(root, SUB)
    assert vk_lsvd.load(root, SUB, weeks=range(4, 25)).counts["n_train_files"] == 21


@pytest.mark.parametrize("name", ["items_metadata.parquet", "users_metadata.parquet", "item_embeddings.npz"])
def test_missing_metadata_file(root, name):
    (root / "metadata" / name).unlink()
    with pytest.raises(HarnessError, match=rf"VK-LSVD metadata: file not found: .*{name}"):
        vk_lsvd.load(root, SUB)


def test_bad_weeks_argument(root):
    with pytest.raises(HarnessError, match=r"weeks=range\(20, 30\) must be a non-empty range within 0\.\.25"):
        vk_lsvd.load(root, SUB, weeks=range(20, 30))


def test_empty_train(root):
    for w in range(25):
        _rewrite(_week(root, w), lambda t: t.slice(0, 0))
    with pytest.raises(HarnessError, match=r"training week files hold no interactions"):
        vk_lsvd.load(root, SUB)


def test_empty_validation(root):
    _rewrite(_week(root, 25), lambda t: t.slice(0, 0))
    with pytest.raises(HarnessError, match=r"week_25\.parquet: the validation week holds no interactions"):
        vk_lsvd.load(root, SUB)


# ----------------------------------------------------------------------------- metadata problems
def test_items_missing_from_metadata_get_nan_duration(root, loaded):
    path = root / "metadata" / "items_metadata.parquet"
    gone = loaded.item_ids[:3]
    _rewrite(path, lambda t: t.filter(pa.compute.invert(pa.compute.is_in(t["item_id"], pa.array(gone)))))
    d = vk_lsvd.load(root, SUB)
    assert d.counts["items_without_metadata"] == 3
    miss = np.isin(d.item_ids[d.events.item], gone)
    assert d.counts["missing_duration_rows"] == miss.sum() > 0
    assert d.events.duration[miss].isna().all() and d.events.watch_ratio[miss].isna().all()
    assert d.item_meta.iloc[:3].isna().all().all()


def test_metadata_wrong_id_type(root):
    _rewrite(root / "metadata" / "users_metadata.parquet",
             lambda t: _set_col(t, "user_id", t["user_id"].cast(pa.string())))
    with pytest.raises(HarnessError, match=r"users_metadata\.parquet: column 'user_id' has type string"):
        vk_lsvd.load(root, SUB)


def test_metadata_missing_column(root):
    _rewrite(root / "metadata" / "items_metadata.parquet", lambda t: t.drop_columns(["duration"]))
    with pytest.raises(HarnessError, match=r"items_metadata\.parquet: missing column\(s\) duration"):
        vk_lsvd.load(root, SUB)


def _emb_path(root: Path) -> Path:
    return root / "metadata" / "item_embeddings.npz"


def test_embeddings_ragged_rows(root):
    ids = read_npz(_emb_path(root))["item_id"]
    ragged = np.empty(len(ids), dtype=object)
    ragged[:] = [np.zeros(64 if i else 32, np.float16) for i in range(len(ids))]
    _saveread_npz(_emb_path(root), item_id=ids, embedding=ragged)
    with pytest.raises(HarnessError, match=r"item_embeddings\.npz: 'embedding' is an object array \(rows of "
                                           r"different dimensions\?\)"):
        vk_lsvd.load(root, SUB)


def test_embeddings_mismatched_arrays(root):
    z = read_npz(_emb_path(root))
    _saveread_npz(_emb_path(root), item_id=z["item_id"][:-5], embedding=z["embedding"])
    with pytest.raises(HarnessError, match=r"'item_id' has \d+ entries but 'embedding' has \d+ rows"):
        vk_lsvd.load(root, SUB)


def test_embeddings_wrong_shape(root):
    z = read_npz(_emb_path(root))
    _saveread_npz(_emb_path(root), item_id=z["item_id"], embedding=z["embedding"][:, 0])
    with pytest.raises(HarnessError, match=r"'embedding' has shape \(\d+,\); expected \(n_items, dim\)"):
        vk_lsvd.load(root, SUB)


def test_embeddings_missing_array(root):
    z = read_npz(_emb_path(root))
    _saveread_npz(_emb_path(root), item_id=z["item_id"], emb=z["embedding"])
    with pytest.raises(HarnessError, match=r"array 'embedding' missing \(found: emb, item_id\)"):
        vk_lsvd.load(root, SUB)


def test_embeddings_not_a_zip(root):
    _emb_path(root).write_bytes(b"garbage")
    with pytest.raises(HarnessError, match=r"item_embeddings\.npz: not a readable \.npz"):
        vk_lsvd.load(root, SUB)


def test_embeddings_compressed_and_other_dim_still_read(root, loaded):
    z = read_npz(_emb_path(root))
    np.savez_compressed(_emb_path(root), item_id=z["item_id"], embedding=z["embedding"][:, :48].astype(np.float32))
    d = vk_lsvd.load(root, SUB)
    assert d.content_desc == "VK-LSVD item embeddings (48 dims)"
    assert np.array_equal(d.item_content, loaded.item_content[:, :48])


def test_nonfinite_embedding_rows_dropped(root, loaded):
    z = read_npz(_emb_path(root))
    emb = z["embedding"].copy()
    target = loaded.item_ids[loaded.item_has_content][0]
    emb[np.flatnonzero(z["item_id"] == target)[0], 5] = np.nan
    _saveread_npz(_emb_path(root), item_id=z["item_id"], embedding=emb)
    d = vk_lsvd.load(root, SUB)
    assert d.counts["items_nonfinite_embeddings"] == 1
    k = int(np.flatnonzero(d.item_ids == target)[0])
    assert not d.item_has_content[k] and not d.item_content[k].any()


# ----------------------------------------------------------------------------- download
def test_download_without_huggingface_hub(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(HarnessError, match=r"needs huggingface_hub: pip install huggingface_hub"):
        vk_lsvd.download(tmp_path / "vk", "up0.001_ip0.001")
    with pytest.raises(HarnessError, match=r"pip install huggingface_hub"):
        vk_lsvd.load(tmp_path / "vk", "up0.001_ip0.001", download=True)


def test_download_is_only_used_when_asked(source, tmp_path, monkeypatch):
    calls = []

    def snapshot_download(repo_id, repo_type, local_dir, allow_patterns):
        calls.append((repo_id, repo_type, sorted(allow_patterns)))
        for rel in allow_patterns:
            dst = Path(local_dir) / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source / rel.replace("up0.1", SUB), dst)

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(snapshot_download=snapshot_download))
    with pytest.raises(HarnessError, match="does not exist"):
        vk_lsvd.load(tmp_path / "vk", "up0.1")
    assert calls == []
    d = vk_lsvd.load(tmp_path / "vk", "up0.1", download=True)
    assert len(calls) == 1
    repo, kind, patterns = calls[0]
    assert (repo, kind) == ("deepvk/VK-LSVD", "dataset")
    assert "subsamples/up0.1/validation/week_25.parquet" in patterns
    assert "metadata/item_embeddings.npz" in patterns and len(patterns) == 26 + 3
    assert d.counts["rows_read"] == synthetic.info(source)["rows"]
    vk_lsvd.load(tmp_path / "vk", "up0.1", download=True)       # complete now: no second download
    assert len(calls) == 1


def test_download_failure_is_one_line(tmp_path, monkeypatch):
    def snapshot_download(**kwargs):
        raise OSError("Temporary failure in name resolution\nmore details")

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(snapshot_download=snapshot_download))
    with pytest.raises(HarnessError, match=r"download of subsample 'x' from deepvk/VK-LSVD .* failed \(OSError: "
                                           r"Temporary failure in name resolution\); check network") as err:
        vk_lsvd.download(tmp_path, "x")
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- vectorised internals
def test_dedup_packed_and_argsort_paths_match_groupby_reference():
    rng = np.random.default_rng(0)
    n = 5000
    user = rng.integers(0, 30, n).astype(np.int32)
    item = rng.integers(0, 20, n).astype(np.int32)
    week = rng.integers(0, 26, n).astype(np.uint8)
    spent = rng.integers(0, 300, n).astype(np.int16)
    flags = rng.integers(0, 16, n).astype(np.uint8)
    ref = (pd.DataFrame({"w": week.astype(np.int64), "u": user, "i": item, "s": spent, "f": flags})
           .groupby(["w", "u", "i"], sort=True)
           .agg(s=("s", "max"), f=("f", lambda x: np.bitwise_or.reduce(x.to_numpy())))
           .reset_index())
    packed = vk_lsvd._dedup(user, item, week, spent, flags, 30, 20)
    general = vk_lsvd._dedup(user, item, week, spent, flags, 30, 20 << 40)     # key space too big to pack
    for out in (packed, general):
        u, i, w, s, f, n_dup = out
        assert n_dup == n - len(ref)
        assert np.array_equal(w, ref.w) and np.array_equal(u, ref.u) and np.array_equal(i, ref.i)
        assert np.array_equal(s, ref.s) and np.array_equal(f, ref.f)
        assert s.dtype == np.int16 and u.dtype == np.int32 and w.dtype == np.int64


@pytest.mark.parametrize("top", [1000, 4_000_000_000])
def test_encode_matches_np_unique(top):
    raw = np.random.default_rng(1).integers(0, top, 10_000).astype(np.uint32)
    codes, uniq = vk_lsvd._encode(raw)
    ref_u, ref_c = np.unique(raw, return_inverse=True)
    assert np.array_equal(uniq, ref_u) and uniq.dtype == np.uint32
    assert np.array_equal(codes, ref_c) and codes.dtype == np.int32


def test_timespent_too_large(root):
    _rewrite(_week(root, 6), lambda t: _set_col(t, "timespent", pa.array(np.full(len(t), 40000, dtype=np.int64))))
    with pytest.raises(HarnessError, match=r"week_06\.parquet: timespent values up to 40000 s"):
        vk_lsvd.load(root, SUB)


def test_optional_engagement_flags_kept_only_when_every_file_has_them(root, loaded):
    raw = raw_weeks(root)
    e = loaded.events
    assert int(e.open_comments.sum()) == int(raw.drop_duplicates(["user_id", "item_id", "week"]).open_comments.sum()) > 0
    _rewrite(_week(root, 3), lambda t: t.drop_columns(["open_comments"]))
    d = vk_lsvd.load(root, SUB)
    assert "open_comments" not in d.events.columns and "click_on_author" in d.events.columns
    assert d.events.click_on_author.sum() == loaded.events.click_on_author.sum()
