"""Generic CSV/parquet loader and the strict delimited reader the other loaders share."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data.tabular import DEFAULT_SPLIT, keep_last_by_time, load, read_delimited
from harness.errors import HarnessError
from harness.spec import Split


def _csv(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_numeric_time_defaults(tmp_path):
    p = _csv(tmp_path, "user_id,item_id,timestamp,rating\n"
                       "u2,b,30,5\nu1,a,10,3\nu1,b,20,4\nu1,a,40,1\nu2,c,30,2\n")
    x = load(p)
    assert x.name == "events" and x.default_split == DEFAULT_SPLIT == Split.leave_last(5)
    assert x.default_positives == ("rating>=4",)
    assert x.user_ids.tolist() == ["u1", "u2"] and x.item_ids.tolist() == ["a", "b", "c"]
    assert x.counts == {"rows_read": 5, "duplicates_removed": 1}  # (u1, a): the later row wins
    ev = x.events
    assert ev.columns.tolist() == ["user", "item", "time", "rating"]  # rating: read by the positives
    assert ev.dtypes["time"] == np.int64 and ev.dtypes["user"] == np.int32
    # sorted by user, then time; equal times keep file order (u2: b before c)
    assert ev[["user", "item", "time", "rating"]].values.tolist() == [
        [0, 1, 20, 4], [0, 0, 40, 1], [1, 1, 30, 5], [1, 2, 30, 2]]


def test_mapping_extra_custom_positives_and_split(tmp_path):
    p = _csv(tmp_path, "uid\tsku\twhen\tclicked\tprice\n1\t10\t1.5\tTrue\t3.0\n2\t10\t2.5\tFalse\t4.0\n",
             "log.tsv")
    x = load(p, user="uid", item="sku", time="when", extra=("price",), positives=("clicked",),
             split=Split.leave_last(1), name="mine")
    assert x.name == "mine" and x.default_split == Split.leave_last(1)
    assert x.events.columns.tolist() == ["user", "item", "time", "price", "clicked"]
    assert x.events["time"].dtype == np.float64 and x.events["time"].tolist() == [1.5, 2.5]
    assert x.events["clicked"].dtype == bool and x.user_ids.tolist() == [1, 2]


def test_datetime_strings_become_unix_seconds(tmp_path):
    p = _csv(tmp_path, "user_id,item_id,timestamp\n1,7,2021-03-01 10:00:00\n1,8,2021-03-02\n")
    x = load(p, positives=())
    assert x.events["time"].tolist() == [1614592800, 1614643200]
    assert x.events["time"].dtype == np.int64


def test_non_iso_dates_inferred(tmp_path):
    p = _csv(tmp_path, "user_id,item_id,timestamp\n1,7,03/01/2021\n1,8,03/02/2021\n")
    assert load(p, positives=()).events["time"].tolist() == [1614556800, 1614643200]


def test_parquet_with_timestamp_column(tmp_path):
    p = tmp_path / "ev.parquet"
    pd.DataFrame({"user_id": np.array([3, 3, 4], dtype=np.uint32), "item_id": [1, 2, 1],
                  "ts": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-01 00:00:01"], format="ISO8601"),
                  "rating": [5.0, 1.0, 4.0]}).to_parquet(p)
    x = load(p, time="ts")
    assert x.events["time"].tolist() == [1577836800, 1577923200, 1577836801]
    assert int((x.events["rating"] >= 4).sum()) == 2 and x.name == "ev"


def test_missing_mapped_column_lists_available_and_how_to_map(tmp_path):
    p = _csv(tmp_path, "uid,item_id,timestamp\n1,2,3\n")
    with pytest.raises(HarnessError, match=r"events.csv: no user column 'user_id' \(available: uid, item_id, "
                                           r"timestamp\); map your columns with --column user=<col>"):
        load(p)


def test_corrupt_parquet(tmp_path):
    p = tmp_path / "bad.parquet"
    p.write_bytes(b"not parquet at all")
    with pytest.raises(HarnessError, match=r"bad.parquet: not a readable parquet file"):
        load(p)


def test_missing_time_column_explains_mapping(tmp_path):
    p = _csv(tmp_path, "user_id,item_id,rating\n1,2,3\n")
    with pytest.raises(HarnessError, match=r"no time column 'timestamp' .*--column time=<col>.*A time column is "
                                           r"required for a split by time; if the file has none, use --split random "
                                           r"\(per-user seeded holdout\) or --split order"):
        load(p)


def test_parquet_missing_column(tmp_path):
    p = tmp_path / "x.parquet"
    pd.DataFrame({"user": [1], "item_id": [2], "timestamp": [3]}).to_parquet(p)
    with pytest.raises(HarnessError, match=r"no user column 'user_id' \(available: user, item_id, timestamp\)"):
        load(p)


def test_positives_column_absent(tmp_path):
    p = _csv(tmp_path, "user_id,item_id,timestamp\n1,2,3\n")
    with pytest.raises(HarnessError, match=r"positives 'rating>=4' read column 'rating', which the file lacks.*"
                                           r"give --positives"):
        load(p)


def test_extra_column_absent(tmp_path):
    p = _csv(tmp_path, "user_id,item_id,timestamp\n1,2,3\n")
    with pytest.raises(HarnessError, match=r"extra column 'dwell' not found"):
        load(p, extra=("dwell",), positives=())


def test_bad_time_value_names_line(tmp_path):
    p = _csv(tmp_path, "user_id,item_id,timestamp\n1,2,2021-01-01\n1,3,not a date\n")
    with pytest.raises(HarnessError, match=r"time column 'timestamp' has an unparseable value 'not a date' at "
                                           r"line 3 \(1 rows\)"):
        load(p, positives=())


def test_missing_id_names_line(tmp_path):
    p = _csv(tmp_path, "user_id,item_id,timestamp\n1,2,5\n,3,6\n")
    with pytest.raises(HarnessError, match=r"id column 'user_id' has a missing value at line 3"):
        load(p, positives=())


def test_file_errors(tmp_path):
    with pytest.raises(HarnessError, match=r"tabular: file not found: .*nope.csv"):
        load(tmp_path / "nope.csv")
    with pytest.raises(HarnessError, match=r"unsupported file type; use .csv, .tsv or .parquet"):
        load(_csv(tmp_path, "x", "events.json"))
    with pytest.raises(HarnessError, match=r"events.csv: file is empty"):
        load(_csv(tmp_path, ""))
    with pytest.raises(HarnessError, match=r"events.csv: no data rows"):
        load(_csv(tmp_path, "user_id,item_id,timestamp,rating\n"))


def test_keep_last_by_time_ties_keep_file_order():
    u = np.array([1, 1, 1, 2, 1])
    i = np.array([5, 5, 6, 5, 5])
    t = np.array([9, 3, 1, 1, 9])
    assert keep_last_by_time(u, i, t).tolist() == [False, False, True, True, True]


def test_read_delimited_kinds_multichar_sep_and_blank_lines(tmp_path):
    p = tmp_path / "r.dat"
    p.write_text("1::2.0::x\n\n3::4::\n")
    df = read_delimited(p, {"a": "int", "b": "float", "c": "str?"}, sep="::", names=["a", "b", "c"])
    assert df["a"].tolist() == [1, 3] and df["a"].dtype == np.int64 and df["b"].tolist() == [2.0, 4.0]
    assert df["c"].iloc[0] == "x" and pd.isna(df["c"].iloc[1])
    p.write_text("1::2::x\n\n3::oops::y\n")
    with pytest.raises(HarnessError, match=r"r.dat: column 'b' has a non-numeric value 'oops' at line 3"):
        read_delimited(p, {"a": "int", "b": "float"}, sep="::", names=["a", "b", "c"])


def test_read_delimited_encoding_error(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes("id,title\n1,Misérables\n".encode("latin-1"))
    with pytest.raises(HarnessError, match=r"m.csv: not valid utf-8 text at byte \d+; re-save"):
        read_delimited(p, {"id": "int", "title": "str"})
    assert read_delimited(p, {"id": "int", "title": "str"}, encoding="latin-1")["title"].iloc[0] == "Misérables"
