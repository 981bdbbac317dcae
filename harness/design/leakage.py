"""The leakage audit of a split, measured on every run: how much of the training data lies in the test
window's future, and how many test positives are items the user could only have met after their training.

For a split with train/test row masks over the events (:class:`harness.design.split.SplitResult`):

- ``test_start``: the earliest time of a test interaction (the start of the test window; for per-user splits
  the earliest any user's test begins).
- ``train_after_test_start``: the share of training interactions strictly later than ``test_start``. 0 for a
  global time split (every training row precedes the test window); large for per-user leave-last and random
  holdouts, whose training windows run on past other users' test interactions, so the models learn from the
  future of the test period (Ji et al., "A Critical Study on Data Leakage in Recommender System Offline
  Evaluation", TOIS 2023).
- per positive definition, ``future_item_share``: the share of test positives (the relevant test items of
  evaluated users) whose item first appeared in the data (its first interaction by anyone) after that user's
  last training interaction: items the user could not have been recommended at the time of their training data.

Both need a real time column: for data whose ``time`` is the row number (tabular files without one) the audit
says "not measurable" instead of a number.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.data.base import Interactions
from harness.design.prepare import EvalData
from harness.spec import Split


@dataclass(frozen=True)
class LeakageAudit:
    """What :func:`audit` measured (see the module docstring); ``measurable`` False: no time column, every
    number None; ``future_item_share``: positive definition -> share (None for ``unit="items"``)."""

    measurable: bool
    test_start: float | None = None
    train_rows: int = 0
    train_after_test_start: float | None = None
    future_item_share: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"measurable": self.measurable, "test_start": self.test_start, "train_rows": self.train_rows,
                "train_after_test_start": self.train_after_test_start,
                "future_item_share": dict(self.future_item_share)}


def has_time(inter: Interactions) -> bool:
    """False when the data's ``time`` is only the row number (a tabular file without a time column)."""
    return "row number" not in str(inter.counts.get("time", ""))


def audit(inter: Interactions, train: np.ndarray, test: np.ndarray, data: dict[str, EvalData]) -> LeakageAudit:
    """Measure the split given by the row masks ``train`` / ``test`` over ``inter.events``; ``data``: the
    prepared variants (their evaluated users' relevant test items)."""
    if not has_time(inter) or not test.any():
        return LeakageAudit(False, train_rows=int(train.sum()))
    ev = inter.events
    time = ev["time"].to_numpy().astype(np.float64)
    start = float(time[test].min())
    after = float((time[train] > start).mean()) if train.any() else 0.0
    item_first = np.full(inter.n_items, np.inf)
    np.minimum.at(item_first, ev["item"].to_numpy(), time)
    last_train = np.full(inter.n_users, -np.inf)
    np.maximum.at(last_train, ev["user"].to_numpy()[train], time[train])
    shares = {}
    for v, d in data.items():
        if d.unit != "users":
            shares[v] = None
            continue
        rel = d.relevant[d.users].tocoo()
        users = d.users[rel.row]
        n = len(users)
        shares[v] = float((item_first[rel.col] > last_train[users]).mean()) if n else None
    return LeakageAudit(True, _plain(start), int(train.sum()), after, shares)


def _plain(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def warning(a: LeakageAudit, spec: Split) -> str | None:
    """One line when training sees the future (``train_after_test_start`` > 0) for a split whose own warning
    does not already say so (:func:`harness.design.split.leakage_warning` covers random and file-order
    holdouts), naming the field that avoids it."""
    if not a.measurable or not a.train_after_test_start or spec.kind in ("random", "order"):
        return None
    return (f"training sees the future: {100 * a.train_after_test_start:.1f} % of training interactions are later "
            f"than the start of the test window (time {a.test_start}), because the split ({spec.describe()}) holds "
            "out each user's own last interactions; for a verdict that holds forward in time set "
            "split=Split.global_time(test_from=...) in the hypothesis")


def lines(doc: dict) -> list[str]:
    """The report's lines for summary.json's ``data.leakage``."""
    if not doc.get("measurable"):
        return ["Leakage audit: not measurable (the data has no time column; time is the row number in the file)."]
    out = [f"Leakage audit: {100 * doc['train_after_test_start']:.2f} % of the {doc['train_rows']:,} training "
           f"interactions are later than the start of the test window (time {doc['test_start']}); 0 means no "
           "training interaction comes from the test period."]
    for v, s in doc["future_item_share"].items():
        if s is not None:
            out.append(f"- positives `{v}`: {100 * s:.2f} % of test positives are items first seen after the "
                       "user's last training interaction.")
    return out
