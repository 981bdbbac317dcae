"""The model contract every arm follows: ``fit(train, seed, **params) -> Scorer``.

An arm module ``harness/arms/<kind>.py`` exposes one function::

    def fit(train: TrainData, seed: int, **params) -> Scorer

``Scorer.score(users)`` returns dense float32 scores for a batch of users over all items; the
evaluation masks seen items and takes top-k itself, so arms never see test data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True)
class TrainData:
    """Everything an arm may learn from (training window only).

    Attributes
    ----------
    positives : CSR float32 (n_users, n_items), 1.0 for each training positive (users as rows).
    seen : CSR float32 (n_users, n_items), 1.0 for each training interaction (positive or not).
    item_content : float32 (n_items, d) content features or None.
    user_meta, item_meta : metadata frames indexed by dense index, or None.
    events : the training-window events (columns as in Interactions.events plus a bool
        ``positive`` column for the variant), for arms that need
        more than the matrices (e.g. a re-ranker building its own inner split), or None.
    """

    positives: sp.csr_matrix
    seen: sp.csr_matrix
    item_content: np.ndarray | None = None
    user_meta: pd.DataFrame | None = None
    item_meta: pd.DataFrame | None = None
    events: pd.DataFrame | None = None

    @property
    def n_users(self) -> int:
        return int(self.positives.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.positives.shape[1])


class StopTraining(Exception):
    """Raised by an ``on_epoch`` callback to end an epoch-trained arm's training early (the model
    trained so far is kept by whoever raised it: the runner's validation curve)."""


#: Parameters every epoch-trained arm (``SUPPORTS_CURVES``) accepts besides its own: ``epochs="auto"``
#: stops on the validation window after ``patience`` epochs without improvement, at most ``max_epochs``.
EPOCH_PARAMS = ("max_epochs", "patience")


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


def get_fit(kind: str):
    """The ``fit`` function of arm ``kind`` (imported lazily: heavy libraries load only when used)."""
    import importlib

    from harness.errors import HarnessError, suggest
    from harness.spec import ARM_KINDS

    if kind not in ARM_KINDS:
        raise HarnessError(suggest(kind, ARM_KINDS, "arm kind"))
    mod = importlib.import_module(f"harness.arms.{kind}")
    return mod.fit


def check_params(kind: str, params: dict, arm_name: str, preflight: bool = False) -> None:
    """Raise a one-line error for a parameter arm ``kind`` does not take (before any work starts);
    with ``preflight``, also run the arm module's ``preflight()`` (e.g. an optional dependency check)."""
    import inspect

    from harness.errors import HarnessError, suggest

    fit = get_fit(kind)
    accepted = getattr(inspect.getmodule(fit), "PARAMS", None)
    if accepted is None:
        sig = inspect.signature(fit)
        accepted = [n for n, p in sig.parameters.items()
                    if n not in ("train", "seed") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    check = getattr(inspect.getmodule(fit), "preflight", None)
    if preflight and check is not None:
        check()
    grid = params.get("grid") or {}
    if not isinstance(grid, dict):
        raise HarnessError(f"Arm {arm_name!r}: grid must be a dict of parameter -> list of values")
    if getattr(inspect.getmodule(fit), "SUPPORTS_CURVES", False):
        accepted = list(accepted) + list(EPOCH_PARAMS)
        check_epochs(params, arm_name)
    for name in [p for p in params if p != "grid"] + list(grid):
        if name not in accepted:
            raise HarnessError(f"Arm {arm_name!r} ({kind}): " + suggest(name, sorted(accepted), "parameter"))
    for name, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise HarnessError(f"Arm {arm_name!r}: grid[{name!r}] must be a non-empty list of values")


def check_epochs(params: dict, arm_name: str) -> None:
    """``epochs`` is a positive int or ``"auto"``; ``max_epochs`` / ``patience`` positive ints that
    only go with ``epochs="auto"``; ``"auto"`` does not combine with a grid."""
    from harness.errors import HarnessError

    def positive(name: str) -> None:
        v = params[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise HarnessError(f"Arm {arm_name!r}: {name}={v!r} must be a positive integer")

    auto = params.get("epochs") == "auto"
    if "epochs" in params and not auto:
        positive("epochs")
    for name in EPOCH_PARAMS:
        if name in params:
            if not auto:
                raise HarnessError(f"Arm {arm_name!r}: {name} only applies with epochs='auto'")
            positive(name)
    if auto and "grid" in params:
        raise HarnessError(f"Arm {arm_name!r}: epochs='auto' cannot be combined with grid= (tune epochs "
                           "with the grid instead, e.g. grid={'epochs': [10, 20, 40]})")
