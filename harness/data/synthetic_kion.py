"""A synthetic MTS KION: the real CSV layout with a planted, documented structure (``synthetic-kion``).

:func:`generate` writes exactly the files :mod:`harness.data.kion` reads::

    <root>/interactions.csv   user_id, item_id, last_watch_dt (YYYY-MM-DD), total_dur, watched_pct
    <root>/users.csv          user_id, age ('age_25_34'), income ('income_20_40'), sex ('М'/'Ж'), kids_flg (0/1)
    <root>/items.csv          item_id, content_type, title, release_year, genres, countries, for_kids, age_rating
    <root>/SYNTHETIC.json     parameters and planted counts (the reader ignores it)

Planted structure
-----------------
* Item side: each item has a content type (film 70 % / series), 1-3 genres out of 12 (a
  comma-separated string, as in KION), one or two countries out of 6, a release year and an age rating.
  Its latent vector is ``v_i = sqrt(s) * F_i A / |.| + sqrt(1 - s) * e_i`` (``A`` random, ``e_i ~
  N(0, I_8)``, ``s = feature_signal``): the features carry a share ``s`` of the taste signal.
  Popularity bias ``b_i = -0.8 log(rank_i)`` for a random rank.
* User side: the KION bands (age 6 bands, income 6 bands, sex, kids_flg) are drawn at random and
  ``u_u = sqrt(s) * G_u B / |.| + sqrt(1 - s) * e_u`` the same way; 3 % of users are missing from
  users.csv (their features are all missing).
* Exposure: user u watches ``n_u = 1 + floor(LogNormal)`` distinct items (mean ``mean_interactions``)
  drawn without replacement with probability ``softmax(1.5 a_ui + b_i)``, ``a_ui = u_u . v_i / sqrt(8)``.
* Watching: ``watched_pct = 100 sigmoid(2 a_ui + 0.7 eps - 0.3)`` (positives ``watched_pct >= 50`` are
  monotone in affinity), 2 % of rows have it missing; ``total_dur = watched_pct / 100 * duration``.
* Time: ``N_DAYS`` days (2021-07-01 onwards), the last 7 are KION's test window. A share
  ``cold_share`` of users arrive inside the test window (cold users: no training interaction, only
  their metadata), the rest on a uniform day before it; each watch falls on a uniform day between
  arrival and the last day.

So a model that reads user metadata can rank for cold users better than popularity, and item
features let a model generalise across items; the interactions hold the part of the taste
(``1 - s``) the features do not. Deterministic: the same arguments give byte-identical files.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.safe_write import make_temp_dir
from harness.errors import HarnessError

GENERATOR_VERSION = 1
LATENT_DIM = 8
N_DAYS = 63
TEST_DAYS = 7
START = np.datetime64("2021-07-01")
DEFAULT_USERS = 4000
DEFAULT_ITEMS = 1200
DEFAULT_MEAN_INTERACTIONS = 16.0
GENRES = ("боевики", "детективы", "документальное", "драмы", "комедии", "мелодрамы", "мультфильм",
          "приключения", "семейное", "триллеры", "ужасы", "фантастика")
COUNTRIES = ("Великобритания", "Индия", "Корея Южная", "Россия", "США", "Франция")
AGES = ("age_18_24", "age_25_34", "age_35_44", "age_45_54", "age_55_64", "age_65_inf")
INCOMES = ("income_0_20", "income_20_40", "income_40_60", "income_60_90", "income_90_150", "income_150_inf")
AGE_RATINGS = (0, 6, 12, 16, 18)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=tuple(key)))


def _latent(features: np.ndarray, rng: np.random.Generator, signal: float) -> np.ndarray:
    """``sqrt(s) * standardised(F A) + sqrt(1 - s) * noise``: per dimension variance ~1."""
    proj = features @ rng.standard_normal((features.shape[1], LATENT_DIM))
    proj = (proj - proj.mean(axis=0)) / np.maximum(proj.std(axis=0), 1e-9)
    return np.sqrt(signal) * proj + np.sqrt(1.0 - signal) * rng.standard_normal(proj.shape)


def _items(seed: int, n: int, signal: float) -> dict:
    rng = _rng(seed, 0)
    series = rng.random(n) < 0.3
    n_genres = rng.integers(1, 4, n)
    g = np.zeros((n, len(GENRES)))
    for k in range(3):  # up to 3 distinct genres, popular genres first
        pick = rng.choice(len(GENRES), n, p=np.linspace(2, 1, len(GENRES)) / np.linspace(2, 1, len(GENRES)).sum())
        g[np.arange(n)[k < n_genres], pick[k < n_genres]] = 1
    c = np.zeros((n, len(COUNTRIES)))
    c[np.arange(n), rng.choice(len(COUNTRIES), n, p=[0.08, 0.04, 0.06, 0.4, 0.34, 0.08])] = 1
    second = rng.random(n) < 0.15
    c[np.arange(n)[second], rng.integers(0, len(COUNTRIES), int(second.sum()))] = 1
    year = np.clip(np.round(2021 - rng.gamma(2.0, 6.0, n)), 1950, 2021).astype(int)
    rating = rng.choice(AGE_RATINGS, n)
    feats = np.hstack([g, c, series[:, None], ((year - 2010) / 10.0)[:, None], (rating / 18.0)[:, None]])
    v = _latent(feats, rng, signal)
    bias = -0.8 * np.log1p(rng.permutation(n).astype(np.float64))
    duration = np.where(series, rng.integers(1800, 3600, n) * 8, rng.integers(4800, 9000, n))
    ids = np.sort(rng.choice(20 * n + 1000, n, replace=False)) + 1
    return {"item_id": ids[rng.permutation(n)], "genres": g, "countries": c, "series": series, "year": year,
            "rating": rating, "v": v, "bias": bias, "duration": duration}


def _users(seed: int, n: int, signal: float, mean_interactions: float, cold_share: float) -> dict:
    rng = _rng(seed, 1)
    age = rng.choice(len(AGES), n, p=[0.15, 0.28, 0.25, 0.16, 0.1, 0.06])
    income = rng.choice(len(INCOMES), n, p=[0.1, 0.35, 0.3, 0.15, 0.07, 0.03])
    sex = rng.random(n) < 0.5
    kids = (rng.random(n) < 0.2 + 0.2 * ((age >= 1) & (age <= 2))).astype(int)
    feats = np.hstack([np.eye(len(AGES))[age], np.eye(len(INCOMES))[income], sex[:, None], kids[:, None]])
    u = _latent(feats, rng, signal)
    sigma = 1.0
    mu = np.log(max(mean_interactions - 0.5, 1.0)) - sigma ** 2 / 2
    n_int = 1 + np.floor(np.exp(rng.normal(mu, sigma, n))).astype(np.int64)
    cold = rng.random(n) < cold_share
    first_test = N_DAYS - TEST_DAYS
    arrival = np.where(cold, rng.integers(first_test, N_DAYS, n), rng.integers(0, first_test, n))
    ids = np.sort(rng.choice(10 * n + 1000, n, replace=False)) + 1
    return {"user_id": ids[rng.permutation(n)], "age": age, "income": income, "sex": sex, "kids": kids, "u": u,
            "n_int": n_int, "arrival": arrival, "has_meta": rng.random(n) >= 0.03, "cold": cold}


def _interactions(seed: int, users: dict, items: dict) -> pd.DataFrame:
    n_items = len(items["item_id"])
    out = []
    step = max(64, (1 << 21) // n_items)
    for b, lo in enumerate(range(0, len(users["user_id"]), step)):
        rng = _rng(seed, 2, b)
        u = users["u"][lo:lo + step]
        aff = u @ items["v"].T / np.sqrt(LATENT_DIM)
        g = 1.5 * aff + items["bias"] - np.log(-np.log(rng.random(aff.shape)))
        k = np.minimum(users["n_int"][lo:lo + step], n_items // 4)
        kmax = int(k.max())
        top = np.argpartition(-g, kmax - 1, axis=1)[:, :kmax]
        keep = np.arange(kmax)[None, :] < k[:, None]
        row = np.broadcast_to(np.arange(len(u))[:, None], top.shape)[keep]
        item = top[keep]
        a = aff[row, item]
        n = len(item)
        arrival = users["arrival"][lo + row]
        day = arrival + np.floor(rng.random(n) * (N_DAYS - arrival)).astype(np.int64)
        pct = np.round(100.0 / (1.0 + np.exp(-(2.0 * a + 0.7 * rng.standard_normal(n) - 0.3))))
        pct = np.where(rng.random(n) < 0.02, np.nan, pct)
        dur = np.round(np.nan_to_num(pct, nan=30.0) / 100.0 * items["duration"][item]).astype(np.int64)
        out.append(pd.DataFrame({"user_id": users["user_id"][lo + row], "item_id": items["item_id"][item],
                                 "last_watch_dt": (START + day).astype(str), "total_dur": dur, "watched_pct": pct}))
    return pd.concat(out, ignore_index=True)


def _join(onehot: np.ndarray, names: tuple[str, ...]) -> list[str]:
    return [", ".join(names[j] for j in np.flatnonzero(row)) for row in onehot]


def _build(tmp: Path, *, n_users: int, n_items: int, seed: int, feature_signal: float, mean_interactions: float,
           cold_share: float) -> dict:
    items = _items(seed, n_items, feature_signal)
    users = _users(seed, n_users, feature_signal, mean_interactions, cold_share)
    inter = _interactions(seed, users, items)
    inter.to_csv(tmp / "interactions.csv", index=False, float_format="%.0f")
    m = users["has_meta"]
    pd.DataFrame({"user_id": users["user_id"][m], "age": np.asarray(AGES)[users["age"][m]],
                  "income": np.asarray(INCOMES)[users["income"][m]],
                  "sex": np.where(users["sex"][m], "М", "Ж"), "kids_flg": users["kids"][m]}
                 ).to_csv(tmp / "users.csv", index=False)
    pd.DataFrame({"item_id": items["item_id"], "content_type": np.where(items["series"], "series", "film"),
                  "title": [f"title {i}" for i in items["item_id"]], "release_year": items["year"],
                  "genres": _join(items["genres"], GENRES), "countries": _join(items["countries"], COUNTRIES),
                  "for_kids": (items["rating"] <= 6).astype(int), "age_rating": items["rating"]}
                 ).to_csv(tmp / "items.csv", index=False)
    info = {"generator_version": GENERATOR_VERSION, "seed": int(seed), "n_users": int(n_users),
            "n_items": int(n_items), "feature_signal": float(feature_signal),
            "mean_interactions": float(mean_interactions), "cold_share": float(cold_share), "rows": int(len(inter)),
            "cold_users": int(users["cold"].sum()), "users_without_metadata": int((~m).sum())}
    (tmp / "SYNTHETIC.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info


def generate(root: Path, *, n_users: int = DEFAULT_USERS, n_items: int = DEFAULT_ITEMS, seed: int = 0,
             feature_signal: float = 0.6, mean_interactions: float = DEFAULT_MEAN_INTERACTIONS,
             cold_share: float = 0.1) -> Path:
    """Write a synthetic KION into ``root`` (built beside it, renamed into place) and return ``root``.

    Parameters
    ----------
    n_users, n_items : sizes. seed : everything is deterministic given the arguments.
    feature_signal : share ``s`` in [0, 1] of the user and item taste carried by their features.
    mean_interactions : mean watched items per user. cold_share : users arriving in the test week.
    """
    if not 0.0 <= float(feature_signal) <= 1.0 or not 0.0 <= float(cold_share) < 1.0:
        raise HarnessError(f"synthetic-kion: feature_signal={feature_signal} must be in [0, 1] and "
                           f"cold_share={cold_share} in [0, 1)")
    if int(n_users) < 10 or int(n_items) < 40 or mean_interactions < 1:
        raise HarnessError(f"synthetic-kion: need n_users >= 10, n_items >= 40, mean_interactions >= 1 "
                           f"(got {n_users}, {n_items}, {mean_interactions})")
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(root.parent, f".{root.name}.tmp-")
    try:
        _build(tmp, n_users=int(n_users), n_items=int(n_items), seed=int(seed), feature_signal=float(feature_signal),
               mean_interactions=float(mean_interactions), cold_share=float(cold_share))
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def cache_path(cache_dir: Path, scale: int = 1, seed: int = 0) -> Path:
    return Path(cache_dir) / f"synthetic-kion-x{int(scale)}-s{int(seed)}-v{GENERATOR_VERSION}"


def ensure(cache_dir: Path, scale: int = 1, seed: int = 0) -> Path:
    """Generate the default synthetic KION once into :func:`cache_path` and return that root."""
    root = cache_path(cache_dir, scale, seed)
    if (root / "SYNTHETIC.json").is_file():
        return root
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(Path(cache_dir), f".{root.name}.tmp-")
    try:
        generate(tmp / "d", n_users=DEFAULT_USERS * int(scale), seed=seed)
        try:
            os.replace(tmp / "d", root)
        except OSError:
            if not (root / "SYNTHETIC.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root
