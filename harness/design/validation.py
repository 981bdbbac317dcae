"""The validation window inside training: the last share of each user's training interactions, held
out so that tuning (grid, optuna) and learning curves (``epochs="auto"``) never see the test window."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from harness.design.prepare import TrainData
from harness.errors import HarnessError

#: Share of each user's training interactions (latest by time, at least one) held out for validation.
VALIDATION_SHARE = 0.2
#: Validation units (users or items, evenly by index) scored after each epoch, to bound the cost of curves.
CURVE_UNITS = 2000

def validation_split(train: TrainData) -> tuple[TrainData, sp.csr_matrix, np.ndarray]:
    """Inner (train, validation relevant CSR, validation users) from the training window's events."""
    ev = train.events
    if ev is None or "positive" not in ev.columns:
        raise HarnessError("tuning needs the training events; this is a harness bug if you see it")
    user = ev["user"].to_numpy()
    order = np.lexsort((np.arange(len(ev)), ev["time"].to_numpy(), user))
    n_per_user = np.bincount(user, minlength=train.n_users)
    starts = np.concatenate([[0], np.cumsum(n_per_user)[:-1]])
    u_sorted = user[order]
    from_end = n_per_user[u_sorted] - (np.arange(len(ev)) - starts[u_sorted])
    n_val = np.maximum(1, np.floor(VALIDATION_SHARE * n_per_user)).astype(int)
    is_val = np.zeros(len(ev), dtype=bool)
    is_val[order] = (from_end <= n_val[u_sorted]) & (n_per_user[u_sorted] >= 2)
    item, pos = ev["item"].to_numpy(), ev["positive"].to_numpy()
    shape = (train.n_users, train.n_items)

    def csr(mask: np.ndarray) -> sp.csr_matrix:
        m = sp.csr_matrix((np.ones(int(mask.sum()), dtype=np.float32), (user[mask], item[mask])), shape=shape)
        m.sum_duplicates()
        m.data[:] = 1
        return m

    seen = csr(~is_val)
    positives = csr(~is_val & pos)
    val = csr(is_val & pos)
    val = (val - val.multiply(seen)).tocsr()
    val.eliminate_zeros()
    users = np.flatnonzero((np.diff(positives.indptr) > 0) & (np.diff(val.indptr) > 0))
    if len(users) == 0:
        raise HarnessError("tuning: no user has a validation positive in the last part of the training window; "
                           "drop the grid or use more training data")
    inner = replace(train, positives=positives, seen=seen, events=ev[~is_val].reset_index(drop=True))
    return inner, val.astype(bool), users
