"""A precomputed run as an arm (``kind="runs"``): recommendations exported by another system.

``Arm("prod", "runs", path="runs/prod_seed{seed}.parquet")`` reads one run file per seed (``{seed}``
is replaced; a path without it serves every seed; relative paths are relative to the hypothesis
file). Formats and ordering: :mod:`harness.data.runfiles`. The cache key holds the file's hash.

The lists are evaluated through exactly the path of a trained arm: :class:`RunScorer` gives each
user's listed items dense float32 scores falling strictly with rank and every other item ``-inf``,
then the evaluation masks seen (training) items and takes the top-k. So:

- a user's **seen items in the list are removed** (as for every arm) and the items after them move
  up; the list is not refilled;
- a list shorter than k (after that removal) ends early: the positions past its end are empty and
  never hits (:func:`harness.evaluation.lists.cap_at_list_end`); an evaluated user missing from the file
  gets an empty list (all metrics 0);
- both counts, and the file's users the dataset does not know, are reported in the notes;
- equal scores at adjacent ranks keep the file's order; their count is a WARNING in the notes, since
  ``trec_eval`` re-sorts them by docid (descending) and ``ranx`` in no set order.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from harness.arms.scorer import TrainData
from harness.errors import HarnessError
from harness.data.runfiles import FORMATS, read_run

PARAMS = ("path", "format")
#: Parameters holding paths relative to the hypothesis file.
PATH_PARAMS = ("path",)


def validate(params: dict) -> None:
    """``path`` is required (a string, ``{seed}`` optional); ``format`` one of auto, parquet, csv, trec."""
    path = params.get("path")
    if not isinstance(path, str) or not path:
        raise HarnessError("arm 'runs' needs path=, e.g. Arm('prod', 'runs', path='runs/prod_seed{seed}.parquet')")
    try:
        path.format(seed=0)
    except (KeyError, IndexError, ValueError):
        raise HarnessError(f"arm 'runs': path={path!r} may contain only the placeholder {{seed}}") from None
    fmt = params.get("format", "auto")
    if fmt not in ("auto",) + FORMATS:
        raise HarnessError(f"arm 'runs': format={fmt!r}; use auto, {', '.join(FORMATS)}")


def seed_path(path: str, seed: int) -> Path:
    """The run file of ``seed``."""
    return Path(path.format(seed=seed))


def fingerprint(params: dict, seed: int) -> str:
    """sha256 of the seed's run file (cache key): re-exporting the run invalidates cached results."""
    p = seed_path(params["path"], seed)
    if not p.is_file():
        raise HarnessError(f"arm 'runs': run file not found for seed {seed}: {p}; export it, or fix path= "
                           "(relative to the hypothesis file, {seed} = the seed)")
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class RunScorer:
    """Scores of a run: listed items ``L - position`` (float32, strictly falling), the rest ``-inf``.

    Attributes
    ----------
    listed : CSR float32 (n_users, n_items), see :class:`harness.data.runfiles.RunLists`.
    n_rows, unknown_users, path : what was read, for the notes.
    tied : int (n_users,), adjacent listed items with equal scores per user (None: not counted).
    """

    listed: sp.csr_matrix
    n_rows: int = 0
    unknown_users: int = 0
    path: str = ""
    tied: np.ndarray | None = None

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, dtype=np.int64)
        out = np.full((len(users), self.listed.shape[1]), -np.inf, dtype=np.float32)
        sub = self.listed[users].tocoo()
        out[sub.row, sub.col] = sub.data
        return out

    def list_lengths(self, users: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
        """Listed items per user that are not seen in training, int (len(users),)."""
        sub = self.listed[np.asarray(users, dtype=np.int64)]
        n_seen = np.diff(sub.multiply(seen[np.asarray(users, dtype=np.int64)] != 0).tocsr().indptr)
        return np.diff(sub.indptr) - n_seen

    def describe(self, users: np.ndarray, seen: sp.csr_matrix, k: int) -> str:
        """One note for the report: rows, missing users, seen items removed, short lists, then a WARNING
        counting tied pairs (adjacent listed items with equal scores) of the evaluated users, if any."""
        users = np.asarray(users, dtype=np.int64)
        n_listed = np.diff(self.listed[users].indptr)
        lengths = self.list_lengths(users, seen)
        missing = int((n_listed == 0).sum())
        short = int(((lengths < k) & (n_listed > 0)).sum())
        note = (f"run {self.path}: {self.n_rows} rows; {missing} of {len(users)} evaluated users missing "
                f"(scored as empty lists); {int((n_listed - lengths).sum())} listed items were seen in training "
                f"and removed; {short} lists shorter than {k} after that (positions past the end count as "
                f"misses); {self.unknown_users} users of the file are not in the data (ignored)")
        tied = self.tied[users] if self.tied is not None else np.zeros(0, dtype=np.int64)
        if tied.sum() > 0:
            note += (f"; WARNING: {int(tied.sum())} tied pairs (adjacent ranks with equal scores) in "
                     f"{int((tied > 0).sum())} of {len(users)} evaluated users' lists: the harness keeps the file's "
                     "order (rank, else row order), trec_eval re-sorts equal scores by docid (descending) and ranx "
                     "in no set order, so their metrics can differ; give scores that fall strictly with rank")
        return note


def fit(train: TrainData, seed: int, path: str, format: str = "auto") -> RunScorer:
    """Read the run file of ``seed`` (no training; ``train`` supplies the id maps)."""
    validate({"path": path, "format": format})
    if train.user_ids is None or train.item_ids is None:
        raise HarnessError("arm 'runs': the training data carries no raw ids; it runs only inside the harness")
    lists = read_run(seed_path(path, seed), train.user_ids, train.item_ids, format)
    return RunScorer(lists.listed, lists.n_rows, lists.unknown_users, lists.path, lists.tied)
