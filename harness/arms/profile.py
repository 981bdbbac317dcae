"""Interest profile from content: a user is a weighted mix of the mean content vectors of their
watched, engaged and disliked training items; score = cosine(profile, item content).

With ``e_i`` the L2-normalised content vector of item ``i`` and ``mean_S(u)`` the mean of ``e_i``
over the user's training items in set ``S`` that have content (0 when there are none),

    p_u = w_watched mean_watched(u) + w_engaged mean_engaged(u) + w_disliked mean_disliked(u),
    score(u, j) = p_u . e_j / |p_u|,

where watched = every training interaction, engaged = the variant's training positives, disliked =
training rows with ``dislike`` (VK-LSVD). A negative ``disliked`` weight pushes the profile away
from what the user disliked. Items without content score ``NO_CONTENT``; users with a zero profile
score 0 on the others. One matrix product (:class:`~harness.arms.scorer.FactorScorer`), so the item
direction (:mod:`harness.evaluation.items`) uses the transposed fast path. Deterministic (``seed`` unused).

:func:`user_profiles` is shared with :mod:`harness.arms.gmm_profile` (same weights over another item
representation) and usable as user features elsewhere.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from harness.arms.scorer import FactorScorer, TrainData
from harness.arms.content import NO_CONTENT, normalised_content
from harness.arms.itemknn import binarize
from harness.errors import HarnessError

#: The profile weights every profile arm accepts.
WEIGHTS = ("watched", "engaged", "disliked")


def validate(params: dict) -> None:
    """Range checks (run when the hypothesis loads): at least one non-zero weight."""
    if all(float(params.get(w, 1.0 if w == "watched" else 0.0)) == 0.0 for w in WEIGHTS):
        raise HarnessError("profile weights watched, engaged and disliked are all 0; give one a weight, "
                           "e.g. watched=1.0")


def require_content(train: TrainData, arm: str) -> None:
    """One-line error when the data has no item content (or the wrong number of rows)."""
    if train.item_content is None:
        raise HarnessError(f"arm {arm!r}: dataset has no item content; use a dataset with item embeddings "
                           "(e.g. synthetic-vk, vk-lsvd:...) or another arm")
    if train.item_content.shape[0] != train.n_items:
        raise HarnessError(f"arm {arm!r}: item_content has {train.item_content.shape[0]} rows for "
                           f"{train.n_items} items")


def history(train: TrainData, which: str, arm: str) -> sp.csr_matrix:
    """Binary CSR (n_users, n_items) of a user's ``watched`` / ``engaged`` / ``disliked`` training items."""
    if which == "watched":
        return binarize(train.seen)
    if which == "engaged":
        return binarize(train.positives)
    ev = train.events
    if ev is None or "dislike" not in ev.columns:
        raise HarnessError(f"arm {arm!r}: disliked= needs a 'dislike' column in the training events "
                           "(VK-LSVD layouts have it); set disliked=0.0 on this dataset")
    d = ev[ev["dislike"].to_numpy(dtype=bool)]
    m = sp.csr_matrix((np.ones(len(d), np.float32), (d["user"].to_numpy(), d["item"].to_numpy())),
                      shape=(train.n_users, train.n_items))
    return binarize(m)


def user_profiles(train: TrainData, item_vecs: np.ndarray, has: np.ndarray, arm: str, watched: float = 1.0,
                  engaged: float = 0.0, disliked: float = 0.0) -> np.ndarray:
    """float64 (n_users, d): ``sum_S w_S * mean over S(u) of item_vecs`` (items with ``has`` only)."""
    out = np.zeros((train.n_users, item_vecs.shape[1]))
    keep = sp.diags(has.astype(np.float32))
    for which, w in zip(WEIGHTS, (watched, engaged, disliked)):
        if w == 0:
            continue
        h = history(train, which, arm) @ keep      # only items with content count in the mean
        n = np.asarray(h.sum(axis=1)).ravel()
        s = np.asarray(h @ item_vecs, dtype=np.float64)
        out += float(w) * np.divide(s, n[:, None], out=np.zeros_like(s), where=n[:, None] > 0)
    return out


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to L2 norm 1 (zero rows stay zero)."""
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


def scorer(user: np.ndarray, item: np.ndarray, has: np.ndarray) -> FactorScorer:
    """FactorScorer of ``user . item`` with items lacking content at ``NO_CONTENT``."""
    nu, ni = len(user), len(item)
    u = np.hstack([user.astype(np.float32), np.ones((nu, 1), np.float32)])
    i = np.hstack([np.where(has[:, None], item, 0).astype(np.float32),
                   np.where(has, 0.0, NO_CONTENT).astype(np.float32).reshape(ni, 1)])
    return FactorScorer(np.ascontiguousarray(u), np.ascontiguousarray(i))


def profile_features(train: TrainData, watched: float = 1.0, engaged: float = 0.0,
                     disliked: float = 0.0) -> np.ndarray:
    """float32 (n_users, d): the unit-length profile of :func:`fit`, as user features (e.g. LightFM's)."""
    require_content(train, "profile")
    e, has = normalised_content(train.item_content)
    return unit_rows(user_profiles(train, e, has, "profile", watched, engaged, disliked)).astype(np.float32)


def fit(train: TrainData, seed: int, watched: float = 1.0, engaged: float = 0.0,
        disliked: float = 0.0) -> FactorScorer:
    """Fit the mean-embedding interest profile (``seed`` unused: deterministic).

    Parameters
    ----------
    watched, engaged, disliked : weights of the mean content vector of the user's watched (all
        training interactions), engaged (training positives) and disliked training items.
    """
    validate({"watched": watched, "engaged": engaged, "disliked": disliked})
    require_content(train, "profile")
    e, has = normalised_content(train.item_content)
    prof = unit_rows(user_profiles(train, e, has, "profile", watched, engaged, disliked))
    return scorer(prof, e, has)
