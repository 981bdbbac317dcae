"""Two-stage: ALS top-N candidates re-ranked by a LightGBM LambdaRank model.

No evaluation data is used anywhere: the ranker learns from an inner time split of the TRAINING
window only.

1. Inner split of the (user, item) pairs of ``train.events`` by the time of their first event:
   ``inner_split="time"`` (default) puts pairs before the ``1 - label_fraction`` quantile of the
   event times in the inner history (mirrors a global time-window evaluation); ``"per_user"``
   holds out each user's last ``ceil(label_fraction * n_u)`` items instead (mirrors a per-user
   leave-last-N evaluation). Training positives in the held-out part are the ranker's labels.
2. ALS is fit on the inner-history positives; for each user with inner history and at least
   one label, its top-``candidates`` unseen items (unseen in the inner history) become one
   LambdaRank group, label 1 where the item is a label-window positive. Groups without a
   positive are dropped (they carry no LambdaRank gradient).
3. For scoring, ALS is refit on the full training window (same seed); each user's top
   ``candidates`` items not seen in training are re-ranked by the ranker. Candidates get scores
   ``candidates, candidates - 1, ..., 1`` in the ranker's order (ties by ALS score, then item
   index) so the order is deterministic; every other item gets :data:`LOW`.

Features of a (user, item) pair: ALS score and rank; user history size (positives, seen); numeric
user/item metadata columns (other columns as sorted category codes: :func:`harness.design.features.ordinal_table`); for each non-numeric item
column the popularity of the item's category (e.g. author popularity); item popularity (log1p of
the item's positives in the window relative to the mean item, so the two windows are comparable); cosine of the item's content vector to the user's mean content vector;
the first ``emb_dims`` content dimensions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from harness.design import features
from harness.arms.als import fit_factors
from harness.arms.scorer import TrainData
from harness.arms.content import normalised_content
from harness.arms.itemknn import binarize
from harness.errors import HarnessError

LOW = np.float32(np.finfo(np.float32).min / 2)
_BATCH_ENTRIES = 1 << 23  # scores materialised per batch of users (~32 MB float32)


def preflight() -> None:
    """Fail before any training when LightGBM is missing."""
    _require_lightgbm()


def _require_lightgbm():
    try:
        import lightgbm
    except ImportError:
        raise HarnessError("arm 'rerank' needs LightGBM: pip install -e \".[rerank]\"") from None
    return lightgbm


def _category_popularity(codes: np.ndarray, item_pop: np.ndarray) -> np.ndarray:
    """log1p of the summed popularity of each item's category (e.g. its author); 0 where missing."""
    ok = codes >= 0
    if not ok.any():
        return np.zeros(len(codes))
    total = np.bincount(codes[ok], weights=item_pop[ok], minlength=int(codes.max()) + 1)
    return np.where(ok, np.log1p(total[np.maximum(codes, 0)]), 0.0)


@dataclass(frozen=True)
class _Window:
    """Everything the features need for one window (inner history, or the full training window)."""

    user_vecs: np.ndarray  # ALS (n_users, f)
    item_vecs: np.ndarray  # ALS (n_items, f)
    exclude: sp.csr_matrix  # items never proposed as candidates (seen in the window)
    user_table: np.ndarray  # float32 (n_users, a)
    item_table: np.ndarray  # float32 (n_items, b)
    content_user: np.ndarray | None  # float32 (n_users, d) normalised mean content, or None
    content_item: np.ndarray | None  # float32 (n_items, d) normalised content, or None

    def candidates(self, users: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` unseen items by ALS score, sorted best first: (items, scores), each (len(users), n)."""
        scores = self.user_vecs[users] @ self.item_vecs.T
        ex = self.exclude[users].tocoo()
        scores[ex.row, ex.col] = -np.inf
        n = min(n, scores.shape[1])
        top = np.argpartition(-scores, n - 1, axis=1)[:, :n] if n < scores.shape[1] else \
            np.tile(np.arange(scores.shape[1]), (len(users), 1))
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.lexsort((top, -top_scores), axis=1)  # score desc, item index asc
        return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)

    def features(self, users: np.ndarray, items: np.ndarray, als: np.ndarray) -> np.ndarray:
        """Feature rows (len(users) * n, n_features) for candidate ``items`` (len(users), n)."""
        n = items.shape[1]
        flat_items = items.ravel()
        flat_users = np.repeat(users, n)
        rank = np.tile(np.arange(n, dtype=np.float32), len(users))
        parts = [als.reshape(-1, 1), rank.reshape(-1, 1), self.user_table[flat_users], self.item_table[flat_items]]
        if self.content_user is not None:
            cos = np.einsum("ij,ij->i", self.content_user[flat_users], self.content_item[flat_items])
            parts.append(cos.reshape(-1, 1))
        x = np.hstack(parts).astype(np.float32)
        x[~np.isfinite(x[:, 0]), 0] = np.nan  # a -inf ALS score (fewer unseen items than n) -> missing
        return x


def _window(train: TrainData, positives: sp.csr_matrix, seen: sp.csr_matrix, seed: int, als: dict,
            emb_dims: int) -> _Window:
    """ALS and feature tables for a window given its positives and seen matrices."""
    u, i = fit_factors(positives, seed, **als)
    item_pop = np.bincount(positives.indices, minlength=train.n_items).astype(np.float64)
    umeta, _ = features.ordinal_table(train.user_meta, train.n_users)
    imeta, icodes = features.ordinal_table(train.item_meta, train.n_items)
    user_table = np.column_stack([np.diff(positives.indptr), np.diff(seen.indptr), umeta]).astype(np.float32)
    share = item_pop * train.n_items / max(item_pop.sum(), 1.0)  # comparable across windows of any size
    cat_pop = [_category_popularity(c, share).reshape(-1, 1) for c in icodes]
    item_cols = [np.log1p(share).reshape(-1, 1), imeta] + cat_pop
    c_user = c_item = None
    if train.item_content is not None:
        c_item, has = normalised_content(train.item_content)
        hist = positives @ sp.diags(has.astype(np.float32))
        c_user = np.asarray(hist @ c_item, dtype=np.float32)
        norms = np.linalg.norm(c_user, axis=1, keepdims=True)
        c_user = np.divide(c_user, norms, out=np.zeros_like(c_user), where=norms > 0)
        item_cols.append(features.content_columns(train.item_content, f"embedding[:{int(emb_dims)}]", "emb_dims"))
    item_table = np.hstack(item_cols).astype(np.float32)
    return _Window(u, i, seen, user_table, item_table, c_user, c_item)


def _batches(n_users: int, n_items: int):
    step = max(1, _BATCH_ENTRIES // max(n_items, 1))
    for start in range(0, n_users, step):
        yield start, min(start + step, n_users)


def _inner_split(train: TrainData, label_fraction: float,
                 inner_split: str) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """(inner positives, inner seen, label positives) from the training events' times."""
    ev = train.events
    if ev is None or not {"user", "item", "time"} <= set(ev.columns):
        raise HarnessError("arm 'rerank': needs the training events (columns user, item, time) for its inner "
                           "time split; this dataset/split provides none")
    first = (ev[["user", "item", "time"]].sort_values(["time", "user", "item"], kind="stable")
             .drop_duplicates(["user", "item"], keep="first"))
    if inner_split == "time":
        cutoff = np.quantile(ev["time"].to_numpy(dtype=np.float64), 1.0 - label_fraction)
        before = first["time"].to_numpy(dtype=np.float64) < cutoff
    elif inner_split == "per_user":
        # each user's last ceil(label_fraction * n) distinct items by first time (users with >= 2 items)
        first = first.sort_values(["user", "time", "item"], kind="stable")
        n = first.groupby("user")["item"].transform("size").to_numpy()
        from_end = first.groupby("user").cumcount(ascending=False).to_numpy()
        before = (from_end >= np.ceil(label_fraction * n)) | (n < 2)
    else:
        raise HarnessError(f"arm 'rerank': inner_split must be 'time' or 'per_user', got {inner_split!r}")
    shape = (train.n_users, train.n_items)

    def pairs(mask: np.ndarray) -> sp.csr_matrix:
        m = first[mask]
        return sp.csr_matrix((np.ones(len(m), np.float32), (m["user"].to_numpy(), m["item"].to_numpy())),
                             shape=shape)

    inner_seen, after = pairs(before), pairs(~before)
    pos = binarize(train.positives)
    inner_pos, label_pos = binarize(pos.multiply(inner_seen)), binarize(pos.multiply(after))
    if inner_pos.nnz == 0 or label_pos.nnz == 0:
        raise HarnessError(f"arm 'rerank': the inner time split (label_fraction={label_fraction}) leaves "
                           f"{inner_pos.nnz} history and {label_pos.nnz} label positives; adjust label_fraction")
    return inner_pos, inner_seen, label_pos


def _training_rows(win: _Window, label_pos: sp.csr_matrix, users: np.ndarray, n_cand: int):
    """Feature matrix, labels and group sizes of the ranker's training set (groups with >= 1 positive)."""
    xs, ys, groups = [], [], []
    for a, b in _batches(len(users), win.item_vecs.shape[0]):
        batch = users[a:b]
        items, als = win.candidates(batch, n_cand)
        labels = np.take_along_axis(label_pos[batch].toarray() > 0, items, axis=1)
        labels &= np.isfinite(als)
        keep = labels.any(axis=1)
        if keep.any():
            xs.append(win.features(batch[keep], items[keep], als[keep]))
            ys.append(labels[keep].ravel().astype(np.int32))
            groups.append(np.full(int(keep.sum()), items.shape[1]))
    if not xs:
        raise HarnessError("arm 'rerank': no label-window positive is among the inner ALS candidates; "
                           "increase candidates or label_fraction")
    return np.vstack(xs), np.concatenate(ys), np.concatenate(groups)


@dataclass(frozen=True)
class RerankScorer:
    """ALS candidates re-ranked by a LightGBM booster; see the module docstring for the scores."""

    window: _Window
    booster: object
    n_candidates: int

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users)
        n_items = self.window.item_vecs.shape[0]
        out = np.full((len(users), n_items), LOW, dtype=np.float32)
        for a, b in _batches(len(users), n_items):
            batch = users[a:b]
            items, als = self.window.candidates(batch, self.n_candidates)
            pred = self.booster.predict(self.window.features(batch, items, als), num_threads=1)
            pred = pred.reshape(items.shape)
            order = np.lexsort((items, -als, -pred), axis=1)  # ranker desc, ALS desc, item index asc
            ranked = np.take_along_axis(items, order, axis=1)
            n = items.shape[1]
            pos_scores = np.broadcast_to(np.arange(n, 0, -1, dtype=np.float32), ranked.shape)
            valid = np.isfinite(np.take_along_axis(als, order, axis=1))  # never promote seen items
            rows = np.broadcast_to(np.arange(b - a)[:, None], ranked.shape)
            out[a + rows[valid], ranked[valid]] = pos_scores[valid]
        return out


def fit(train: TrainData, seed: int, candidates: int = 100, label_fraction: float = 0.2,
        factors: int = 64, regularization: float = 0.01, alpha: float = 1.0, iterations: int = 15,
        emb_dims: int = 8, n_estimators: int = 100, learning_rate: float = 0.05, num_leaves: int = 31,
        min_child_samples: int = 20, max_train_users: int = 20_000, inner_split: str = "time") -> RerankScorer:
    """Fit the two-stage arm (see the module docstring).

    Parameters
    ----------
    candidates : ALS candidates per user that the ranker re-orders.
    label_fraction : share of the training window's events (by time, at the end) used as ranker labels.
    factors, regularization, alpha, iterations : ALS hyper-parameters (both ALS fits).
    emb_dims : leading content dimensions used as features.
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM LambdaRank parameters.
    max_train_users : users sampled (with ``seed``) for the ranker's training set, at most.
    inner_split : ``"time"`` (default): the label window is the last ``label_fraction`` of the training
        window's events by time (mirrors a global time-window evaluation); ``"per_user"``: each user's
        last ``label_fraction`` of their own training items (mirrors a per-user leave-last-N evaluation).
    """
    lgb = _require_lightgbm()
    if not 0.0 < label_fraction < 1.0:
        raise HarnessError(f"arm 'rerank': label_fraction must be in (0, 1), got {label_fraction}")
    if int(candidates) < 2:
        raise HarnessError(f"arm 'rerank': candidates must be >= 2, got {candidates}")
    als = {"factors": factors, "regularization": regularization, "alpha": alpha, "iterations": iterations}
    inner_pos, inner_seen, label_pos = _inner_split(train, label_fraction, inner_split)
    inner = _window(train, inner_pos, inner_seen, seed, als, emb_dims)
    users = np.flatnonzero((np.diff(inner_pos.indptr) > 0) & (np.diff(label_pos.indptr) > 0))
    if len(users) > max_train_users:
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_train_users, replace=False))
    x, y, group = _training_rows(inner, label_pos, users, int(candidates))
    ranker = lgb.LGBMRanker(objective="lambdarank", n_estimators=int(n_estimators), learning_rate=learning_rate,
                            num_leaves=int(num_leaves), min_child_samples=int(min_child_samples),
                            random_state=int(seed), n_jobs=1, deterministic=True, force_row_wise=True, verbose=-1)
    ranker.fit(x, y, group=group)
    full = _window(train, binarize(train.positives), binarize(train.seen), seed, als, emb_dims)
    return RerankScorer(full, ranker.booster_, int(candidates))
