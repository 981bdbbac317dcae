"""Check an arm against the contract: ``python -m harness check-arm mypkg.recs:fit`` or, in a test,
``assert check_arm("mypkg.recs:fit").ok``.

On a small generated training set (:func:`toy_train`, 57 users x 31 items, so a transposed
score matrix is caught), the arm must:

1. resolve (:mod:`harness.arms.registry`) and accept its parameters (names, types, ranges);
2. fit and return an object with ``score(users)``;
3. score a batch as a float32 array of shape (len(users), n_items);
4. give no NaN scores;
5. give identical scores when fitted twice with the same seed (randomness only from ``seed``);
6. score a user the same in any batch (relative tolerance 1e-5);
7. leave the training data untouched (compared with a hash after ``fit``).

The arm never sees test data: ``fit`` gets :class:`~harness.arms.scorer.TrainData` (training window
only) and the evaluation ranks its scores itself.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from harness.arms.scorer import TrainData
from harness.arms.registry import check_params
from harness.errors import HarnessError

CHECKS = ("resolves", "fits", "shape", "dtype", "no NaN", "deterministic for a seed", "batch-consistent",
          "inputs untouched")


@dataclass(frozen=True)
class ArmCheck:
    """Outcome of :func:`check_arm`.

    Attributes
    ----------
    kind : the arm checked.
    passed : names of the checks passed, in order.
    failure : ``None`` when every check passed, else one line: the first failed check and the fix.
    """

    kind: str
    passed: tuple[str, ...]
    failure: str | None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def line(self) -> str:
        if self.ok:
            return f"ok: {self.kind} passes the arm contract ({', '.join(self.passed)})"
        return f"FAIL: {self.kind}: {self.failure}"


def toy_train(seed: int = 0, n_users: int = 57, n_items: int = 31) -> TrainData:
    """A small training set with popular items, a few non-positive interactions and 8 content dims."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    pop /= pop.sum()
    rows, cols, pos = [], [], []
    for u in range(n_users):
        items = rng.choice(n_items, size=int(rng.integers(3, 10)), replace=False, p=pop)
        rows += [u] * len(items)
        cols += list(items)
        pos += list(rng.random(len(items)) < 0.8)
    rows, cols, pos = np.array(rows), np.array(cols), np.array(pos)
    pos[np.r_[0, np.flatnonzero(np.diff(rows)) + 1]] = True  # every user has a positive
    seen = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    positives = sp.csr_matrix((np.ones(int(pos.sum()), np.float32), (rows[pos], cols[pos])), shape=(n_users, n_items))
    events = pd.DataFrame({"user": rows.astype(np.int32), "item": cols.astype(np.int32),
                           "time": np.arange(len(rows), dtype=np.int64), "positive": pos})
    return TrainData(positives=positives, seen=seen, item_content=rng.normal(size=(n_items, 8)).astype(np.float32),
                     events=events, user_ids=np.arange(100, 100 + n_users), item_ids=np.arange(500, 500 + n_items))


def _copy(train: TrainData) -> TrainData:
    """A deep copy (model libraries such as implicit need writable buffers, so no read-only views)."""
    return replace(train, positives=train.positives.copy(), seen=train.seen.copy(),
                   item_content=train.item_content.copy(), events=train.events.copy())


def _digest(train: TrainData) -> str:
    h = hashlib.sha256()
    for m in (train.positives, train.seen):
        for a in (m.data, m.indices, m.indptr):
            h.update(np.ascontiguousarray(a).tobytes())
    h.update(train.item_content.tobytes())
    h.update(pd.util.hash_pandas_object(train.events, index=True).to_numpy().tobytes())
    return h.hexdigest()


def check_arm(kind: str, params: dict[str, Any] | None = None, seed: int = 3) -> ArmCheck:
    """Run the contract checks (module docstring) on arm ``kind`` with ``params``; never raises for a
    broken arm, the result says what failed."""
    params = dict(params or {})
    passed: list[str] = []

    def fail(msg: str) -> ArmCheck:
        return ArmCheck(kind, tuple(passed), msg)

    try:
        fit = check_params(kind, params, kind).fit
    except HarnessError as e:
        return fail(f"resolves: {e}")
    passed.append("resolves")
    base = toy_train()
    train = _copy(base)
    before = _digest(train)
    try:
        scorer = fit(train, seed, **params)
    except Exception as e:  # the arm's own bug: reported, not raised
        return fail(f"fits: fit(train, seed={seed}) raised {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                    "")
    if not callable(getattr(scorer, "score", None)):
        return fail(f"fits: fit returned a {type(scorer).__name__} without a score(users) method")
    passed.append("fits")
    users = np.arange(base.n_users, dtype=np.int64)
    try:
        s = scorer.score(users)
    except Exception as e:
        return fail(f"shape: score(users) raised {type(e).__name__}: {e}")
    shape = getattr(s, "shape", None)
    if shape != (base.n_users, base.n_items):
        return fail(f"shape: score({base.n_users} users) returned shape {shape}; expected (n_users_in_batch, "
                    f"n_items) = ({base.n_users}, {base.n_items})")
    passed.append("shape")
    if getattr(s, "dtype", None) != np.float32:
        return fail(f"dtype: scores are {getattr(s, 'dtype', type(s).__name__)}; return float32 "
                    "(e.g. .astype(np.float32))")
    passed.append("dtype")
    if np.isnan(s).any():
        return fail(f"no NaN: {int(np.isnan(s).any(axis=1).sum())} users got NaN scores; NaN cannot be ranked")
    passed.append("no NaN")
    again = fit(_copy(base), seed, **params).score(users)
    if not np.array_equal(np.asarray(again), s):
        return fail(f"deterministic for a seed: two fits with seed={seed} gave different scores; draw randomness "
                    "only from np.random.default_rng(seed), never from global state")
    passed.append("deterministic for a seed")
    sub = users[::3][::-1]
    part = np.asarray(scorer.score(sub))
    if part.shape != (len(sub), base.n_items) or not np.allclose(part, s[sub], rtol=1e-5, atol=1e-6, equal_nan=True):
        return fail("batch-consistent: a user's scores depend on which other users are in the batch; score "
                    "each row from that user alone")
    passed.append("batch-consistent")
    if _digest(train) != before:
        return fail("inputs untouched: fit modified the training data (e.g. events); copy before modifying")
    passed.append("inputs untouched")
    return ArmCheck(kind, tuple(passed), None)
