"""Popularity: every user gets the items with the most training positives.

The score of an item is its rank position from the bottom (``n_items - 1 - rank``) in the order
"count of training positives descending, item index ascending", so ties are broken by item index
whatever top-k routine the evaluation uses, and scores are exact in float32 for < 2**24 items.
The counts themselves are :func:`item_counts`.
"""
from __future__ import annotations

import numpy as np

from harness.arms.scorer import ConstantScorer, TrainData
from harness.errors import HarnessError


def item_counts(train: TrainData) -> np.ndarray:
    """Number of training positives per item, int64 (n_items,) - the column sums of ``positives``."""
    x = train.positives.tocsr()
    if not x.has_canonical_format:  # duplicate entries would be counted twice
        x = x.copy()
        x.sum_duplicates()
    return np.bincount(x.indices[x.data != 0], minlength=train.n_items).astype(np.int64)


def rank_scores(counts: np.ndarray) -> np.ndarray:
    """Float32 scores ordering items by ``counts`` descending, ties by item index ascending.

    The most popular item scores ``n - 1``, the least popular 0; all scores are distinct.
    """
    counts = np.asarray(counts)
    n = len(counts)
    order = np.argsort(-counts, kind="stable")  # stable: equal counts keep index order
    scores = np.empty(n, dtype=np.float32)
    scores[order] = np.arange(n - 1, -1, -1, dtype=np.float32)
    return scores


#: No hyper-parameters.
PARAMS: tuple[str, ...] = ()


def fit(train: TrainData, seed: int, **params) -> ConstantScorer:
    """Popularity scores (see module docstring); ``seed`` is unused, no hyper-parameters."""
    if params:
        raise HarnessError(f"arm 'popularity' takes no parameters, got {sorted(params)}")
    return ConstantScorer(rank_scores(item_counts(train)))
