"""User segments, computed from training data only (never from test outcomes)."""
from __future__ import annotations

import numpy as np

from harness.data.base import Interactions
from harness.errors import HarnessError
from harness.prepare import EvalData
from harness.spec import Segment


def membership(seg: Segment, data: EvalData, inter: Interactions) -> np.ndarray:
    """Boolean mask over ``data.users``: which evaluated users belong to ``seg``.

    ``activity_quantile``: the threshold is the ``q`` quantile of training positives over all users
    with at least one training positive (so "dense" = top 30 % of active training users for q=0.7);
    members have ``n_train_pos >= threshold`` (or ``<`` with ``above=False``).
    """
    act = data.n_train_pos[data.users]
    p = seg.kwargs
    if seg.kind == "all":
        return np.ones(len(data.users), dtype=bool)
    if seg.kind == "activity_quantile":
        thr = threshold(seg, data)
        return act >= thr if p["above"] else act < thr
    if seg.kind == "history_bucket":
        hi = np.inf if p["high"] is None else p["high"]
        return (act >= p["low"]) & (act < hi)
    if seg.kind == "meta":
        meta = inter.user_meta
        col = p["column"]
        if meta is None or col not in meta.columns:
            have = [] if meta is None else list(meta.columns)
            raise HarnessError(f"segment {seg.name!r}: dataset {inter.name!r} has no user metadata column "
                               f"{col!r} (available: {', '.join(map(str, have)) or 'none'})")
        vals = meta[col].to_numpy()[data.users]
        return np.isin(vals, np.asarray(p["values"], dtype=vals.dtype if vals.dtype != object else object))
    if seg.kind == "new_returning":
        ev = data.train.events
        first = np.full(inter.n_users, np.inf)
        np.minimum.at(first, ev["user"].to_numpy(), ev["time"].to_numpy().astype(float))
        t = ev["time"].to_numpy().astype(float)
        cutoff = np.quantile(t, 0.9) if len(t) else 0.0  # last 10 % of the training window
        new = first[data.users] >= cutoff
        return ~new if p["returning"] else new
    raise HarnessError(f"unknown segment kind {seg.kind!r}")


def threshold(seg: Segment, data: EvalData) -> float:
    """The activity threshold (training positives) of an ``activity_quantile`` segment."""
    active = data.n_train_pos[data.n_train_pos > 0]
    return float(np.quantile(active, seg.kwargs["q"])) if len(active) else 0.0
