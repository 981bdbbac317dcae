"""The planted structure of the synthetic VK-LSVD (:mod:`harness.data.synthetic`): draws, no files.

Latent factors, popularity, durations, authors and content embeddings of items (:func:`_items`),
factors, activity, arrival week and metadata of users (:func:`_users`), one user batch's exposures
with their week, watch time, context and reactions (:func:`_sample_batch`, :func:`_signals`), and the
cold items with their validation-week exposures (:func:`_cold`, :func:`_sample_cold`). The formulas
are documented in :mod:`harness.data.synthetic`; every draw comes from a ``numpy.random.SeedSequence``
stream of :func:`_rng`, so the same arguments give the same arrays.
"""
from __future__ import annotations

import numpy as np

N_WEEKS = 26
VALIDATION_WEEK = 25
LATENT_DIM = 16
EMBED_DIM = 64
#: Weight of the validation week relative to one training week (see :mod:`harness.data.synthetic`).
VALIDATION_WEIGHT = 3.0


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
    """Watch time, context and reactions of exposures with affinities ``a`` (:mod:`harness.data.synthetic`)."""
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
