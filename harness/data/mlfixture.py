"""A small MovieLens-format dataset with a planted structure, written in the real file formats.

Tests (and anyone who wants to try the harness offline) use it instead of the real MovieLens: the
files are byte-for-byte in the published formats, so every loader path is exercised, but the data is
generated, tiny, and free to redistribute.

Formats written
---------------
* ML-100K, RecBole atomic files (:func:`write_100k` ``layout="recbole"``): ``ml-100k.inter``
  (``user_id:token  item_id:token  rating:float  timestamp:float``), ``ml-100k.item``
  (``item_id:token  movie_title:token_seq  release_year:token  class:token_seq``, genres
  space-separated) and ``ml-100k.user`` (``user_id:token  age:token  gender:token  occupation:token
  zip_code:token``); tab-separated, UTF-8, typed header. Like RecBole's copy of the real data,
  item 267 has release year ``unkonwn`` (sic) and genre ``unknown``, and one item has the year ``V``.
* ML-100K, GroupLens (``layout="grouplens"``): ``u.data`` (tab-separated, no header), ``u.item``
  (``|``-separated, latin-1, ``Title (year)``, release date, empty video date, URL, 19 genre flags),
  ``u.user`` (``id|age|gender|occupation|zip``). Both layouts load to identical Interactions.
* ML-1M (:func:`write_1m`): ``ratings.dat``, ``movies.dat`` (``Title (year)``, ``|``-separated
  genres), ``users.dat`` (age band codes, occupation codes 0-20); ``::``-separated, latin-1.

Planted structure
-----------------
``n_groups`` taste groups. Item ``i`` belongs to group ``g_i`` and has a popularity bias
``b_i = -zipf * log(rank_i)`` (a random rank, Zipf-like skew); its genres are its group's two core
genres (each with probability 0.85) plus a random other genre with probability 0.25, so genres carry
the group. User ``u`` (group ``g_u``) rates ``n_u = min_ratings + floor(LogNormal(mu, 0.8))`` distinct
items (heavy-tailed activity, capped at half the catalogue), drawn without replacement with
probability ``softmax(affinity * [g_i == g_u] + b_i)`` (Gumbel top-k). Ratings are
``round(3 + 1.3 [g_i == g_u] - 0.6 [g_i != g_u] + N(0, 0.8))`` clipped to 1..5, so ``rating >= 4`` is
mostly in-group. Times: each user is active over a random span inside 1997-09-20 .. 1998-04-22 and
rates in a random order inside it, so the last ratings (the usual test split) are a random draw of
the same taste. A collaborative model recovers the groups and beats popularity; popularity beats
random; genre content points to the group.

Determinism: everything derives from ``seed`` (numpy Generator); the same arguments give
byte-identical files.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.movielens import GENRES_100K, GENRES_1M

START, END = 874_724_710, 893_286_638  # 1997-09-20 .. 1998-04-22, the ML-100K window (unix s)
OCCUPATIONS_100K = ("administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
                    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other", "programmer",
                    "retired", "salesman", "scientist", "student", "technician", "writer")
AGE_BANDS_1M = (1, 18, 25, 35, 45, 50, 56)
UNKNOWN_ITEM = 267  # release year 'unkonwn', genre 'unknown' (as in RecBole's ml-100k.item)
V_ITEM = 141  # release year 'V' (RecBole's parse of "... (1995) (V)")


@dataclass(frozen=True)
class Fixture:
    """One generated dataset (raw ids start at 1, as in MovieLens).

    Attributes
    ----------
    ratings : user_id, item_id (int64), rating (int64, 1..5), timestamp (int64 unix s); file order.
    items : item_id, title (str, no year), year (str: four digits, or 'unkonwn' / 'V'), genres
        (tuple of genre names from :data:`GENRES_100K`), group (int).
    users : user_id, age (int), gender ('M'/'F'), occupation (str), zip_code (str), group (int).
    """

    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame


def generate(n_users: int = 300, n_items: int = 400, *, n_groups: int = 6, min_ratings: int = 20,
             mean_extra: float = 40.0, affinity: float = 3.0, zipf: float = 1.0, seed: int = 0) -> Fixture:
    """Draw the planted dataset described in the module docstring.

    Parameters
    ----------
    n_users, n_items : sizes; ``n_items`` must be at least 300 so items 141 and 267 exist.
    n_groups : taste groups (at most 9: two core genres each).
    min_ratings : every user rates at least this many items (ML-100K: 20).
    mean_extra : mean number of ratings above ``min_ratings``.
    affinity : logit bonus of an in-group item (how strong taste is against popularity).
    zipf : popularity skew exponent.
    seed : seed of the numpy Generator.
    """
    if n_items < 300 or not 1 <= n_groups <= 9 or n_users < 1:
        raise ValueError("need n_items >= 300, 1 <= n_groups <= 9 and n_users >= 1")
    rng = np.random.default_rng(seed)
    item_group = rng.integers(0, n_groups, n_items)
    bias = -zipf * np.log(rng.permutation(n_items) + 1.0)
    pool = list(GENRES_100K[1:])
    core = rng.permutation(len(pool))[: 2 * n_groups].reshape(n_groups, 2)
    genres, years = [], []
    for i in range(n_items):
        g = {pool[c] for c in core[item_group[i]] if rng.random() < 0.85}
        if rng.random() < 0.25 or not g:
            g.add(pool[int(rng.integers(len(pool)))])
        genres.append(tuple(x for x in GENRES_100K if x in g))
        years.append(str(int(rng.integers(1930, 1999))))
    genres[UNKNOWN_ITEM - 1], years[UNKNOWN_ITEM - 1] = ("unknown",), "unkonwn"
    years[V_ITEM - 1] = "V"
    titles = [f"Film {i + 1}" for i in range(n_items)]
    titles[6] = "Café Seven"  # one non-ASCII title: UTF-8 in RecBole files, latin-1 in GroupLens/1M files
    titles[UNKNOWN_ITEM - 1] = "unknown"
    titles[V_ITEM - 1] = f"Film {V_ITEM} (1995)"  # RecBole keeps "(1995)" in the title and reads 'V' as the year
    items = pd.DataFrame({"item_id": np.arange(1, n_items + 1), "title": titles, "year": years,
                          "genres": genres, "group": item_group})

    user_group = rng.integers(0, n_groups, n_users)
    mu = np.log(mean_extra) - 0.32
    n_u = np.minimum(min_ratings + np.floor(rng.lognormal(mu, 0.8, n_users)).astype(np.int64), n_items // 2)
    span = rng.uniform(0.05, 1.0, n_users) * (END - START)
    first = START + rng.uniform(0, 1, n_users) * (END - START - span)
    rows = []
    for u in range(n_users):
        logit = affinity * (item_group == user_group[u]) + bias + rng.gumbel(size=n_items)
        chosen = np.argpartition(-logit, n_u[u])[: n_u[u]]
        chosen = rng.permutation(chosen)
        inside = item_group[chosen] == user_group[u]
        r = np.clip(np.rint(3 + 1.3 * inside - 0.6 * ~inside + rng.normal(0, 0.8, len(chosen))), 1, 5)
        t = np.sort(first[u] + rng.uniform(0, span[u], len(chosen))).astype(np.int64)
        rows.append(pd.DataFrame({"user_id": u + 1, "item_id": chosen + 1, "rating": r.astype(np.int64),
                                  "timestamp": t}))
    ratings = pd.concat(rows, ignore_index=True)
    ratings = ratings.iloc[rng.permutation(len(ratings))].reset_index(drop=True)
    users = pd.DataFrame({
        "user_id": np.arange(1, n_users + 1),
        "age": rng.integers(7, 74, n_users),
        "gender": np.where(rng.random(n_users) < 0.71, "M", "F"),
        "occupation": np.asarray(OCCUPATIONS_100K, dtype=object)[rng.integers(0, len(OCCUPATIONS_100K), n_users)],
        "zip_code": [f"{z:05d}" for z in rng.integers(0, 100_000, n_users)],
        "group": user_group})
    return Fixture(ratings=ratings, items=items, users=users)


def _write(path: Path, lines: list[str], encoding: str) -> None:
    path.write_bytes("".join(lines).encode(encoding))


def write_100k(directory: Path, layout: str = "recbole", fixture: Fixture | None = None, **kw) -> Path:
    """Write an ML-100K-format dataset into ``directory`` (created) and return it.

    ``layout`` is ``"recbole"`` (``ml-100k.inter/.item/.user``) or ``"grouplens"``
    (``u.data/u.item/u.user``); ``fixture`` (default ``generate(**kw)``) is the data written.
    """
    if layout not in ("recbole", "grouplens"):
        raise ValueError(f"layout must be 'recbole' or 'grouplens', got {layout!r}")
    fx = fixture or generate(**kw)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    r, it, us = fx.ratings, fx.items, fx.users
    rat = [f"{a}\t{b}\t{c}\t{t}\n" for a, b, c, t in zip(r.user_id, r.item_id, r.rating, r.timestamp)]
    if layout == "recbole":
        _write(d / "ml-100k.inter", ["user_id:token\titem_id:token\trating:float\ttimestamp:float\n", *rat], "utf-8")
        _write(d / "ml-100k.item", ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"]
               + [f"{i}\t{t}\t{y}\t{' '.join(g)}\n" for i, t, y, g in zip(it.item_id, it.title, it.year, it.genres)],
               "utf-8")
        _write(d / "ml-100k.user", ["user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"]
               + [f"{a}\t{b}\t{c}\t{o}\t{z}\n" for a, b, c, o, z in us[["user_id", "age", "gender", "occupation",
                                                                       "zip_code"]].itertuples(index=False)],
               "utf-8")
        return d
    _write(d / "u.data", rat, "latin-1")
    lines = []
    for i, t, y, g in zip(it.item_id, it.title, it.year, it.genres):
        flags = "|".join("1" if x in g else "0" for x in GENRES_100K)
        if y.isdigit():
            lines.append(f"{i}|{t} ({y})|01-Jan-{y}||http://us.imdb.com/M/title-exact?{t.replace(' ', '%20')}|{flags}\n")
        elif y == "V":  # GroupLens: "Title (1995) (V)"; loaders take the year from the trailing "(...)"
            lines.append(f"{i}|{t} (V)|01-Jan-1995||http://us.imdb.com/M/title-exact?x|{flags}\n")
        else:  # GroupLens' unknown item: no title year, no dates, no URL
            lines.append(f"{i}|{t}||||{flags}\n")
    _write(d / "u.item", lines, "latin-1")
    _write(d / "u.user", [f"{a}|{b}|{c}|{o}|{z}\n" for a, b, c, o, z in
                          us[["user_id", "age", "gender", "occupation", "zip_code"]].itertuples(index=False)], "latin-1")
    return d


def write_1m(directory: Path, fixture: Fixture | None = None, **kw) -> Path:
    """Write an ML-1M-format dataset (``ratings.dat``, ``movies.dat``, ``users.dat``) into ``directory``.

    Genres outside :data:`GENRES_1M` ('unknown') become 'Drama'; years that are not four digits
    become 1995; ages map to the 1M band codes, occupations to codes 0-20.
    """
    fx = fixture or generate(**kw)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    r, it, us = fx.ratings, fx.items, fx.users
    _write(d / "ratings.dat", [f"{a}::{b}::{c}::{t}\n" for a, b, c, t in
                               zip(r.user_id, r.item_id, r.rating, r.timestamp)], "latin-1")
    movies = []
    for i, t, y, g in zip(it.item_id, it.title, it.year, it.genres):
        g1m = [x for x in g if x in GENRES_1M] or ["Drama"]
        title = t if y == "V" else f"{t} ({y if y.isdigit() else 1995})"
        movies.append(f"{i}::{title}::{'|'.join(g1m)}\n")
    _write(d / "movies.dat", movies, "latin-1")
    band = np.asarray(AGE_BANDS_1M)[np.searchsorted(AGE_BANDS_1M, us["age"].to_numpy(), side="right") - 1]
    occ = pd.Index(OCCUPATIONS_100K).get_indexer(us["occupation"]) % 21
    _write(d / "users.dat", [f"{a}::{g}::{b}::{o}::{z}\n" for a, g, b, o, z in
                             zip(us.user_id, us.gender, band, occ, us.zip_code)], "latin-1")
    return d
