"""User segments, computed from training data only (never from test outcomes), and what each
segment turned out to be on the data (its realised share, threshold and ties)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.base import Interactions
from harness.errors import HarnessError
from harness.design.prepare import EvalData
from harness.spec import Segment


def membership(seg: Segment, data: EvalData, inter: Interactions) -> np.ndarray:
    """Boolean mask over ``data.users``: which evaluated users belong to ``seg``.

    ``activity_quantile``: the threshold is the ``q`` quantile of training positives over all users
    with at least one training positive (so "dense" = top 30 % of active training users for q=0.7);
    users above it are above, users exactly at it follow the segment's ``ties`` rule
    (:func:`above_threshold`); an ``above=False`` segment is the complement.
    """
    act = data.n_train_pos[data.users]
    p = seg.kwargs
    if seg.kind == "all":
        return np.ones(len(data.users), dtype=bool)
    if seg.over_items:  # data.users holds the evaluated items (direction="item_to_users")
        return _item_membership(seg, data, inter)
    if seg.kind == "activity_quantile":
        up = above_threshold(seg, data)[data.users]
        return up if p["above"] else ~up
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


def _item_membership(seg: Segment, data: EvalData, inter: Interactions) -> np.ndarray:
    """Mask over the evaluated items ``data.users``: cold (no training interaction), a popularity
    bucket (training users) or an item metadata value / range."""
    p = seg.kwargs
    n_train_users = np.bincount(data.train.seen.indices, minlength=inter.n_items)[data.users]
    if seg.kind == "cold_items":
        return n_train_users == 0
    if seg.kind == "item_popularity":
        hi = np.inf if p["high"] is None else p["high"]
        return (n_train_users >= p["low"]) & (n_train_users < hi)
    meta, col = inter.item_meta, p["column"]
    if meta is None or col not in meta.columns:
        have = [] if meta is None else list(meta.columns)
        raise HarnessError(f"segment {seg.name!r}: dataset {inter.name!r} has no item metadata column "
                           f"{col!r} (available: {', '.join(map(str, have)) or 'none'})")
    vals = meta[col].to_numpy()[data.users]
    if "values" in p:
        return np.isin(vals, np.asarray(p["values"], dtype=vals.dtype if vals.dtype != object else object))
    with np.errstate(invalid="ignore"):  # NaN (unknown) is in no range
        lo = np.ones(len(vals), dtype=bool) if p["low"] is None else vals.astype(float) >= p["low"]
        hi = np.ones(len(vals), dtype=bool) if p["high"] is None else vals.astype(float) < p["high"]
    return lo & hi


def threshold(seg: Segment, data: EvalData) -> float:
    """The activity threshold (training positives) of an ``activity_quantile`` segment."""
    active = data.n_train_pos[data.n_train_pos > 0]
    return float(np.quantile(active, seg.kwargs["q"])) if len(active) else 0.0


def above_threshold(seg: Segment, data: EvalData) -> np.ndarray:
    """Bool over all users: above an ``activity_quantile`` threshold, ties resolved by the rule.

    ``"above"``: ``n >= threshold``; ``"below"``: ``n > threshold``; ``"random"``: ``n > threshold``
    plus a random subset (``numpy.random.default_rng(seed)``, a permutation of the tied active users
    in index order) of the active users tied at the threshold, as many as bring the count of active
    users above to ``round((1 - q) * n_active)`` (fewer if the ties do not reach it).
    """
    p = seg.kwargs
    n = data.n_train_pos
    thr = threshold(seg, data)
    rule = p.get("ties", "above")
    if rule == "above":
        return n >= thr
    up = n > thr
    if rule == "random":
        active = n > 0
        tied = np.flatnonzero(active & (n == thr))
        need = int(round((1 - p["q"]) * active.sum())) - int((up & active).sum())
        pick = np.random.default_rng(p.get("seed", 0)).permutation(tied)[:max(0, min(need, len(tied)))]
        up[pick] = True
    return up


#: A quantile segment whose realised share of active users is off the requested one by more than
#: this (absolute) or this relative amount of the requested share, whichever is larger, is flagged.
SHARE_TOLERANCE = 0.05
SHARE_REL_TOLERANCE = 0.25


@dataclass(frozen=True)
class SegmentInfo:
    """What a segment turned out to be for one positive definition.

    Attributes
    ----------
    n_users : evaluated users in the segment; ``share`` : their share of evaluated users.
    requested_share : ``activity_quantile`` only: the share of active training users it asks for
        (``1 - q`` above, ``q`` below); ``realised_share`` : the share it got (same base).
    threshold : ``activity_quantile`` only: the activity threshold (training positives);
        ``n_tied`` : active training users exactly at it; ``ties`` : the rule that placed them.
    warning : one line when the realised share is far from the requested one, else None.
    """

    name: str
    n_users: int
    share: float
    requested_share: float | None = None
    realised_share: float | None = None
    threshold: float | None = None
    n_tied: int | None = None
    ties: str | None = None
    warning: str | None = None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "name"}


def describe(seg: Segment, mask: np.ndarray, data: EvalData) -> SegmentInfo:
    """Realised size and share of ``seg`` (``mask`` over ``data.users``); for quantile segments the
    threshold, the ties at it and a warning when the share is far from the requested one."""
    n_eval = len(data.users)
    n_in = int(mask.sum())
    share = n_in / n_eval if n_eval else 0.0
    if seg.kind != "activity_quantile":
        return SegmentInfo(seg.name, n_in, share)
    p = seg.kwargs
    active = data.n_train_pos > 0
    thr = threshold(seg, data)
    up = above_threshold(seg, data)
    in_base = (up if p["above"] else ~up) & active
    realised = float(in_base.sum() / max(int(active.sum()), 1))
    requested = 1 - p["q"] if p["above"] else p["q"]
    tied = int((active & (data.n_train_pos == thr)).sum())
    rule = p.get("ties", "above")
    warning = None
    if abs(realised - requested) > max(SHARE_TOLERANCE, SHARE_REL_TOLERANCE * requested):
        warning = (f"segment {seg.name!r} asks for {100 * requested:.0f} % of active users but holds "
                   f"{100 * realised:.1f} %: {tied} users tie at the threshold of {thr:g} training positives "
                   f"(ties={rule!r}); compare ties='below' or ties='random' in Segment.activity_quantile, "
                   "or use Segment.history_bucket with explicit bounds")
    return SegmentInfo(seg.name, n_in, share, requested, realised, thr, tied, rule, warning)
