"""MovieLens loaders: real ML-100K (its published numbers; skipped when absent), the generated
MovieLens-format fixture in both 100K layouts and ML-1M, ml-latest on small files in their exact
formats, and every bad-input message."""
from __future__ import annotations

import csv
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data import mlfixture, movielens
from harness.data.movielens import GENRES_1M, GENRES_100K, GENRES_LATEST, load_1m, load_100k, load_latest
from harness.errors import HarnessError
from harness.spec import Split



def _raw(name: str, directory: Path | None = None) -> list[list[str]]:
    """Rows of a RecBole file (header dropped), read with the csv module: an independent reference."""
    from conftest import ML100K_REAL

    with open((directory or ML100K_REAL) / name, encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


@pytest.fixture(scope="module")
def ml100k(ml100k_real):
    """The real ML-100K (these tests assert its published numbers); skipped when absent."""
    return ml100k_real


# --------------------------------------------------------------------------- real ML-100K
def test_ml100k_sizes_and_dtypes(ml100k):
    ev = ml100k.events
    assert len(ev) == 100_000 and ml100k.n_users == 943 and ml100k.n_items == 1682
    assert ev.columns.tolist() == ["user", "item", "time", "rating"]
    assert [str(t) for t in ev.dtypes] == ["int32", "int32", "int64", "float32"]
    assert ml100k.counts["rows_read"] == 100_000 and ml100k.counts["duplicates_removed"] == 0
    assert ml100k.default_positives == ("rating>=4",)
    assert ml100k.default_split == Split.leave_last(10, min_train=5)
    assert len(ml100k.fingerprint) == 16
    # sorted by user, then time
    u, t = ev["user"].to_numpy(), ev["time"].to_numpy()
    assert np.all(np.diff(u) >= 0) and np.all((np.diff(u) > 0) | (np.diff(t) >= 0))


def test_ml100k_positives_match_raw_file(ml100k):
    rows = _raw("ml-100k.inter")
    n_pos = sum(float(r[2]) >= 4 for r in rows)
    assert n_pos == 55_375
    assert int((ml100k.events["rating"] >= 4).sum()) == n_pos
    # one row checked end to end: 196 242 3 881250949
    ev = ml100k.events
    u = np.searchsorted(ml100k.user_ids, 196)
    i = np.searchsorted(ml100k.item_ids, 242)
    row = ev[(ev["user"] == u) & (ev["item"] == i)]
    assert row["time"].tolist() == [881250949] and row["rating"].tolist() == [3.0]


def test_ml100k_genres_match_raw_file(ml100k):
    X = ml100k.item_content
    assert X.shape == (1682, 19) and X.dtype == np.float32
    assert X.sum(axis=1).min() >= 1 and ml100k.item_has_content.all()
    assert ml100k.content_desc == "genre one-hot (19 genres)"
    expected = np.zeros_like(X)
    for r in _raw("ml-100k.item"):
        row = np.searchsorted(ml100k.item_ids, int(r[0]))
        for g in r[3].split(" "):
            expected[row, GENRES_100K.index(g)] = 1
    np.testing.assert_array_equal(X, expected)
    toy = np.searchsorted(ml100k.item_ids, 1)
    assert [GENRES_100K[j] for j in np.flatnonzero(X[toy])] == ["Animation", "Children's", "Comedy"]
    assert X[:, 0].sum() == 2  # 'unknown'


def test_ml100k_bad_release_years_counted(ml100k):
    bad = {int(r[0]) for r in _raw("ml-100k.item") if not (r[2].isdigit() and len(r[2]) == 4)}
    assert bad == {267, 1412}  # 'unkonwn' and 'V'
    years = ml100k.item_meta["release_year"]
    assert str(years.dtype) == "Int64"
    assert set(ml100k.item_ids[years.isna().to_numpy()].tolist()) == bad
    assert ml100k.counts["bad_release_year"] == 2
    toy = np.searchsorted(ml100k.item_ids, 1)
    assert years.iloc[toy] == 1995 and ml100k.item_meta["title"].iloc[toy] == "Toy Story"


def test_ml100k_user_meta(ml100k):
    um = ml100k.user_meta
    assert len(um) == 943 and ml100k.counts["users_without_metadata"] == 0
    first = np.searchsorted(ml100k.user_ids, 1)
    assert (um["age"].iloc[first], um["gender"].iloc[first], um["occupation"].iloc[first]) == (24, "M", "technician")
    assert um["gender"].value_counts().to_dict() == {"M": 670, "F": 273}


def _write_grouplens(src: Path, dst: Path) -> None:
    """GroupLens u.data / u.item (latin-1, 19 flags) / u.user made from RecBole files."""
    dst.mkdir()

    def read(n: str) -> list[list[str]]:
        with open(src / n, encoding="utf-8", newline="") as f:
            return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]

    with open(dst / "u.data", "w") as f:
        f.writelines("\t".join(r) + "\n" for r in read("ml-100k.inter"))
    lines = []
    for iid, title, year, cls in read("ml-100k.item"):
        date = f"01-Jan-{year}" if year.isdigit() else ""
        flags = "|".join("1" if g in cls.split(" ") else "0" for g in GENRES_100K)
        lines.append(f"{iid}|{title} ({year})|{date}||http://us.imdb.com/x|{flags}\n")
    (dst / "u.item").write_bytes("".join(lines).encode("latin-1"))
    with open(dst / "u.user", "w") as f:
        f.writelines("|".join(r) + "\n" for r in read("ml-100k.user"))


def _assert_same(a, b) -> None:
    for fld in fields(a):
        if fld.name == "fingerprint":
            continue
        x, y = getattr(a, fld.name), getattr(b, fld.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
            assert x.dtype == y.dtype
        else:
            assert x == y, fld.name


def test_recbole_and_grouplens_layouts_are_identical(ml100k_dir, tmp_path):
    """The fixture's RecBole files, its own GroupLens files and GroupLens files converted here all agree."""
    rb = load_100k(ml100k_dir)
    _write_grouplens(ml100k_dir, tmp_path / "gl")
    gl = load_100k(tmp_path / "gl")
    _assert_same(rb, gl)
    assert gl.fingerprint != rb.fingerprint
    own = load_100k(mlfixture.write_100k(tmp_path / "own", layout="grouplens"))
    _assert_same(rb, own)


# --------------------------------------------------------------------------- the generated fixture
def test_fixture_matches_its_raw_files(ml100k_dir):
    """Loader output against the RecBole files read with the csv module: ratings, genres, bad years."""
    fx = load_100k(ml100k_dir)
    rows = _raw("ml-100k.inter", ml100k_dir)
    assert len(fx.events) == len(rows) == fx.counts["rows_read"] and fx.counts["duplicates_removed"] == 0
    assert int((fx.events["rating"] >= 4).sum()) == sum(float(r[2]) >= 4 for r in rows)
    assert (fx.n_users, fx.n_items) == (300, 400)
    per_user = np.bincount(fx.events["user"].to_numpy())
    assert per_user.min() >= 20  # like ML-100K: every user has >= 20 ratings
    u, t = fx.events["user"].to_numpy(), fx.events["time"].to_numpy()
    assert np.all(np.diff(u) >= 0) and np.all((np.diff(u) > 0) | (np.diff(t) >= 0))
    expected = np.zeros_like(fx.item_content)
    for r in _raw("ml-100k.item", ml100k_dir):
        for g in r[3].split(" "):
            expected[np.searchsorted(fx.item_ids, int(r[0])), GENRES_100K.index(g)] = 1
    np.testing.assert_array_equal(fx.item_content, expected)
    years = fx.item_meta["release_year"]
    bad = {int(r[0]) for r in _raw("ml-100k.item", ml100k_dir) if not (r[2].isdigit() and len(r[2]) == 4)}
    assert bad == {mlfixture.UNKNOWN_ITEM, mlfixture.V_ITEM}  # 'unkonwn' and 'V', as in RecBole's ML-100K
    assert set(fx.item_ids[years.isna().to_numpy()].tolist()) == bad and fx.counts["bad_release_year"] == 2
    assert fx.item_meta["title"].iloc[6] == "Café Seven"
    assert len(fx.user_meta) == 300 and fx.counts["users_without_metadata"] == 0


def test_fixture_is_deterministic_and_ml1m_format_loads(tmp_path):
    a = mlfixture.write_100k(tmp_path / "a", n_users=40)
    b = mlfixture.write_100k(tmp_path / "b", n_users=40)
    assert (a / "ml-100k.inter").read_bytes() == (b / "ml-100k.inter").read_bytes()
    assert (a / "ml-100k.inter").read_bytes() != mlfixture.write_100k(tmp_path / "c", n_users=40, seed=1).joinpath(
        "ml-100k.inter").read_bytes()
    one = load_1m(mlfixture.write_1m(tmp_path / "m1", n_users=40))
    hundred = load_100k(a)
    np.testing.assert_array_equal(one.events[["user", "item", "time"]].to_numpy(),
                                  hundred.events[["user", "item", "time"]].to_numpy())
    assert one.item_content.shape == (hundred.n_items, 18) and one.counts["bad_release_year"] == 0
    assert set(one.user_meta["age"].unique()) <= set(mlfixture.AGE_BANDS_1M)


# --------------------------------------------------------------------------- small RecBole / GroupLens files
INTER_HEAD = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
ITEM_HEAD = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"


def _recbole(d: Path, inter: str, item: str | None = None, user: str | None = None) -> Path:
    d.mkdir(exist_ok=True)
    (d / "ml-100k.inter").write_text(inter, encoding="utf-8")
    if item is not None:
        (d / "ml-100k.item").write_text(item, encoding="utf-8")
    if user is not None:
        (d / "ml-100k.user").write_text(user, encoding="utf-8")
    return d


SMALL_ITEMS = ITEM_HEAD + "10\tMisérables, Les\t1995\tDrama Musical\n20\tHeat\t1995\tAction Crime Thriller\n" \
                          "30\tNot rated\t2000\tComedy\n"


def test_small_recbole_duplicates_missing_meta_and_subfolder(tmp_path):
    inter = INTER_HEAD + ("1\t10\t2\t100\n"    # duplicate pair: the later row (time 300) wins
                          "1\t10\t5\t300\n"
                          "1\t20\t4\t200\n"
                          "2\t99\t3\t150\n")   # item 99 is not in the item file
    user = "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n1\t30\tF\twriter\t01234\n"
    _recbole(tmp_path / "ml-100k", inter, SMALL_ITEMS, user)
    x = load_100k(tmp_path)  # the ml-100k/ sub-folder is found
    assert x.counts["duplicates_removed"] == 1 and x.counts["items_without_metadata"] == 1
    assert x.counts["items_not_rated"] == 1 and x.counts["users_without_metadata"] == 1
    assert x.item_ids.tolist() == [10, 20, 99] and x.user_ids.tolist() == [1, 2]
    assert x.events[["user", "item", "time", "rating"]].values.tolist() == [[0, 1, 200, 4], [0, 0, 300, 5],
                                                                            [1, 2, 150, 3]]
    assert x.item_has_content.tolist() == [True, True, False]
    assert x.item_content[2].sum() == 0 and x.item_meta["title"].iloc[0] == "Misérables, Les"
    assert x.item_meta["release_year"].isna().tolist() == [False, False, True]
    assert x.counts["bad_release_year"] == 0
    assert x.user_meta["age"].tolist()[0] == 30 and pd.isna(x.user_meta["age"].iloc[1])
    assert x.user_meta["zip_code"].iloc[0] == "01234"


def test_recbole_user_file_is_optional(tmp_path):
    x = load_100k(_recbole(tmp_path, INTER_HEAD + "1\t10\t4\t5\n", SMALL_ITEMS))
    assert x.user_meta is None and len(x.events) == 1


def test_grouplens_latin1_title_year_from_title(tmp_path):
    (tmp_path / "u.data").write_text("5\t7\t4\t881250949\n5\t8\t1\t881250950\n")
    (tmp_path / "u.item").write_bytes(
        ("7|Misérables, Les (1995)|01-Jan-1995||http://x|" + "|".join(["0"] * 8 + ["1"] + ["0"] * 10) + "\n"
         "8|unknown||||" + "|".join(["1"] + ["0"] * 18) + "\n").encode("latin-1"))
    x = load_100k(tmp_path)
    assert x.item_meta["title"].tolist() == ["Misérables, Les", "unknown"]
    assert x.item_meta["release_year"].iloc[0] == 1995 and x.counts["bad_release_year"] == 1
    assert x.item_content[0, GENRES_100K.index("Drama")] == 1 and x.item_content[1, 0] == 1
    assert x.user_meta is None


# --------------------------------------------------------------------------- ML-100K bad input
def test_missing_directory(tmp_path):
    with pytest.raises(HarnessError, match=r"data directory not found: .*nope.*ml-100k.inter \+ ml-100k.item"):
        load_100k(tmp_path / "nope")


def test_directory_without_either_layout(tmp_path):
    with pytest.raises(HarnessError, match=r"no MovieLens-100K files in .*u.data \+ u.item \(GroupLens\)"):
        load_100k(tmp_path)


def test_recbole_item_file_missing(tmp_path):
    _recbole(tmp_path, INTER_HEAD + "1\t10\t4\t5\n")
    with pytest.raises(HarnessError, match=r"file not found: .*ml-100k.item; the RecBole layout needs"):
        load_100k(tmp_path)


def test_grouplens_item_file_missing(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n")
    with pytest.raises(HarnessError, match=r"u.item; the GroupLens layout needs u.data and u.item"):
        load_100k(tmp_path)


def test_recbole_missing_column(tmp_path):
    _recbole(tmp_path, "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t3\n", SMALL_ITEMS)
    with pytest.raises(HarnessError, match=r"ml-100k.inter: missing column\(s\) rating in the header"):
        load_100k(tmp_path)


def test_non_numeric_rating_names_file_column_value_line(tmp_path):
    _recbole(tmp_path, INTER_HEAD + "1\t10\t4\t5\n1\t20\tfive\t6\n2\t20\tx\t6\n", SMALL_ITEMS)
    with pytest.raises(HarnessError, match=r"ml-100k.inter: column 'rating' has a non-numeric value 'five' "
                                           r"at line 3 \(2 rows like this\)"):
        load_100k(tmp_path)


def test_non_integer_user_id(tmp_path):
    _recbole(tmp_path, INTER_HEAD + "1\t10\t4\t5\n\n1.5\t20\t4\t6\n", SMALL_ITEMS)
    with pytest.raises(HarnessError, match=r"column 'user_id' has a non-integer value '1.5' at line 4"):
        load_100k(tmp_path)


def test_empty_inter_file(tmp_path):
    _recbole(tmp_path, "", SMALL_ITEMS)
    with pytest.raises(HarnessError, match=r"ml-100k.inter: file is empty"):
        load_100k(tmp_path)


def test_header_only_inter_file(tmp_path):
    _recbole(tmp_path, INTER_HEAD, SMALL_ITEMS)
    with pytest.raises(HarnessError, match=r"ml-100k.inter: no data rows"):
        load_100k(tmp_path)


def test_grouplens_bad_timestamp_line_without_header(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n1\t3\t3\tyesterday\n")
    (tmp_path / "u.item").write_text("2|A (1990)|||u|" + "|".join("0" * 19) + "\n")
    with pytest.raises(HarnessError, match=r"u.data: column 'time' has a non-numeric value 'yesterday' at line 2"):
        load_100k(tmp_path)


def test_grouplens_short_item_line(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n")
    (tmp_path / "u.item").write_text("2|A (1990)|||u|" + "|".join("0" * 19) + "\n3|B (1991)|||u|0|1\n")
    with pytest.raises(HarnessError, match=r"u.item: column 'flag Adventure' has a missing value '' at line 2; "
                                           r"u.item needs 24 '\|'-separated fields"):
        load_100k(tmp_path)


def test_grouplens_short_first_item_line(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n")
    (tmp_path / "u.item").write_text("2|A (1990)|||u|0|1\n")
    with pytest.raises(HarnessError, match=r"u.item: the first line has 7 field\(s\), expected 24 \(separator '\|'\); "
                                           r"u.item needs 24"):
        load_100k(tmp_path)


def test_grouplens_comma_separated_data_is_explained(tmp_path):
    (tmp_path / "u.data").write_text("1,2,3,4\n")
    (tmp_path / "u.item").write_text("2|A (1990)|||u|" + "|".join("0" * 19) + "\n")
    with pytest.raises(HarnessError, match=r"u.data: the first line has 1 field\(s\), expected 4 "
                                           r"\(separator '\\t'\); u.data needs 4 tab-separated fields"):
        load_100k(tmp_path)


def test_duplicate_item_ids_in_item_file(tmp_path):
    _recbole(tmp_path, INTER_HEAD + "1\t10\t4\t5\n", SMALL_ITEMS + "10\tAgain\t1990\tDrama\n")
    with pytest.raises(HarnessError, match=r"ml-100k.item: item_id 10 appears 2 times"):
        load_100k(tmp_path)


# --------------------------------------------------------------------------- ML-1M
def _ml1m(d: Path, ratings: str | None = None) -> Path:
    d.mkdir(exist_ok=True)
    (d / "ratings.dat").write_text(ratings or "1::1193::5::978300760\n1::661::3::978302109\n"
                                   "2::1193::4::978298413\n2::3::2::978299000\n1::1193::1::978200000\n")
    (d / "movies.dat").write_bytes(
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::"
        "Animation|Children's|Musical\n3::Misérables, Les (1995)::Drama|Musical|Bogus\n".encode("latin-1"))
    (d / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    return d


def test_ml1m_small_files(tmp_path):
    x = load_1m(_ml1m(tmp_path))
    assert x.name == "ml-1m" and x.content_desc == "genre one-hot (18 genres)"
    assert x.item_ids.tolist() == [3, 661, 1193] and x.user_ids.tolist() == [1, 2]
    assert x.counts["duplicates_removed"] == 1 and x.counts["unknown_genre_tokens"] == 1
    ev = x.events
    assert ev[["user", "item", "time", "rating"]].values.tolist() == [
        [0, 2, 978300760, 5], [0, 1, 978302109, 3], [1, 2, 978298413, 4], [1, 0, 978299000, 2]]
    assert x.item_content.shape == (3, 18)
    assert [GENRES_1M[j] for j in np.flatnonzero(x.item_content[1])] == ["Animation", "Children's", "Musical"]
    assert x.item_meta["title"].tolist() == ["Misérables, Les", "James and the Giant Peach",
                                             "One Flew Over the Cuckoo's Nest"]
    assert x.item_meta["release_year"].tolist() == [1995, 1996, 1975]
    assert x.user_meta.to_dict("list") == {"age": [1, 56], "gender": ["F", "M"],
                                           "occupation": ["K-12 student", "self-employed"],
                                           "zip_code": ["48067", "70072"]}
    assert x.default_split == movielens.DEFAULT_SPLIT


def test_ml1m_errors(tmp_path):
    with pytest.raises(HarnessError, match=r"ml-1m: file not found: .*ratings.dat; ML-1M needs ratings.dat and "
                                           r"movies.dat"):
        load_1m(tmp_path)
    _ml1m(tmp_path, "1::1193::5::978300760\n1::661::three::978302109\n")
    with pytest.raises(HarnessError, match=r"ratings.dat: column 'rating' has a non-numeric value 'three' at "
                                           r"line 2; .*UserID::MovieID::Rating::Timestamp"):
        load_1m(tmp_path)
    (tmp_path / "users.dat").write_text("1::F::1::99::48067\n")
    (tmp_path / "ratings.dat").write_text("1::1193::5::978300760\n")
    with pytest.raises(HarnessError, match=r"users.dat: occupation code 99 is not in 0..20"):
        load_1m(tmp_path)


# --------------------------------------------------------------------------- ml-latest
def _latest(d: Path, ratings: str | None = None) -> Path:
    d.mkdir(exist_ok=True)
    (d / "ratings.csv").write_text(ratings or "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"
                                   "1,3,4.5,964981247\n7,193609,0.5,1537109082\n7,1,3.5,964982000\n")
    (d / "movies.csv").write_text(
        'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n'
        '3,"American President, The (1995)",Comedy|Drama|Romance|IMAX\n'
        '193609,Babylon 5,(no genres listed)\n', encoding="utf-8")
    return d


def test_latest_small_files(tmp_path):
    x = load_latest(_latest(tmp_path))
    assert x.item_ids.tolist() == [1, 3, 193609] and x.user_ids.tolist() == [1, 7]
    assert x.events["rating"].tolist() == [4.5, 4.0, 3.5, 0.5]  # user 1 by time, then user 7 by time
    assert x.item_content.shape == (3, len(GENRES_LATEST)) == (3, 19)
    assert x.item_content.sum(axis=1).tolist() == [5, 4, 0]
    assert x.item_content[1, GENRES_LATEST.index("IMAX")] == 1
    assert x.item_has_content.tolist() == [True, True, False]
    assert x.item_meta["title"].tolist() == ["Toy Story", "American President, The", "Babylon 5"]
    assert x.counts["no_genres_listed"] == 1 and x.counts["bad_release_year"] == 1
    assert x.counts["unknown_genre_tokens"] == 0 and x.user_meta is None
    assert int((x.events["rating"] >= 4).sum()) == 2


def test_latest_wrong_columns(tmp_path):
    _latest(tmp_path, "user,movie,rating,timestamp\n1,1,4,5\n")
    with pytest.raises(HarnessError, match=r"ratings.csv: missing column\(s\) userId, movieId \(found: user, movie"):
        load_latest(tmp_path)


def test_latest_missing_rating_value(tmp_path):
    _latest(tmp_path, "userId,movieId,rating,timestamp\n1,1,4,5\n1,3,,6\n")
    with pytest.raises(HarnessError, match=r"ratings.csv: column 'rating' has a missing value '' at line 3"):
        load_latest(tmp_path)


def test_latest_missing_dir(tmp_path):
    with pytest.raises(HarnessError, match=r"ml-latest: data directory not found: .*ratings.csv and movies.csv"):
        load_latest(tmp_path / "missing")
