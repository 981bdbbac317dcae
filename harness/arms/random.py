"""Uniform random scores: the floor every real arm must clear (a baseline for tests).

Scores are a counter-based hash of ``(seed, user, item)`` (splitmix64), so a user's scores do not
depend on which batch the user is scored in, and no (n_users, n_items) matrix is ever stored.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.arms.scorer import TrainData

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser applied element-wise to a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class RandomScorer:
    """Scores uniform in [0, 1), a fixed function of (seed, user, item).

    Attributes
    ----------
    seed : the arm's seed.
    n_items : number of items (columns of the score matrix).
    """

    seed: int
    n_items: int

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, dtype=np.uint64).reshape(-1, 1)
        items = np.arange(self.n_items, dtype=np.uint64).reshape(1, -1)
        key = _splitmix64(np.array([self.seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
        with np.errstate(over="ignore"):
            h = _splitmix64(_splitmix64(key ^ users) ^ (items * _GOLDEN))
        # top 24 bits -> exactly representable float32 in [0, 1)
        return ((h >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)).astype(np.float32)


#: No hyper-parameters.
PARAMS: tuple[str, ...] = ()


def fit(train: TrainData, seed: int, **params) -> RandomScorer:
    """Random scores from ``seed``; takes no hyper-parameters."""
    if params:
        from harness.errors import HarnessError

        raise HarnessError(f"arm 'random' takes no parameters, got {sorted(params)}")
    return RandomScorer(seed=int(seed), n_items=train.n_items)
