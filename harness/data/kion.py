"""MTS KION (the MTS Library / KION recsys-challenge data): ``interactions.csv``, ``users.csv``, ``items.csv``.

Files (comma-separated, UTF-8, header row)
------------------------------------------
``interactions.csv``: user_id, item_id, last_watch_dt (YYYY-MM-DD), total_dur (seconds watched),
watched_pct (0-100, may be empty). Required.
``items.csv``: item_id, genres (comma-separated, e.g. "драмы, зарубежные") and optionally
content_type, title, title_orig, release_year, countries, for_kids, age_rating, studios, directors,
actors, description, keywords. Required.
``users.csv``: user_id, age (bands like 'age_25_34'), income ('income_20_40'), sex ('М'/'Ж'),
kids_flg (0/1). Optional (then ``user_meta`` is None).

Returned :class:`~harness.data.base.Interactions`
------------------------------------------------
- ``events``: ``user``, ``item`` (dense int32), ``time`` (int64, days since 1970-01-01 of
  last_watch_dt), ``total_dur`` (int64 seconds), ``watched_pct`` (float32, NaN where missing:
  ``counts["nan_watched_pct"]``), sorted by user then time; a repeated (user, item) pair keeps the
  row latest in time.
- ``item_content``: genre multi-hot float32 (n_items, n_genres); the columns are the sorted set of
  genre names found in items.csv (the raw string stays in ``item_meta["genres"]``).
- ``user_meta``: age, income, sex (str), kids_flg (Int64); ``item_meta``: the optional items.csv
  columns present (release_year as Int64) plus genres.
- ``default_positives = ("watched_pct>=50",)``: the user watched at least half of the item (the
  usual KION relevance rule; rows with NaN watched_pct are never positive).
- ``default_split = Split.global_time(test_from=max_day - 6)``: the last 7 days of the data are test.
  Users whose first interaction falls in the test window have no training history; the split
  excludes them and ``counts["users_only_in_test"]`` says how many there are.
- ``counts``: ``rows_read``, ``duplicates_removed``, ``nan_watched_pct``, ``users_only_in_test``,
  ``bad_release_year`` (when items.csv has release_year), ``items_without_metadata``,
  ``items_without_genres``, ``users_without_metadata`` (when users.csv is read).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.base import (Interactions, encode_ids, keep_last_by_time, lookup,
                                require_file)
from harness.data.delimited import header_columns, read_delimited
from harness.data.tokens import multi_hot
from harness.data.identity import fingerprint_files
from harness.errors import HarnessError
from harness.spec import Split

DEFAULT_POSITIVES = ("watched_pct>=50",)
TEST_DAYS = 7
_ITEM_META = ("content_type", "title", "title_orig", "release_year", "countries", "for_kids", "age_rating",
              "studios", "directors")
_GET = ("fetch it with 'python -m harness data fetch kion', or download the KION data "
        "(github.com/irsafilo/KION_DATASET or the MTS Teta 'data_original' archive) and pass --data-dir to the folder")


def _days(raw: pd.Series, path: Path, lines: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD' strings -> int64 days since 1970-01-01; bad values raise naming the line."""
    dt = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
    bad = dt.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise HarnessError(f"{path}: column 'last_watch_dt' has an unparseable date {raw.iloc[i]!r} at line "
                           f"{lines[i]} ({int(bad.sum())} rows); dates must be YYYY-MM-DD")
    return dt.to_numpy().astype("datetime64[D]").astype(np.int64)


def genre_multi_hot(genres: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Multi-hot float32 (len(genres), V) from comma-separated genre strings; V = sorted vocabulary
    (:func:`harness.data.tokens.multi_hot`)."""
    return multi_hot(genres, ",")


def load(data_dir: Path, name: str = "kion") -> Interactions:
    """Load MTS KION from ``data_dir`` (see the module docstring for files, columns and defaults)."""
    d = Path(data_dir)
    needs = "interactions.csv and items.csv (users.csv optional)"
    if not d.is_dir():
        raise HarnessError(f"{name}: data directory not found: {d}; it must hold {needs}; {_GET}")
    if not (d / "interactions.csv").is_file() and (d / "data_original").is_dir():
        d = d / "data_original"
    inter_p = require_file(d / "interactions.csv", name, f"KION needs {needs}; {_GET}")
    items_p = require_file(d / "items.csv", name, f"KION needs {needs}; {_GET}")
    users_p = d / "users.csv"

    ev = read_delimited(inter_p, {"user_id": "int", "item_id": "int", "last_watch_dt": "str", "total_dur": "int",
                                  "watched_pct": "float?"})
    u_raw = ev["user_id"].to_numpy(np.int64)
    i_raw = ev["item_id"].to_numpy(np.int64)
    t = _days(ev["last_watch_dt"], inter_p, np.arange(len(ev)) + 2)
    keep = keep_last_by_time(u_raw, i_raw, t)
    ucode, user_ids = encode_ids(u_raw[keep])
    icode, item_ids = encode_ids(i_raw[keep])
    t = t[keep]
    order = np.lexsort((np.arange(len(t)), t, ucode))
    pct = ev["watched_pct"].to_numpy(np.float32)[keep][order]
    events = pd.DataFrame({"user": ucode[order], "item": icode[order], "time": t[order],
                           "total_dur": ev["total_dur"].to_numpy(np.int64)[keep][order], "watched_pct": pct})
    max_day = int(events["time"].max())
    test_from = max_day - (TEST_DAYS - 1)
    first_day = np.full(len(user_ids), np.iinfo(np.int64).max)
    np.minimum.at(first_day, events["user"].to_numpy(), events["time"].to_numpy())
    counts = {"rows_read": len(ev), "duplicates_removed": int(len(ev) - int(keep.sum())),
              "nan_watched_pct": int(np.isnan(pct).sum()), "users_only_in_test": int((first_day >= test_from).sum())}

    have = header_columns(items_p)
    meta_cols = [c for c in _ITEM_META if c in have]
    it = read_delimited(items_p, {"item_id": "int", "genres": "str?", **{c: "str?" for c in meta_cols}})
    dup = it["item_id"].duplicated()
    if dup.any():
        raise HarnessError(f"{items_p}: item_id {it['item_id'][dup].iloc[0]} appears more than once; "
                           "ids in items.csv must be unique")
    multi_hot, vocab = genre_multi_hot(it["genres"])
    srt = np.argsort(it["item_id"].to_numpy(), kind="stable")
    pos = lookup(it["item_id"].to_numpy()[srt], item_ids)
    found = pos >= 0
    rows = srt[np.where(found, pos, 0)]
    item_content = np.where(found[:, None], multi_hot[rows], 0).astype(np.float32)
    has = found & (item_content.sum(axis=1) > 0)
    sel = it.iloc[rows].reset_index(drop=True)
    item_meta = pd.DataFrame(index=pd.RangeIndex(len(item_ids)))
    for c in [*meta_cols, "genres"]:
        if c == "release_year":
            yr = pd.to_numeric(sel[c], errors="coerce")
            whole = yr.notna() & (yr == yr.round())
            counts["bad_release_year"] = int((found & sel[c].notna().to_numpy() & ~whole.to_numpy()).sum())
            item_meta[c] = yr.where(whole).astype("Int64").where(found, pd.NA)
        else:
            item_meta[c] = sel[c].where(found, None)
    counts["items_without_metadata"] = int((~found).sum())
    counts["items_without_genres"] = int((found & ~has).sum())

    user_meta = None
    files = [inter_p, items_p]
    if users_p.is_file():
        us = read_delimited(users_p, {"user_id": "int", "age": "str?", "income": "str?", "sex": "str?",
                                      "kids_flg": "float?"})
        if us["user_id"].duplicated().any():
            raise HarnessError(f"{users_p}: user_id {us['user_id'][us['user_id'].duplicated()].iloc[0]} appears "
                               "more than once; ids in users.csv must be unique")
        us_srt = np.argsort(us["user_id"].to_numpy(), kind="stable")
        upos = lookup(us["user_id"].to_numpy()[us_srt], user_ids)
        ufound = upos >= 0
        usel = us.iloc[us_srt[np.where(ufound, upos, 0)]].reset_index(drop=True)
        kids = usel["kids_flg"]
        odd = us["kids_flg"].notna() & ~us["kids_flg"].isin([0.0, 1.0])
        if odd.any():
            raise HarnessError(f"{users_p}: kids_flg must be 0 or 1, found {us['kids_flg'][odd].iloc[0]:g} "
                               f"(user_id {us['user_id'][odd].iloc[0]}); fix users.csv")
        user_meta = pd.DataFrame({"age": usel["age"].where(ufound, None),
                                  "income": usel["income"].where(ufound, None),
                                  "sex": usel["sex"].where(ufound, None),
                                  "kids_flg": kids.astype("Int64").where(ufound, pd.NA)})
        counts["users_without_metadata"] = int((~ufound).sum())
        files.append(users_p)
    return Interactions(
        name=name, events=events, user_ids=user_ids, item_ids=item_ids,
        default_positives=DEFAULT_POSITIVES, default_split=Split.global_time(test_from=test_from),
        fingerprint=fingerprint_files(files), item_content=item_content, item_has_content=has,
        content_desc=f"genre multi-hot ({len(vocab)} genres)", user_meta=user_meta, item_meta=item_meta,
        counts=counts, content_names=tuple(str(g) for g in vocab))
