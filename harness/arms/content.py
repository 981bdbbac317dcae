"""Content-only: a user is the mean of the content embeddings of the items they engaged with.

With ``e_i`` the L2-normalised content vector of item ``i`` and ``H_u`` the user's training items
(positives by default, all seen items with ``engaged_only=False``),

    v_u = mean_{i in H_u, i has content} e_i,     score(u, j) = cos(v_u, e_j).

Items without content (an all-zero or non-finite row) score ``NO_CONTENT`` (-2, below any cosine);
users without any history item that has content score 0 on every item that has content.
Scoring is one matrix product: an extra column carries the ``NO_CONTENT`` offset.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from harness.arms.scorer import FactorScorer, TrainData
from harness.arms.itemknn import binarize
from harness.errors import HarnessError

NO_CONTENT = np.float32(-2.0)


def normalised_content(content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-L2-normalised content (float32, zero rows where missing) and the bool mask of items with content."""
    e = np.asarray(content, dtype=np.float64)
    finite = np.isfinite(e).all(axis=1)
    e = np.where(finite[:, None], e, 0.0)
    norms = np.linalg.norm(e, axis=1)
    has = finite & (norms > 0)
    e = np.divide(e, norms[:, None], out=np.zeros_like(e), where=has[:, None])
    return e.astype(np.float32), has


def fit(train: TrainData, seed: int, engaged_only: bool = True) -> FactorScorer:
    """Fit the content-only arm; ``seed`` is unused (deterministic).

    Parameters
    ----------
    engaged_only : build the user vector from training positives (True, default) or from every
        seen training item (False).
    """
    if train.item_content is None:
        raise HarnessError("arm 'content': dataset has no item content; use a dataset with item "
                           "embeddings/genres or another arm")
    if train.item_content.shape[0] != train.n_items:
        raise HarnessError(f"arm 'content': item_content has {train.item_content.shape[0]} rows for "
                           f"{train.n_items} items")
    e, has = normalised_content(train.item_content)
    hist = binarize(train.positives if engaged_only else train.seen)
    hist = hist @ sp.diags(has.astype(np.float32))  # only items with content count in the mean
    user = np.asarray(hist @ e, dtype=np.float64)  # the sum; its direction = the mean's direction
    norms = np.linalg.norm(user, axis=1, keepdims=True)
    user = np.divide(user, norms, out=np.zeros_like(user), where=norms > 0)
    n_users, n_items = train.n_users, train.n_items
    user_vecs = np.hstack([user.astype(np.float32), np.ones((n_users, 1), np.float32)])
    item_vecs = np.hstack([e, np.where(has, 0.0, NO_CONTENT).astype(np.float32).reshape(n_items, 1)])
    return FactorScorer(np.ascontiguousarray(user_vecs), np.ascontiguousarray(item_vecs))
