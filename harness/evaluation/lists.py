"""Ranked lists that end before k (a precomputed run): positions past a list's end are empty.

:func:`harness.evaluation.users.evaluate` always fills k positions (items scored ``-inf`` are ranked by index
after the rest), which is right for a model that scores every item but would hand a short exported
list (or a missing user's empty one) free items. :func:`cap_at_list_end` re-computes, for the users
whose list holds fewer than k unseen items, every metric with those padding positions counted as
misses, through the same top-k (:func:`harness.evaluation.users.top_items`) and metric functions
(:mod:`harness.evaluation.metrics`). Novelty and average popularity average over the listed items (0 for an
empty list); ild, calibration, serendipity and aplt see the listed items only (empty positions are
``-1``); coverage counts listed items only.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from harness.evaluation import exposure as E
from harness.evaluation import metrics as M
from harness.evaluation.beyond import LIST_METRICS
from harness.evaluation.users import PerUserScores, hit_matrix, list_context, list_metric, top_items
from harness.spec import parse_metric


def cap_at_list_end(scores: PerUserScores, lengths: np.ndarray, scorer, users: np.ndarray,
                    seen: sp.csr_matrix, relevant: sp.csr_matrix, *,
                    item_content: np.ndarray | None = None) -> PerUserScores:
    """``scores`` with the metrics of users whose list is shorter than k recomputed (see module docstring).

    Parameters
    ----------
    scores : what :func:`harness.evaluation.users.evaluate` returned for ``users``.
    lengths : int (len(users),), unseen listed items per user (the list's real length).
    scorer, users, seen, relevant, item_content : as given to ``evaluate``.
    """
    users = np.asarray(users, dtype=np.int64)
    parsed = {m: parse_metric(m) for m in scores.values}
    kmax = max(k for _, k in parsed.values())
    if not (lengths < kmax).any():
        return scores
    top = top_items(scorer, users, seen, kmax)
    valid = np.arange(top.shape[1])[None, :] < lengths[:, None]
    short = np.flatnonzero(lengths < kmax)
    hits = hit_matrix(top[short], relevant, users[short]) & valid[short]
    n_rel = scores.n_relevant[short]
    values = {m: v.copy() for m, v in scores.values.items()}
    item_users = np.bincount(seen.indices, minlength=seen.shape[1])
    n_train_users = max(int((np.diff(seen.indptr) > 0).sum()), 1)
    ctx = list_context({name for name, _ in parsed.values()}, scorer, seen, item_content)
    for m, (name, k) in parsed.items():
        if name in LIST_METRICS:
            values[m][short] = list_metric(name, np.where(valid[short, :k], top[short, :k], -1), hits, users[short], ctx)
        elif name in ("novelty", "avgpop"):
            t, ok = top[short, :k], valid[short, :k]
            per_item = -np.log2(np.maximum(item_users[t], 1) / n_train_users) if name == "novelty" \
                else item_users[t].astype(np.float64)
            values[m][short] = np.where(ok.any(axis=1), (per_item * ok).sum(axis=1) / np.maximum(ok.sum(axis=1), 1),
                                        0.0)
        else:
            values[m][short] = M.compute(name, k, hits, n_rel)
    coverage, exposure, item_exposure = {}, {}, {}
    padded = np.where(valid, top, -1)
    for name in scores.coverage:
        k = int(name.split("@")[1])
        listed = top[:, :k][valid[:, :k]]
        coverage[name] = float(len(np.unique(listed)) / seen.shape[1])
        if scores.exposure:
            exposure.update(E.catalogue(padded, seen, users, item_users, k))
            item_exposure[f"exposure@{k}"] = E.exposure(padded[:, :k], seen.shape[1], discount=True)
    return replace(scores, values=values, coverage=coverage, exposure=exposure, item_exposure=item_exposure)
