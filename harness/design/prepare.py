"""Turn (data, split, positive definition) into what arms train on and evaluation scores against."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from harness.design import feedback
from harness.data.base import Interactions
from harness.design.split import SplitResult


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
    user_ids, item_ids : the raw ids of the dense indices, (n_users,) and (n_items,), or None (for
        arms that read files keyed by raw ids, e.g. a precomputed run).
    """

    positives: sp.csr_matrix
    seen: sp.csr_matrix
    item_content: np.ndarray | None = None
    user_meta: pd.DataFrame | None = None
    item_meta: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    user_ids: np.ndarray | None = None
    item_ids: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return int(self.positives.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.positives.shape[1])


@dataclass(frozen=True)
class EvalData:
    """One variant (positive definition) ready for training and evaluation.

    Attributes
    ----------
    variant : the positive definition, e.g. ``"watch_ratio>=0.5"``.
    train : what arms learn from (training window only).
    users : int array (n_eval,), sorted dense indices of evaluated users: at least one training
        positive (or, ``cold_users``, no training interaction at all) and at least one relevant test item.
    relevant : CSR bool (n_users, n_items): test positives on items the user did not interact
        with in training (seen items are masked from rankings, so they can never be hits).
    n_train_pos : int array (n_users,), training positives per user (activity).
    counts : everything dropped or excluded, for the report.
    unit : ``"users"``; ``"items"`` for the item direction (:func:`harness.evaluation.items.prepare_items`),
        where ``users`` holds the evaluated items, ``relevant`` is (n_items, n_candidates),
        ``n_train_pos`` is per item and ``candidates`` the users that may be ranked.
    """

    variant: str
    train: TrainData
    users: np.ndarray
    relevant: sp.csr_matrix
    n_train_pos: np.ndarray
    counts: dict = field(default_factory=dict)
    unit: str = "users"
    candidates: np.ndarray | None = None


def _csr(users: np.ndarray, items: np.ndarray, shape: tuple[int, int], dtype=np.float32) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(users), dtype=dtype), (users, items)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1
    return m


def prepare(inter: Interactions, splits: SplitResult, variant: str, cold_users: bool = False) -> EvalData:
    """Build training matrices and the evaluation target for one positive definition; with
    ``cold_users``, users without any training interaction are evaluated too (else excluded, counted)."""
    ev = inter.events
    pos = feedback.positive_mask(variant, ev)
    user = ev["user"].to_numpy()
    item = ev["item"].to_numpy()
    shape = (inter.n_users, inter.n_items)
    tr, te = splits.train, splits.test
    seen = _csr(user[tr], item[tr], shape)
    positives = _csr(user[tr & pos], item[tr & pos], shape)
    test_pos = _csr(user[te & pos], item[te & pos], shape, dtype=bool)
    relevant = (test_pos - test_pos.multiply(seen.astype(bool))).tocsr()
    relevant.eliminate_zeros()
    relevant = relevant.astype(bool)
    n_train_pos = np.diff(positives.indptr)
    n_rel = np.diff(relevant.indptr)
    has_test = np.diff(test_pos.indptr) > 0
    cold = np.diff(seen.indptr) == 0
    users = np.flatnonzero(((n_train_pos > 0) | (cold & cold_users)) & (n_rel > 0)).astype(np.int64)
    counts = {
        "train_positives": int(positives.nnz),
        "train_interactions": int(seen.nnz),
        "test_positives": int(test_pos.nnz),
        "test_positives_seen_in_train": int(test_pos.nnz - relevant.nnz),
        "test_users": int(has_test.sum()),
        "cold_users_excluded": int(((n_train_pos == 0) & (n_rel > 0) & ~(cold & cold_users)).sum()),
        **({"cold_users_evaluated": int((cold & (n_rel > 0)).sum())} if cold_users else {}),
        "users_without_relevant_excluded": int(((n_train_pos > 0) & has_test & (n_rel == 0)).sum()),
        "eval_users": int(len(users)),
    }
    if "watch_ratio" in feedback.columns(variant) and "watch_ratio" in ev.columns:
        counts["rows_without_watch_ratio"] = int(ev["watch_ratio"].isna().sum())
    train = TrainData(positives=positives, seen=seen, item_content=inter.item_content,
                      user_meta=inter.user_meta, item_meta=inter.item_meta, events=ev[tr].assign(positive=pos[tr]).reset_index(drop=True),
                      user_ids=inter.user_ids, item_ids=inter.item_ids)
    return EvalData(variant, train, users, relevant, n_train_pos, counts)
