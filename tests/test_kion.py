"""MTS KION loader on small files written in the exact KION format (Cyrillic values, NaNs, quoted fields)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data.kion import load
from harness.errors import HarnessError
from harness.spec import Split

INTERACTIONS = """user_id,item_id,last_watch_dt,total_dur,watched_pct
176549,9506,2021-05-11,4250,72.0
176549,1659,2021-05-29,8317,100.0
699317,1659,2021-05-29,8317,
656683,7107,2021-05-09,10,0.0
864613,7638,2021-07-05,14483,100.0
964868,9506,2021-08-22,6725,100.0
176549,9506,2021-08-20,300,4.0
555555,4242,2021-08-16,100,40.0
"""
USERS = """user_id,age,income,sex,kids_flg
973171,age_25_34,income_60_90,М,1
176549,age_35_44,income_20_40,Ж,0
699317,age_25_34,,М,0
656683,age_18_24,income_0_20,,0
864613,age_45_54,income_150_inf,Ж,1
964868,age_65_inf,income_20_40,М,0
"""
ITEMS = """item_id,content_type,title,title_orig,release_year,genres,countries,for_kids,age_rating,studios,directors,actors,description,keywords
10711,film,Поговори с ней,Hable con ella,2002.0,"драмы, зарубежные, детективы, мелодрамы",Испания,,16.0,,Педро Альмодовар,"Адольфо Фернандес, Ана Фернандес","Мелодрама легендарного Педро Альмодовара «Поговори с ней», ""Оскар"" 2003","Поговори, ней, 2002, Испания"
9506,film,Тайна,The Secret,2016.0,"драмы, детективы",США,0.0,16.0,,Джон Доу,,"Описание, с запятой",
1659,series,Сериал,,,мелодрамы,Россия,,12.0,,,,,
7107,film,Без жанра,,1999.0,,США,,,,,,,
7638,film,Мультфильм,,2019.0,мультфильм,Россия,1.0,0.0,,,,,
"""


def _write(d: Path, inter: str = INTERACTIONS, users: str | None = USERS, items: str = ITEMS) -> Path:
    d.mkdir(exist_ok=True)
    (d / "interactions.csv").write_text(inter, encoding="utf-8")
    (d / "items.csv").write_text(items, encoding="utf-8")
    if users is not None:
        (d / "users.csv").write_text(users, encoding="utf-8")
    return d


@pytest.fixture
def kion(tmp_path):
    return load(_write(tmp_path))


def _day(s: str) -> int:
    return int(np.datetime64(s, "D").astype(np.int64))


def test_events_columns_time_and_dedup(kion):
    ev = kion.events
    assert ev.columns.tolist() == ["user", "item", "time", "total_dur", "watched_pct"]
    assert [str(t) for t in ev.dtypes] == ["int32", "int32", "int64", "int64", "float32"]
    assert kion.user_ids.tolist() == [176549, 555555, 656683, 699317, 864613, 964868]
    assert kion.item_ids.tolist() == [1659, 4242, 7107, 7638, 9506]
    assert kion.counts["rows_read"] == 8 and kion.counts["duplicates_removed"] == 1
    # user 176549 watched 9506 twice: the later row (2021-08-20, 300 s, 4 %) is kept
    u0 = ev[ev["user"] == 0]
    assert u0["time"].tolist() == [_day("2021-05-29"), _day("2021-08-20")]
    assert u0["total_dur"].tolist() == [8317, 300] and u0["watched_pct"].tolist() == [100.0, 4.0]
    assert _day("2021-05-11") == 18758


def test_nan_watched_pct_counted_and_not_positive(kion):
    pct = kion.events["watched_pct"].to_numpy()
    assert kion.counts["nan_watched_pct"] == 1 and np.isnan(pct).sum() == 1
    assert kion.default_positives == ("watched_pct>=50",)
    assert int((pct >= 50).sum()) == 3  # NaN compares False


def test_split_is_last_seven_days(kion):
    last = _day("2021-08-22")
    assert kion.default_split == Split.global_time(test_from=last - 6)
    assert kion.default_split.test_from == _day("2021-08-16")
    # 555555 (first seen 08-16) and 964868 (08-22) have no history before the test window
    assert kion.counts["users_only_in_test"] == 2


def test_genre_multi_hot_sorted_vocabulary(kion):
    vocab = sorted(["драмы", "зарубежные", "детективы", "мелодрамы", "мультфильм"])
    X = kion.item_content
    assert X.dtype == np.float32 and X.shape == (5, len(vocab))
    assert kion.content_desc == "genre multi-hot (5 genres)"
    rows = {int(i): X[k] for k, i in enumerate(kion.item_ids)}
    assert [vocab[j] for j in np.flatnonzero(rows[9506])] == sorted(["драмы", "детективы"])
    assert [vocab[j] for j in np.flatnonzero(rows[1659])] == ["мелодрамы"]
    assert rows[4242].sum() == 0 and rows[7107].sum() == 0  # not in items.csv / no genres
    assert kion.item_has_content.tolist() == [True, False, False, True, True]
    assert kion.counts["items_without_metadata"] == 1 and kion.counts["items_without_genres"] == 1


def test_item_meta(kion):
    im = kion.item_meta
    assert im["title"].tolist()[0] == "Сериал" and pd.isna(im["title"].iloc[1])
    assert str(im["release_year"].dtype) == "Int64"
    assert im["release_year"].tolist()[2:] == [1999, 2019, 2016] and pd.isna(im["release_year"].iloc[0])
    assert im["genres"].iloc[4] == "драмы, детективы"
    assert kion.counts["bad_release_year"] == 0


def test_user_meta_cyrillic_and_missing(kion):
    um = kion.user_meta
    assert um.columns.tolist() == ["age", "income", "sex", "kids_flg"]
    assert um["sex"].iloc[0] == "Ж" and um["age"].iloc[0] == "age_35_44"
    assert um["sex"].iloc[3] == "М" and pd.isna(um["income"].iloc[3])  # 699317: empty income
    assert pd.isna(um["sex"].iloc[2])  # 656683: empty sex
    assert pd.isna(um["age"].iloc[1]) and pd.isna(um["kids_flg"].iloc[1])  # 555555 not in users.csv
    assert str(um["kids_flg"].dtype) == "Int64" and um["kids_flg"].iloc[4] == 1
    assert kion.counts["users_without_metadata"] == 1


def test_users_file_optional(tmp_path):
    x = load(_write(tmp_path, users=None))
    assert x.user_meta is None and len(x.events) == 7


def test_missing_directory_and_files(tmp_path):
    with pytest.raises(HarnessError, match=r"kion: data directory not found: .*interactions.csv and items.csv"):
        load(tmp_path / "nope")
    with pytest.raises(HarnessError, match=r"kion: file not found: .*interactions.csv; KION needs"):
        load(tmp_path)
    (tmp_path / "interactions.csv").write_text(INTERACTIONS)
    with pytest.raises(HarnessError, match=r"file not found: .*items.csv"):
        load(tmp_path)


def test_bad_date_names_value_and_line(tmp_path):
    bad = INTERACTIONS.replace("2021-05-09", "2021-13-45")
    with pytest.raises(HarnessError, match=r"interactions.csv: column 'last_watch_dt' has an unparseable date "
                                           r"'2021-13-45' at line 5 \(1 rows\); dates must be YYYY-MM-DD"):
        load(_write(tmp_path, inter=bad))


def test_non_numeric_total_dur(tmp_path):
    bad = INTERACTIONS.replace(",10,0.0", ",ten,0.0")
    with pytest.raises(HarnessError, match=r"interactions.csv: column 'total_dur' has a non-numeric value 'ten' "
                                           r"at line 5"):
        load(_write(tmp_path, inter=bad))


def test_missing_column(tmp_path):
    bad = INTERACTIONS.replace("watched_pct", "pct")
    with pytest.raises(HarnessError, match=r"interactions.csv: missing column\(s\) watched_pct \(found: user_id"):
        load(_write(tmp_path, inter=bad))
    no_genres = ITEMS.replace(",genres,", ",genre,")
    with pytest.raises(HarnessError, match=r"items.csv: missing column\(s\) genres"):
        load(_write(tmp_path, items=no_genres))


def test_empty_interactions(tmp_path):
    with pytest.raises(HarnessError, match=r"interactions.csv: file is empty"):
        load(_write(tmp_path, inter=""))
    with pytest.raises(HarnessError, match=r"interactions.csv: no data rows"):
        load(_write(tmp_path, inter="user_id,item_id,last_watch_dt,total_dur,watched_pct\n"))


def test_bad_kids_flag(tmp_path):
    with pytest.raises(HarnessError, match=r"users.csv: kids_flg must be 0 or 1, found 7 \(user_id 973171\)"):
        load(_write(tmp_path, users=USERS.replace("М,1\n176549", "М,7\n176549")))
