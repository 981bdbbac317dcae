"""MovieLens loaders: 100K (RecBole atomic files or the GroupLens layout), 1M and ml-latest(-small).

Every loader returns an :class:`~harness.data.base.Interactions` with

- ``events``: ``user``, ``item`` (dense int32), ``time`` (int64 unix seconds), ``rating`` (float32),
  sorted by user then time (ties keep file order). A repeated (user, item) pair keeps the rating
  latest in time (``counts["duplicates_removed"]``).
- ``item_content``: genre one-hot, float32 (n_items, n_genres), columns in the fixed order
  :data:`GENRES_100K` / :data:`GENRES_1M` / :data:`GENRES_LATEST`; ``item_has_content`` is False for
  rated items missing from the item file (and, in ml-latest, for "(no genres listed)").
- ``item_meta``: ``title`` (str, the year suffix removed), ``release_year`` (Int64; NA where the
  year is missing or not four digits, e.g. ML-100K's 'unkonwn' and 'V': ``counts["bad_release_year"]``).
- ``user_meta`` (100K, 1M): ``age`` (Int64; 1M: the age-band code 1, 18, 25, ...), ``gender``,
  ``occupation`` (1M: the code mapped to its name), ``zip_code``.
- ``default_positives = ("rating>=4",)``; ``default_split = Split.leave_last(10, min_train=5)``:
  per user, the 10 latest ratings are test and users need at least 5 training ratings.

Only users and items with at least one rating are kept. ``counts`` keys: ``rows_read``,
``duplicates_removed``, ``items_without_metadata`` (rated, absent from the item file),
``items_not_rated`` (in the item file only; dropped), ``bad_release_year``, ``unknown_genre_tokens``,
``users_without_metadata`` (when a user file is read), ``no_genres_listed`` (ml-latest).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.base import (Interactions, encode_ids, keep_last_by_time, lookup,
                                require_file)
from harness.data.delimited import read_delimited
from harness.data.identity import fingerprint_files
from harness.errors import HarnessError
from harness.spec import Split

#: ML-100K genres in GroupLens ``u.genre`` order (the 19 flag columns of ``u.item``).
GENRES_100K = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
               "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
               "Thriller", "War", "Western")
#: ML-1M genres (``movies.dat``), in the order of its README.
GENRES_1M = GENRES_100K[1:]
#: ml-latest genres (``movies.csv``); "(no genres listed)" gives an all-zero row.
GENRES_LATEST = ("Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
                 "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi",
                 "Thriller", "War", "Western")
#: ML-1M occupation codes (``users.dat``) -> names, from its README.
OCCUPATIONS_1M = ("other or not specified", "academic/educator", "artist", "clerical/admin",
                  "college/grad student", "customer service", "doctor/health care", "executive/managerial",
                  "farmer", "homemaker", "K-12 student", "lawyer", "programmer", "retired", "sales/marketing",
                  "scientist", "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed",
                  "writer")
DEFAULT_POSITIVES = ("rating>=4",)
DEFAULT_SPLIT = Split.leave_last(10, min_train=5)
_TITLE_YEAR = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")
_GET = ("fetch it with 'python -m harness data fetch ml-100k' (or ml-1m, ml-latest-small, ml-latest), or download "
        "it from https://grouplens.org/datasets/movielens/ and pass --data-dir to the unpacked folder")
_NONE = csv.QUOTE_NONE


# --------------------------------------------------------------------------- small pure helpers
def split_title(titles: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``"Toy Story (1995)"`` -> (``"Toy Story"``, ``"1995"``); no trailing parentheses -> (title, NA)."""
    parts = titles.astype("str").str.extract(_TITLE_YEAR)
    has = parts[0].notna().to_numpy()
    title = titles.astype("str").str.strip().where(~has, parts[0])
    return title, parts[1]


def parse_years(tokens: pd.Series) -> tuple[pd.Series, int]:
    """Four-digit year tokens -> Int64; anything else (missing, 'unkonwn', 'V', '2006-2007') -> NA.

    Returns the years and the number of bad tokens.
    """
    s = tokens.astype("str").str.strip()
    ok = s.str.fullmatch(r"\d{4}").fillna(False).to_numpy(dtype=bool)
    years = pd.Series(pd.NA, index=tokens.index, dtype="Int64")
    years[ok] = s[ok].astype(np.int64).to_numpy()
    return years, int((~ok).sum())


def genre_matrix(lists: pd.Series, genres: tuple[str, ...], sep: str) -> tuple[np.ndarray, int]:
    """Multi-hot float32 (len(lists), len(genres)) from ``sep``-separated genre strings.

    Returns the matrix and the number of tokens not in ``genres`` (ignored; "(no genres listed)"
    is not counted).
    """
    tok = lists.fillna("").astype("str").str.split(sep).explode()
    tok = tok.str.strip()
    tok = tok[(tok != "") & (tok != "(no genres listed)")]
    col = pd.Series(range(len(genres)), index=list(genres)).reindex(tok.to_numpy()).to_numpy()
    known = ~np.isnan(col)
    out = np.zeros((len(lists), len(genres)), dtype=np.float32)
    rows = lists.index.get_indexer(tok.index[known])
    out[rows, col[known].astype(np.int64)] = 1.0
    return out, int((~known).sum())


def _unique_ids(ids: np.ndarray, path: Path, col: str) -> None:
    uniq, cnt = np.unique(ids, return_counts=True)
    if (cnt > 1).any():
        raise HarnessError(f"{path}: {col} {uniq[cnt > 1][0]} appears {cnt[cnt > 1][0]} times; "
                           "ids in a metadata file must be unique")


# --------------------------------------------------------------------------- assembly
def _assemble(name: str, ratings: pd.DataFrame, items: pd.DataFrame, genres: tuple[str, ...],
              content: np.ndarray, users: pd.DataFrame | None, files: list[Path], counts: dict,
              item_path: Path, user_path: Path | None) -> Interactions:
    """Build Interactions from raw frames.

    ratings : user_id, item_id (int64), rating (float), time (int64), in file order.
    items : item_id, title, release_year (Int64), has_content (bool); row i <-> content[i].
    users : user_id plus metadata columns, or None.
    """
    _unique_ids(items["item_id"].to_numpy(), item_path, "item_id")
    u_raw = ratings["user_id"].to_numpy(np.int64)
    i_raw = ratings["item_id"].to_numpy(np.int64)
    t = ratings["time"].to_numpy(np.int64)
    keep = keep_last_by_time(u_raw, i_raw, t)
    ucode, user_ids = encode_ids(u_raw[keep])
    icode, item_ids = encode_ids(i_raw[keep])
    t = t[keep]
    order = np.lexsort((np.arange(len(t)), t, ucode))
    events = pd.DataFrame({"user": ucode[order], "item": icode[order], "time": t[order],
                           "rating": ratings["rating"].to_numpy(np.float32)[keep][order]})

    srt = np.argsort(items["item_id"].to_numpy(np.int64), kind="stable")
    file_ids = items["item_id"].to_numpy(np.int64)[srt]
    pos = lookup(file_ids, item_ids)
    found = pos >= 0
    rows = srt[np.where(found, pos, 0)]
    item_content = np.where(found[:, None], content[rows], 0).astype(np.float32)
    has = found & items["has_content"].to_numpy(bool)[rows]
    meta_items = items.iloc[rows].reset_index(drop=True)
    item_meta = pd.DataFrame({"title": meta_items["title"].astype("str").where(found, None),
                              "release_year": meta_items["release_year"].where(found, pd.NA).astype("Int64")})
    counts.update({
        "rows_read": len(ratings),
        "duplicates_removed": int(len(ratings) - int(keep.sum())),
        "items_without_metadata": int((~found).sum()),
        "items_not_rated": int(len(file_ids) - int(found.sum())),
        "bad_release_year": int(item_meta["release_year"].isna().sum() - (~found).sum()),
    })
    user_meta = None
    if users is not None:
        _unique_ids(users["user_id"].to_numpy(), user_path, "user_id")
        us = np.argsort(users["user_id"].to_numpy(np.int64), kind="stable")
        upos = lookup(users["user_id"].to_numpy(np.int64)[us], user_ids)
        ufound = upos >= 0
        urows = users.iloc[us[np.where(ufound, upos, 0)]].reset_index(drop=True)
        user_meta = pd.DataFrame(index=pd.RangeIndex(len(user_ids)))
        for col in users.columns:
            if col == "user_id":
                continue
            v = urows[col]
            user_meta[col] = (v.astype("Int64").where(ufound, pd.NA) if col == "age"
                              else v.astype("str").where(ufound, None))
        counts["users_without_metadata"] = int((~ufound).sum())
    return Interactions(
        name=name, events=events, user_ids=user_ids, item_ids=item_ids,
        default_positives=DEFAULT_POSITIVES, default_split=DEFAULT_SPLIT,
        fingerprint=fingerprint_files(files), item_content=item_content, item_has_content=has,
        content_desc=f"genre one-hot ({len(genres)} genres)", user_meta=user_meta, item_meta=item_meta,
        counts=counts, content_names=tuple(genres))


def _check_dir(data_dir: Path, what: str, needs: str) -> Path:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise HarnessError(f"{what}: data directory not found: {data_dir}; it must hold {needs}; {_GET}")
    return data_dir


# --------------------------------------------------------------------------- ML-100K
_RECBOLE = {"inter": ("user_id", "item_id", "rating", "timestamp"),
            "item": ("item_id", "movie_title", "release_year", "class"),
            "user": ("user_id", "age", "gender", "occupation")}


def _recbole_names(path: Path, kind: str) -> list[str]:
    """Column names of a RecBole atomic file from its typed header (``user_id:token``)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.readline().rstrip("\r\n")
    if not head:
        raise HarnessError(f"{path}: file is empty; expected a RecBole header like "
                           f"{chr(9).join(n + ':token' for n in _RECBOLE[kind])}")
    names = [h.split(":", 1)[0].strip() for h in head.split("\t")]
    missing = [c for c in _RECBOLE[kind] if c not in names]
    if missing:
        raise HarnessError(f"{path}: missing column(s) {', '.join(missing)} in the header (found: "
                           f"{', '.join(names)}); a RecBole .{kind} file needs {', '.join(_RECBOLE[kind])}")
    return names


def _load_recbole(d: Path, name: str) -> tuple:
    inter_p = d / f"{name}.inter"
    item_p = require_file(d / f"{name}.item", name, f"the RecBole layout needs {name}.inter and {name}.item "
                          f"({name}.user optional)")
    user_p = d / f"{name}.user"
    fix = "RecBole files are tab-separated with a typed header"
    r = read_delimited(inter_p, {"user_id": "int", "item_id": "int", "rating": "float", "timestamp": "int"},
                       sep="\t", names=_recbole_names(inter_p, "inter"), skiprows=1, quoting=_NONE,
                       fix=f"fix or remove those rows ({fix})")
    r = r.rename(columns={"timestamp": "time"})
    it = read_delimited(item_p, {"item_id": "int", "movie_title": "str?", "release_year": "str?", "class": "str?"},
                        sep="\t", names=_recbole_names(item_p, "item"), skiprows=1, quoting=_NONE)
    content, unknown = genre_matrix(it["class"], GENRES_100K, " ")
    years, _ = parse_years(it["release_year"])
    items = pd.DataFrame({"item_id": it["item_id"], "title": it["movie_title"], "release_year": years,
                          "has_content": content.any(axis=1)})
    users, files = None, [inter_p, item_p]
    if user_p.is_file():
        names = _recbole_names(user_p, "user")
        kinds = {"user_id": "int", "age": "int", "gender": "str?", "occupation": "str?"}
        if "zip_code" in names:
            kinds["zip_code"] = "str?"
        users = read_delimited(user_p, kinds, sep="\t", names=names, skiprows=1, quoting=_NONE)
        files.append(user_p)
    return r, items, content, users, files, {"unknown_genre_tokens": unknown}, item_p, user_p


def _load_grouplens(d: Path) -> tuple:
    data_p = d / "u.data"
    item_p = require_file(d / "u.item", "ml-100k", "the GroupLens layout needs u.data and u.item (u.user optional)")
    user_p = d / "u.user"
    r = read_delimited(data_p, {"user_id": "int", "item_id": "int", "rating": "float", "time": "int"}, sep="\t",
                       names=["user_id", "item_id", "rating", "time"], quoting=_NONE,
                       fix="u.data needs 4 tab-separated fields per line: user item rating timestamp")
    flags = [f"flag {g}" for g in GENRES_100K]
    names = ["item_id", "title", "release_date", "video_release_date", "url", *flags]
    kinds = {"item_id": "int", "title": "str?", "release_date": "str?", **dict.fromkeys(flags, "int")}
    it = read_delimited(item_p, kinds, sep="|", names=names, encoding="latin-1", quoting=_NONE,
                        fix="u.item needs 24 '|'-separated fields: id|title|date|video date|url|19 genre flags")
    content = it[flags].to_numpy(np.float32)
    bad = ~np.isin(content, (0.0, 1.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise HarnessError(f"{item_p}: genre flag {GENRES_100K[j]!r} of item {it['item_id'].iloc[i]} is "
                           f"{content[i, j]:g}; flags must be 0 or 1")
    title, token = split_title(it["title"].fillna(""))
    date_year = it["release_date"].astype("str").str.extract(r"(\d{4})\s*$")[0]
    years, _ = parse_years(token.fillna(date_year))
    items = pd.DataFrame({"item_id": it["item_id"], "title": title, "release_year": years,
                          "has_content": content.any(axis=1)})
    users, files = None, [data_p, item_p]
    if user_p.is_file():
        users = read_delimited(user_p, {"user_id": "int", "age": "int", "gender": "str?", "occupation": "str?",
                                        "zip_code": "str?"}, sep="|",
                               names=["user_id", "age", "gender", "occupation", "zip_code"], quoting=_NONE,
                               fix="u.user needs 5 '|'-separated fields: id|age|gender|occupation|zip")
        files.append(user_p)
    return r, items, content, users, files, {"unknown_genre_tokens": 0}, item_p, user_p


def load_100k(data_dir: Path, name: str = "ml-100k") -> Interactions:
    """Load MovieLens-100K from ``data_dir``, auto-detecting the file layout.

    Layouts
    -------
    RecBole atomic files: ``<name>.inter`` (``user_id:token  item_id:token  rating:float
    timestamp:float``), ``<name>.item`` (``item_id  movie_title  release_year  class``, class =
    space-separated genres) and optionally ``<name>.user`` (``user_id  age  gender  occupation
    zip_code``); tab-separated, UTF-8, typed header.
    GroupLens: ``u.data`` (tab-separated user item rating timestamp, no header), ``u.item``
    ('|'-separated, latin-1: id, title "Name (year)", release date, video date, URL, 19 genre flags
    in :data:`GENRES_100K` order) and optionally ``u.user`` ('|': id, age, gender, occupation, zip).
    The release year is taken from the title's trailing "(...)" (as RecBole does), else from the
    release date. Both layouts of the same data give identical Interactions (bar the fingerprint).

    If ``data_dir/<name>/`` exists and ``data_dir`` holds neither layout, that sub-folder is used.
    See the module docstring for the returned columns and defaults.
    """
    needs = f"either {name}.inter + {name}.item (RecBole) or u.data + u.item (GroupLens)"
    d = _check_dir(data_dir, name, needs)
    if not (d / f"{name}.inter").is_file() and not (d / "u.data").is_file() and (d / name).is_dir():
        d = d / name
    if (d / f"{name}.inter").is_file():
        parts = _load_recbole(d, name)
    elif (d / "u.data").is_file():
        parts = _load_grouplens(d)
    else:
        raise HarnessError(f"{name}: no MovieLens-100K files in {d}; it must hold {needs}; {_GET}")
    r, items, content, users, files, counts, item_p, user_p = parts
    return _assemble(name, r, items, GENRES_100K, content, users, files, counts, item_p,
                     user_p if users is not None else None)


# --------------------------------------------------------------------------- ML-1M
def load_1m(data_dir: Path, name: str = "ml-1m") -> Interactions:
    """Load MovieLens-1M: ``ratings.dat`` (UserID::MovieID::Rating::Timestamp), ``movies.dat``
    (MovieID::Title::Genres, '|'-separated genres, latin-1) and optionally ``users.dat``
    (UserID::Gender::Age::Occupation::Zip-code; ``age`` is the band code, ``occupation`` its name).

    Genre one-hot over :data:`GENRES_1M` (18 genres). See the module docstring for the rest.
    """
    needs = "ratings.dat and movies.dat (users.dat optional)"
    d = _check_dir(data_dir, name, needs)
    if not (d / "ratings.dat").is_file() and (d / name).is_dir():
        d = d / name
    rat_p = require_file(d / "ratings.dat", name, f"ML-1M needs {needs}; {_GET}")
    mov_p = require_file(d / "movies.dat", name, f"ML-1M needs {needs}; {_GET}")
    usr_p = d / "users.dat"
    r = read_delimited(rat_p, {"user_id": "int", "item_id": "int", "rating": "float", "time": "int"}, sep="::",
                       names=["user_id", "item_id", "rating", "time"], encoding="latin-1", quoting=_NONE,
                       fix="ratings.dat lines are UserID::MovieID::Rating::Timestamp")
    mv = read_delimited(mov_p, {"item_id": "int", "title": "str?", "genres": "str?"}, sep="::",
                        names=["item_id", "title", "genres"], encoding="latin-1", quoting=_NONE,
                        fix="movies.dat lines are MovieID::Title::Genres")
    content, unknown = genre_matrix(mv["genres"], GENRES_1M, "|")
    title, token = split_title(mv["title"].fillna(""))
    years, _ = parse_years(token)
    items = pd.DataFrame({"item_id": mv["item_id"], "title": title, "release_year": years,
                          "has_content": content.any(axis=1)})
    users, files = None, [rat_p, mov_p]
    if usr_p.is_file():
        us = read_delimited(usr_p, {"user_id": "int", "gender": "str?", "age": "int", "occupation": "int",
                                    "zip_code": "str?"}, sep="::",
                            names=["user_id", "gender", "age", "occupation", "zip_code"], encoding="latin-1",
                            quoting=_NONE, fix="users.dat lines are UserID::Gender::Age::Occupation::Zip-code")
        occ = us["occupation"].to_numpy()
        bad = (occ < 0) | (occ >= len(OCCUPATIONS_1M))
        if bad.any():
            raise HarnessError(f"{usr_p}: occupation code {occ[bad][0]} is not in 0..20; fix users.dat")
        users = pd.DataFrame({"user_id": us["user_id"], "age": us["age"], "gender": us["gender"],
                              "occupation": np.asarray(OCCUPATIONS_1M, dtype=object)[occ], "zip_code": us["zip_code"]})
        files.append(usr_p)
    return _assemble(name, r, items, GENRES_1M, content, users, files, {"unknown_genre_tokens": unknown},
                     mov_p, usr_p if users is not None else None)


# --------------------------------------------------------------------------- ml-latest(-small)
def load_latest(data_dir: Path, name: str = "ml-latest") -> Interactions:
    """Load ml-latest or ml-latest-small: ``ratings.csv`` (userId,movieId,rating,timestamp) and
    ``movies.csv`` (movieId,title,genres; '|'-separated, "(no genres listed)" -> no content).

    Genre one-hot over :data:`GENRES_LATEST` (19 genres, incl. IMAX); no user metadata.
    """
    needs = "ratings.csv and movies.csv"
    d = _check_dir(data_dir, name, needs)
    rat_p = require_file(d / "ratings.csv", name, f"ml-latest needs {needs}; {_GET}")
    mov_p = require_file(d / "movies.csv", name, f"ml-latest needs {needs}; {_GET}")
    r = read_delimited(rat_p, {"userId": "int", "movieId": "int", "rating": "float", "timestamp": "int"})
    r.columns = ["user_id", "item_id", "rating", "time"]
    mv = read_delimited(mov_p, {"movieId": "int", "title": "str?", "genres": "str?"})
    content, unknown = genre_matrix(mv["genres"], GENRES_LATEST, "|")
    title, token = split_title(mv["title"].fillna(""))
    years, _ = parse_years(token)
    items = pd.DataFrame({"item_id": mv["movieId"], "title": title, "release_year": years,
                          "has_content": content.any(axis=1)})
    counts = {"unknown_genre_tokens": unknown,
              "no_genres_listed": int((mv["genres"].astype("str").str.strip() == "(no genres listed)").sum())}
    return _assemble(name, r, items, GENRES_LATEST, content, None, [rat_p, mov_p], counts, mov_p, None)
