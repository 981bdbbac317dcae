"""The model contract every arm follows: ``fit(train, seed, **params) -> Scorer``.

An arm (``harness/arms/<kind>.py``, or any module / file resolved by :mod:`harness.arms.registry`)
exposes one function::

    def fit(train: TrainData, seed: int, **params) -> Scorer

``Scorer.score(users)`` returns dense float32 scores for a batch of users over all items; the
evaluation masks seen items and takes top-k itself, so arms never see test data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from harness.design.prepare import TrainData  # noqa: F401 (the arm's input, defined by the design stage)


class StopTraining(Exception):
    """Raised by an ``on_epoch`` callback to end an epoch-trained arm's training early (the model
    trained so far is kept by whoever raised it: the runner's validation curve)."""


#: Parameters every epoch-trained arm (``SUPPORTS_CURVES``) accepts besides its own: ``epochs="auto"``
#: stops on the validation window after ``patience`` epochs without improvement, at most ``max_epochs``;
#: ``refit`` is ``"full"`` (refit the chosen epochs on the whole training window) or ``"none"`` (keep the
#: early-stopped inner model).
EPOCH_PARAMS = ("max_epochs", "patience", "refit", "curve")
#: The values of ``refit``.
REFIT_MODES = ("full", "none")


class Scorer(Protocol):
    """A fitted model: scores a batch of users over all items."""

    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores, float32 array (len(users), n_items); higher is better."""
        ...


@dataclass(frozen=True)
class FactorScorer:
    """Scores as ``user_vecs[users] @ item_vecs.T`` (biases folded into extra columns).

    Attributes
    ----------
    user_vecs : float32 (n_users, d).
    item_vecs : float32 (n_items, d).
    """

    user_vecs: np.ndarray
    item_vecs: np.ndarray

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.user_vecs[users] @ self.item_vecs.T


@dataclass(frozen=True)
class ItemScorer:
    """Scores as ``seen[users] @ sim`` for an item-item matrix (kNN, EASE)."""

    history: sp.csr_matrix
    sim: np.ndarray | sp.csr_matrix

    def score(self, users: np.ndarray) -> np.ndarray:
        out = self.history[users] @ self.sim
        if sp.issparse(out):
            out = out.toarray()
        return np.asarray(out, dtype=np.float32)


@dataclass(frozen=True)
class ConstantScorer:
    """The same item scores for every user (popularity)."""

    item_scores: np.ndarray

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores.astype(np.float32), (len(users), len(self.item_scores))).copy()


def fold_biases(user_emb: np.ndarray, user_bias: np.ndarray, item_emb: np.ndarray,
                item_bias: np.ndarray) -> FactorScorer:
    """Build a FactorScorer with ``score = u.i + b_u + b_i`` as a single matrix product."""
    nu, ni = len(user_emb), len(item_emb)
    u = np.hstack([user_emb, user_bias.reshape(nu, 1), np.ones((nu, 1))]).astype(np.float32)
    i = np.hstack([item_emb, np.ones((ni, 1)), item_bias.reshape(ni, 1)]).astype(np.float32)
    return FactorScorer(np.ascontiguousarray(u), np.ascontiguousarray(i))


def check_epochs(params: dict, arm_name: str) -> None:
    """``epochs`` is a positive int or ``"auto"``; ``max_epochs`` / ``patience`` positive ints and
    ``refit`` one of :data:`REFIT_MODES`, all only with ``epochs="auto"``; ``curve`` (bool) only with fixed
    epochs (it asks for the validation curve, which costs one extra fit); ``"auto"`` does not combine
    with a grid."""
    from harness.errors import HarnessError

    def positive(name: str) -> None:
        v = params[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise HarnessError(f"Arm {arm_name!r}: {name}={v!r} must be a positive integer")

    auto = params.get("epochs") == "auto"
    if isinstance(params.get("epochs"), (int, np.integer)):  # other types: the type check names them
        positive("epochs")
    if "curve" in params:
        if params["curve"] not in (True, False):
            raise HarnessError(f"Arm {arm_name!r}: curve={params['curve']!r} must be True (record the learning curve "
                               "on the validation window: one extra fit per task) or False")
        if auto:
            raise HarnessError(f"Arm {arm_name!r}: curve only applies to fixed epochs; epochs='auto' always records "
                               "the validation curve (it chooses the epochs)")
    for name in EPOCH_PARAMS:
        if name in params and name != "curve":
            if not auto:
                raise HarnessError(f"Arm {arm_name!r}: {name} only applies with epochs='auto'")
            if name != "refit":
                positive(name)
            elif params[name] not in REFIT_MODES:
                raise HarnessError(f"Arm {arm_name!r}: refit={params[name]!r} must be 'full' (refit the chosen "
                                   "epochs on the whole training window) or 'none' (keep the early-stopped model)")
    if auto and "grid" in params:
        raise HarnessError(f"Arm {arm_name!r}: epochs='auto' cannot be combined with grid= (tune epochs "
                           "with the grid instead, e.g. grid={'epochs': [10, 20, 40]})")
