"""A synthetic VK-LSVD: the real on-disk layout with a planted, documented structure.

:func:`generate` writes exactly the files :mod:`harness.data.vk_lsvd` reads (same names, columns,
dtypes and npz arrays as the Hugging Face dataset ``deepvk/VK-LSVD``)::

    <root>/subsamples/<subsample>/train/week_00.parquet ... week_24.parquet
    <root>/subsamples/<subsample>/validation/week_25.parquet
    <root>/metadata/items_metadata.parquet    item_id u32, author_id u32, duration u8, train_interactions_rank u32
    <root>/metadata/users_metadata.parquet    user_id u32, age u8, gender u8, geo u8, train_interactions_rank u32
    <root>/metadata/item_embeddings.npz       item_id (n,) u32, embedding (n, 64) float16

plus two files the reader ignores: ``SYNTHETIC.json`` (parameters and the planted counts) and
``synthetic_truth.npz`` (the latent factors, for tests and for checking what a model recovered).

Planted structure (the "truth")
-------------------------------
* Latent factors: ``u_u, v_i ~ N(0, I_16)``; affinity ``a_ui = u_u . v_i / 4`` (variance 1).
* Item popularity: bias ``b_i = -0.9 log(r_i)`` for a random popularity rank ``r_i`` (Zipf-like skew).
* Exposure: user ``u`` sees ``n_u`` distinct items (VK-LSVD has no repeated user-item exposure),
  drawn without replacement with probability ``softmax(1.5 a_ui + b_i)`` (Gumbel top-k).
  ``n_u = 1 + floor(LogNormal(mu, 1.1))``: heavy-tailed activity (top 10 % of users hold ~40 %
  of interactions), ``mu`` set so the mean is ``mean_interactions``.
* Time: 80 % of users are active from week 0, 20 % arrive in a uniformly random later week 1..25
  (new users). Each exposure falls in a uniform week between the arrival week and 24, or in the
  validation week 25, which gets the weight of ``VALIDATION_WEIGHT`` (3) ordinary weeks so that
  enough users have test positives.
* Watch time: duration ``d_i`` (uint8 s, log-normal around 25 s, 5..255; 0.5 % of items have
  duration 0 to exercise that path). Watch ratio
  ``r = 1.3 sigmoid(1.6 a + 0.8 eps - 2.2) (20 / max(d, 5))^0.15`` plus, with probability
  ``0.1 sigmoid(2a)``, a re-watch of 0.5-2.5 extra plays; ``timespent = min(round(r d), 255)``.
  So ``watch_ratio >= 0.5`` (positive definition P1) is monotone in affinity.
* Reactions: ``P(like) = sigmoid(1.5 a - 4.4)``, ``P(share) = sigmoid(1.2 a - 5.5)``,
  ``P(bookmark) = sigmoid(1.2 a - 5.3)``, ``P(dislike) = sigmoid(-1.5 a - 3.5)``; so
  ``like|share|bookmark`` (P2) is rarer than P1 and also monotone in affinity. On the default
  size ~52 % of rows are P1 positives and ~16 % P2 positives (exposed items have mean affinity ~1.1).
* Content: item embeddings carry a share ``s = content_signal`` of the item signal:
  ``z_i = sqrt(s) v_i + sqrt(1 - s) e_i`` (``e_i ~ N(0, I_16)``), ``embedding_i = z_i W + 0.05 n_i``
  with ``W`` a random 16 x 64 matrix with orthonormal rows and ``n_i ~ N(0, I_64)``; float16 on
  disk. The best linear prediction of ``v_i`` from the embedding explains a share ~``s`` of its
  variance (R^2 ~ s per latent dimension). 3 % of items have no embedding.
* User metadata: ``age`` is 35 + 8 u_u[0] + noise (so age segments differ in taste), gender and geo
  are random; 1 % of interacting users are missing from users_metadata.
* Cold items (``cold_items > 0``, dataset ``synthetic-vk:cold``; none by default): extra items with
  their own factors, popularity and embedding (same projection) that are exposed only in the
  validation week, to each user Poisson(expected validation exposures x cold share) times, by the
  same Gumbel top-k and with the same signals; drawn from separate random streams, so every other
  row, id and array is byte-identical to the dataset without them (``synthetic_truth.npz`` gains
  ``cold_item_*`` arrays).
* Noise for the reader: 5 % extra items and users exist only in metadata; a handful
  (``N_DUPLICATES``) of interaction rows are written twice (exact copies, same week file).

What a model should find: a CF model (e.g. LightFM without features) can learn ``v_i`` and ``b_i``
of items with enough training interactions, so for active users on warm items content adds little
beyond what the interactions already show, and at ``s < 1`` the noisy part of the embedding can only
hurt; a content-only model can recover at most the share ``s`` of the item signal (and no
popularity); content helps most for items with few training interactions.

Determinism: everything derives from ``seed`` through ``numpy.random.SeedSequence`` streams (one
for items/users, one per user batch); the same arguments give byte-identical files.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.errors import HarnessError

#: Bump when the generated data changes; part of the cache directory name used by :func:`ensure`.
GENERATOR_VERSION = 3
#: Subsample directory name written by default.
SUBSAMPLE = "synthetic"
N_WEEKS = 26
VALIDATION_WEEK = 25
LATENT_DIM = 16
EMBED_DIM = 64
#: Weight of the validation week relative to one training week (see module docstring).
VALIDATION_WEIGHT = 3.0
#: Number of interaction rows written twice (exact duplicates).
N_DUPLICATES = 7
#: Default size at ``scale=1`` (the ``synthetic-vk`` dataset).
DEFAULT_USERS = 3000
DEFAULT_ITEMS = 2000
DEFAULT_MEAN_INTERACTIONS = 55.0
#: Cold items of ``synthetic-vk:cold`` (first exposed in the validation week).
DEFAULT_COLD_ITEMS = 200

#: Rows buffered per week file before a row group is written (bounds memory when generating at scale).
_ROW_GROUP_ROWS = 1 << 18

_INTERACTION_SCHEMA = pa.schema([
    ("user_id", pa.uint32()), ("item_id", pa.uint32()), ("place", pa.uint8()), ("platform", pa.uint8()),
    ("agent", pa.uint8()), ("timespent", pa.uint8()), ("like", pa.bool_()), ("dislike", pa.bool_()),
    ("share", pa.bool_()), ("bookmark", pa.bool_()), ("click_on_author", pa.bool_()),
    ("open_comments", pa.bool_()),
])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=tuple(key)))


def _batch_users(n_items: int) -> int:
    """Users per generation batch: bounds memory to ~3 (batch x n_items) float64 matrices."""
    return int(max(64, min(4096, (1 << 22) // max(n_items, 1))))


def _items(seed: int, n_items: int, n_extra: int, content_signal: float) -> dict[str, np.ndarray]:
    """Item-side truth and metadata; items ``n_items..`` exist only in metadata."""
    rng = _rng(seed, 0)
    n_all = n_items + n_extra
    item_id = np.sort(rng.choice(10 * n_all + 1000, n_all, replace=False)).astype(np.uint32) + np.uint32(1)
    item_id = item_id[rng.permutation(n_all)]          # dense order of the generator != id order
    v = rng.standard_normal((n_all, LATENT_DIM))
    bias = -0.9 * np.log1p(rng.permutation(n_all).astype(np.float64))
    duration = np.clip(np.round(np.exp(rng.normal(np.log(25.0), 0.7, n_all))), 5, 255).astype(np.uint8)
    duration[rng.random(n_all) < 0.005] = 0
    n_authors = max(1, n_all // 8)
    author_id = (rng.zipf(1.6, n_all) % n_authors).astype(np.uint32) + np.uint32(100)
    # content embedding: sqrt(s) * signal + sqrt(1 - s) * noise in latent space, projected to 64 dims
    q, _ = np.linalg.qr(rng.standard_normal((EMBED_DIM, LATENT_DIM)))
    w = q.T                                              # (16, 64), orthonormal rows
    z = np.sqrt(content_signal) * v + np.sqrt(1.0 - content_signal) * rng.standard_normal(v.shape)
    emb = (z @ w + 0.05 * rng.standard_normal((n_all, EMBED_DIM))).astype(np.float16)
    has_emb = rng.random(n_all) >= 0.03
    return {"item_id": item_id, "v": v, "bias": bias, "duration": duration, "author_id": author_id,
            "embedding": emb, "has_embedding": has_emb, "projection": w}


def _users(seed: int, n_users: int, n_extra: int, mean_interactions: float) -> dict[str, np.ndarray]:
    rng = _rng(seed, 1)
    n_all = n_users + n_extra
    user_id = np.sort(rng.choice(8 * n_all + 1000, n_all, replace=False)).astype(np.uint32) + np.uint32(1)
    user_id = user_id[rng.permutation(n_all)]
    sigma = 1.1
    mu = np.log(max(mean_interactions - 0.5, 1.0)) - sigma ** 2 / 2
    n_int = 1 + np.floor(np.exp(rng.normal(mu, sigma, n_all))).astype(np.int64)
    start = np.where(rng.random(n_all) < 0.8, 0, rng.integers(1, N_WEEKS, n_all))
    u = rng.standard_normal((n_all, LATENT_DIM))
    age = np.clip(np.round(35 + 8 * u[:, 0] + rng.normal(0, 6, n_all)), 14, 90).astype(np.uint8)
    gender = rng.integers(1, 3, n_all).astype(np.uint8)
    geo = np.minimum(rng.zipf(1.8, n_all), 80).astype(np.uint8)
    has_meta = rng.random(n_all) >= 0.01
    return {"user_id": user_id, "u": u, "n_int": n_int, "start": start, "age": age, "gender": gender,
            "geo": geo, "has_meta": has_meta}


def _sample_batch(rng: np.random.Generator, u: np.ndarray, n_int: np.ndarray, start: np.ndarray,
                  items: dict, n_items: int) -> dict[str, np.ndarray]:
    """Interactions of one user batch (local user index, item index, week and signals)."""
    v, bias, duration = items["v"][:n_items], items["bias"][:n_items], items["duration"][:n_items]
    aff = (u @ v.T) / np.sqrt(LATENT_DIM)                        # (B, I) affinity, variance ~1
    g = 1.5 * aff + bias - np.log(-np.log(rng.random(aff.shape)))  # Gumbel top-k = sampling w/o replacement
    k = np.minimum(n_int, n_items // 3)
    kmax = int(k.max())
    top = np.argpartition(-g, kmax - 1, axis=1)[:, :kmax] if kmax < n_items else np.argsort(-g, axis=1)
    order = np.argsort(-np.take_along_axis(g, top, axis=1), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    keep = np.arange(kmax)[None, :] < k[:, None]
    user = np.broadcast_to(np.arange(len(u))[:, None], top.shape)[keep]
    item = top[keep]
    a = aff[user, item]
    n = len(item)
    # week: uniform over [start, 24] plus the validation week with VALIDATION_WEIGHT
    n_train_weeks = (VALIDATION_WEEK - start[user]).astype(np.float64)
    x = rng.random(n) * (n_train_weeks + VALIDATION_WEIGHT)
    week = np.where(x < n_train_weeks, start[user] + np.floor(x).astype(np.int64), VALIDATION_WEEK)
    return {"user": user, "item": item, "week": week, **_signals(rng, a, duration[item])}


def _signals(rng: np.random.Generator, a: np.ndarray, duration: np.ndarray) -> dict[str, np.ndarray]:
    """Watch time, context and reactions of exposures with affinities ``a`` (module docstring)."""
    n = len(a)
    dur = duration.astype(np.float64)
    ratio = 1.3 * _sigmoid(1.6 * a + 0.8 * rng.standard_normal(n) - 2.2) * (20.0 / np.maximum(dur, 5)) ** 0.15
    rewatch = rng.random(n) < 0.1 * _sigmoid(2 * a)
    ratio = ratio + rewatch * rng.uniform(0.5, 2.5, n)
    spent = np.where(dur > 0, np.round(ratio * dur), rng.integers(0, 30, n))
    out = {
        "place": np.minimum(rng.geometric(0.45, n) - 1, 23).astype(np.uint8),
        "platform": np.minimum(rng.geometric(0.6, n) - 1, 10).astype(np.uint8),
        "agent": np.minimum(rng.geometric(0.5, n) - 1, 28).astype(np.uint8),
        "timespent": np.clip(spent, 0, 255).astype(np.uint8),
        "like": rng.random(n) < _sigmoid(1.5 * a - 4.4),
        "dislike": rng.random(n) < _sigmoid(-1.5 * a - 3.5),
        "share": rng.random(n) < _sigmoid(1.2 * a - 5.5),
        "bookmark": rng.random(n) < _sigmoid(1.2 * a - 5.3),
        "click_on_author": rng.random(n) < _sigmoid(0.8 * a - 5.0),
        "open_comments": rng.random(n) < _sigmoid(0.8 * a - 4.0),
    }
    return out


def _cold(seed: int, n_cold: int, items: dict, content_signal: float) -> dict[str, np.ndarray]:
    """Items first exposed in the validation week (``cold_items``), from their own random stream so
    the rest of the dataset is unchanged: same priors as other items, content through the same
    projection (all with an embedding), ids above every other item id."""
    rng = _rng(seed, 3)
    v = rng.standard_normal((n_cold, LATENT_DIM))
    n_all = len(items["item_id"])
    bias = -0.9 * np.log1p(rng.integers(0, n_all, n_cold).astype(np.float64))
    duration = np.clip(np.round(np.exp(rng.normal(np.log(25.0), 0.7, n_cold))), 5, 255).astype(np.uint8)
    author_id = items["author_id"][rng.integers(0, n_all, n_cold)]
    z = np.sqrt(content_signal) * v + np.sqrt(1.0 - content_signal) * rng.standard_normal(v.shape)
    emb = (z @ items["projection"] + 0.05 * rng.standard_normal((n_cold, EMBED_DIM))).astype(np.float16)
    ids = np.sort(rng.choice(10 * n_cold + 100, n_cold, replace=False)).astype(np.uint32)
    ids = (ids + items["item_id"].max() + np.uint32(1))[rng.permutation(n_cold)]
    return {"item_id": ids, "v": v, "bias": bias, "duration": duration, "author_id": author_id, "embedding": emb}


def _sample_cold(rng: np.random.Generator, u: np.ndarray, n_int: np.ndarray, start: np.ndarray, cold: dict,
                 share: float) -> dict[str, np.ndarray]:
    """Validation-week exposures of one user batch to the cold items: Poisson(expected validation
    exposures x ``share``) per user, drawn like other exposures (Gumbel top-k over ``1.5 a + b``)."""
    n_cold = len(cold["item_id"])
    val_share = VALIDATION_WEIGHT / ((VALIDATION_WEEK - start).astype(np.float64) + VALIDATION_WEIGHT)
    m = np.minimum(rng.poisson(n_int * val_share * share), n_cold)
    aff = (u @ cold["v"].T) / np.sqrt(LATENT_DIM)
    g = 1.5 * aff + cold["bias"] - np.log(-np.log(rng.random(aff.shape)))
    order = np.argsort(-g, axis=1, kind="stable")
    keep = np.arange(n_cold)[None, :] < m[:, None]
    user = np.broadcast_to(np.arange(len(u))[:, None], order.shape)[keep]
    item = order[keep]
    a = aff[user, item]
    return {"user": user, "item": item, "week": np.full(len(item), VALIDATION_WEEK, dtype=np.int64),
            **_signals(rng, a, cold["duration"][item])}


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


def generate(root: Path, *, n_users: int = DEFAULT_USERS, n_items: int = DEFAULT_ITEMS, seed: int = 0,
             content_signal: float = 0.5, scale: int = 1, subsample: str = SUBSAMPLE,
             mean_interactions: float = DEFAULT_MEAN_INTERACTIONS, cold_items: int = 0) -> Path:
    """Write a synthetic VK-LSVD into ``root`` (replacing it) and return ``root``.

    Parameters
    ----------
    root : target directory; built in a temporary directory beside it and renamed into place, so a
        crash never leaves a half-written dataset at ``root``.
    n_users, n_items : users and items that interact at ``scale=1`` (5 % more of each exist only
        in the metadata files).
    seed : everything is deterministic given the arguments.
    content_signal : share ``s`` in [0, 1] of the item latent signal carried by the embeddings.
    scale : multiplies the number of users (and so the interaction count); items are unchanged.
    subsample : name of the ``subsamples/<name>`` directory.
    mean_interactions : mean exposures per user (before the per-user cap of ``n_items // 3``).
    cold_items : extra items first exposed in the validation week (0: none, and the files are exactly
        those without the parameter): own latent factors, popularity and content (same projection),
        exposed to each user Poisson(expected validation exposures x ``cold_items / (n_items + cold_items)``)
        times; from their own random streams, so every other row is unchanged.

    Returns
    -------
    Path : ``root``.
    """
    if not 0.0 <= float(content_signal) <= 1.0:
        raise HarnessError(f"synthetic: content_signal={content_signal} must be in [0, 1]")
    if int(scale) < 1 or int(n_users) < 1 or int(n_items) < 30:
        raise HarnessError(f"synthetic: need scale >= 1, n_users >= 1, n_items >= 30 "
                           f"(got scale={scale}, n_users={n_users}, n_items={n_items})")
    if mean_interactions < 1:
        raise HarnessError(f"synthetic: mean_interactions={mean_interactions} must be >= 1")
    if isinstance(cold_items, bool) or not isinstance(cold_items, int) or cold_items < 0:
        raise HarnessError(f"synthetic: cold_items={cold_items!r} must be an integer >= 0")
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        _build(tmp, n_users=int(n_users) * int(scale), n_items=int(n_items), seed=int(seed),
               content_signal=float(content_signal), mean_interactions=float(mean_interactions),
               subsample=subsample, cold_items=int(cold_items))
        old = None
        if root.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
            os.replace(root, old / "x")
        os.replace(tmp, root)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def cache_path(cache_dir: Path, scale: int = 1, seed: int = 0, cold_items: int = 0) -> Path:
    """Directory :func:`ensure` uses: ``cache_dir/synthetic-vk-x{scale}-s{seed}-v{GENERATOR_VERSION}``
    (plus ``-c{cold_items}`` with cold items)."""
    cold = f"-c{int(cold_items)}" if cold_items else ""
    return Path(cache_dir) / f"synthetic-vk-x{int(scale)}-s{int(seed)}-v{GENERATOR_VERSION}{cold}"


def ensure(cache_dir: Path, scale: int = 1, seed: int = 0, cold_items: int = 0) -> Path:
    """Generate the default synthetic dataset once into :func:`cache_path` and return that root."""
    root = cache_path(cache_dir, scale, seed, cold_items)
    if (root / "SYNTHETIC.json").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        generate(tmp / "d", scale=scale, seed=seed, cold_items=cold_items)
        try:
            os.replace(tmp / "d", root)
        except OSError:
            if not (root / "SYNTHETIC.json").is_file():   # not a concurrent writer that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def load(cache_dir: Path, scale: int = 1, seed: int = 0, name: str = "synthetic-vk"):
    """:func:`ensure` the dataset, then read it with :func:`harness.data.vk_lsvd.load`."""
    from harness.data import vk_lsvd

    return vk_lsvd.load(ensure(cache_dir, scale, seed), SUBSAMPLE, name=name)


def info(root: Path) -> dict:
    """The parameters and planted counts written to ``root/SYNTHETIC.json``."""
    return json.loads((Path(root) / "SYNTHETIC.json").read_text())
