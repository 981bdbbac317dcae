"""Writing the synthetic VK-LSVD (:mod:`harness.data.synthetic`): week files, metadata, embeddings.

:func:`_build` draws the dataset batch by batch through :mod:`harness.data.synthetic_simulation` and
writes it into a directory in the VK-LSVD layout (week parquet files in bounded row groups, item and
user metadata with their training-interaction ranks, the item embeddings), plus ``synthetic_truth.npz``
and ``SYNTHETIC.json``. npz files are written with fixed zip timestamps, so the bytes are reproducible.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.synthetic_simulation import (N_WEEKS, VALIDATION_WEEK, _batch_users, _cold, _items, _rng,
                                               _sample_batch, _sample_cold, _users)

#: Bump when the generated data changes; part of the cache directory name used by
#: :func:`harness.data.synthetic.ensure`.
GENERATOR_VERSION = 3
#: Number of interaction rows written twice (exact duplicates).
N_DUPLICATES = 7

#: Rows buffered per week file before a row group is written (bounds memory when generating at scale).
_ROW_GROUP_ROWS = 1 << 18

_INTERACTION_SCHEMA = pa.schema([
    ("user_id", pa.uint32()), ("item_id", pa.uint32()), ("place", pa.uint8()), ("platform", pa.uint8()),
    ("agent", pa.uint8()), ("timespent", pa.uint8()), ("like", pa.bool_()), ("dislike", pa.bool_()),
    ("share", pa.bool_()), ("bookmark", pa.bool_()), ("click_on_author", pa.bool_()),
    ("open_comments", pa.bool_()),
])


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez`` (uncompressed) but with fixed zip timestamps, so bytes are reproducible."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def _rank(counts: np.ndarray) -> np.ndarray:
    """0 = most interactions; ties broken by position."""
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(len(counts), dtype=np.uint32)
    rank[order] = np.arange(len(counts), dtype=np.uint32)
    return rank


def _build(tmp: Path, *, n_users: int, n_items: int, seed: int, content_signal: float,
           mean_interactions: float, subsample: str, cold_items: int = 0) -> dict:
    n_extra_items, n_extra_users = max(1, n_items // 20), max(1, n_users // 20)
    items = _items(seed, n_items, n_extra_items, content_signal)
    users = _users(seed, n_users, n_extra_users, mean_interactions)
    cold = _cold(seed, cold_items, items, content_signal) if cold_items else None
    all_ids = items["item_id"] if cold is None else np.concatenate([items["item_id"], cold["item_id"]])
    n_all_items = n_items + n_extra_items
    sub = tmp / "subsamples" / subsample
    (sub / "train").mkdir(parents=True)
    (sub / "validation").mkdir(parents=True)
    (tmp / "metadata").mkdir()
    paths = [sub / ("validation" if w == VALIDATION_WEEK else "train") / f"week_{w:02d}.parquet"
             for w in range(N_WEEKS)]
    writers = [pq.ParquetWriter(p, _INTERACTION_SCHEMA) for p in paths]
    pending: list[list[pa.Table]] = [[] for _ in range(N_WEEKS)]   # buffered row groups per week file
    rows_per_week = np.zeros(N_WEEKS, dtype=np.int64)
    train_items = np.zeros(len(all_ids), dtype=np.int64)
    cold_rows = 0
    train_users = np.zeros(n_users + n_extra_users, dtype=np.int64)
    bsz = _batch_users(n_items)
    try:
        for b, lo in enumerate(range(0, n_users, bsz)):
            hi = min(lo + bsz, n_users)
            rng = _rng(seed, 2, b)
            d = _sample_batch(rng, users["u"][lo:hi], users["n_int"][lo:hi], users["start"][lo:hi], items, n_items)
            d["user"] = d["user"] + lo
            n_dup = N_DUPLICATES if b == 0 else 0
            dup = np.sort(rng.choice(len(d["item"]), size=min(n_dup, len(d["item"])), replace=False))
            if cold is not None:  # appended after the duplicates are drawn: the other rows stay as they were
                c = _sample_cold(_rng(seed, 4, b), users["u"][lo:hi], users["n_int"][lo:hi], users["start"][lo:hi],
                                 cold, cold_items / (n_items + cold_items))
                c["user"], c["item"] = c["user"] + lo, c["item"] + n_all_items
                d = {k: np.concatenate([d[k], c[k]]) for k in d}
                cold_rows += len(c["item"])
            is_train = d["week"] < VALIDATION_WEEK
            train_items += np.bincount(d["item"][is_train], minlength=len(train_items))
            train_users += np.bincount(d["user"][is_train], minlength=len(train_users))
            for w in range(N_WEEKS):
                sel = np.flatnonzero(d["week"] == w)
                sel = np.sort(np.concatenate([sel, dup[d["week"][dup] == w]]))
                cols = {"user_id": users["user_id"][d["user"][sel]], "item_id": all_ids[d["item"][sel]]}
                for name in _INTERACTION_SCHEMA.names[2:]:
                    cols[name] = d[name][sel]
                pending[w].append(pa.table(cols, schema=_INTERACTION_SCHEMA))
                rows_per_week[w] += len(sel)
                if sum(t.num_rows for t in pending[w]) >= _ROW_GROUP_ROWS:
                    writers[w].write_table(pa.concat_tables(pending[w]).combine_chunks())
                    pending[w] = []
        for w in range(N_WEEKS):
            if pending[w] or rows_per_week[w] == 0:
                table = pa.concat_tables(pending[w]) if pending[w] else _INTERACTION_SCHEMA.empty_table()
                writers[w].write_table(table.combine_chunks())
    finally:
        for wr in writers:
            wr.close()

    meta = {k: items[k] if cold is None else np.concatenate([items[k], cold[k]])
            for k in ("author_id", "duration", "embedding")}
    pq.write_table(pa.table({
        "item_id": pa.array(all_ids, pa.uint32()),
        "author_id": pa.array(meta["author_id"], pa.uint32()),
        "duration": pa.array(meta["duration"], pa.uint8()),
        "train_interactions_rank": pa.array(_rank(train_items), pa.uint32()),
    }), tmp / "metadata" / "items_metadata.parquet")
    has_meta = users["has_meta"]
    pq.write_table(pa.table({
        "user_id": pa.array(users["user_id"][has_meta], pa.uint32()),
        "age": pa.array(users["age"][has_meta], pa.uint8()),
        "gender": pa.array(users["gender"][has_meta], pa.uint8()),
        "geo": pa.array(users["geo"][has_meta], pa.uint8()),
        "train_interactions_rank": pa.array(_rank(train_users)[has_meta], pa.uint32()),
    }), tmp / "metadata" / "users_metadata.parquet")
    he = items["has_embedding"] if cold is None else np.concatenate([items["has_embedding"],
                                                                      np.ones(cold_items, dtype=bool)])
    _write_npz(tmp / "metadata" / "item_embeddings.npz",
               {"item_id": all_ids[he], "embedding": meta["embedding"][he]})
    _write_npz(tmp / "synthetic_truth.npz", {
        "user_id": users["user_id"], "user_factors": users["u"].astype(np.float32),
        "user_start_week": users["start"].astype(np.uint8),
        "item_id": items["item_id"], "item_factors": items["v"].astype(np.float32),
        "item_bias": items["bias"].astype(np.float32), "projection": items["projection"].astype(np.float32),
        **({} if cold is None else {"cold_item_id": cold["item_id"], "cold_item_factors": cold["v"].astype(np.float32),
                                    "cold_item_bias": cold["bias"].astype(np.float32)}),
    })
    info = {
        "generator_version": GENERATOR_VERSION, "seed": int(seed), "n_users": int(n_users),
        "n_items": int(n_items), "content_signal": float(content_signal),
        "mean_interactions": float(mean_interactions), "subsample": subsample,
        "rows_per_week": [int(x) for x in rows_per_week], "rows": int(rows_per_week.sum()),
        "duplicates": int(min(N_DUPLICATES, rows_per_week.sum())),
        "extra_items_only_in_metadata": int(n_extra_items), "extra_users_only_in_metadata": int(n_extra_users),
        "zero_duration_items": int((items["duration"] == 0).sum()),
        "items_without_embedding": int((~he).sum()),
        "users_without_metadata": int((~has_meta[:n_users]).sum()),
    }
    if cold is not None:
        info.update({"cold_items": int(cold_items), "cold_item_rows": int(cold_rows)})
    (tmp / "SYNTHETIC.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info
