"""The one container every loader returns: :class:`Interactions`."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.spec import Split


@dataclass(frozen=True)
class Interactions:
    """All interactions of one dataset, ids mapped to dense indices.

    Attributes
    ----------
    name : dataset name as the user typed it (``"ml-100k"``, ``"synthetic-vk"``).
    events : one row per interaction (deduplicated), columns
        ``user`` (int32, dense index into ``user_ids``), ``item`` (int32, dense index into ``item_ids``),
        ``time`` (int64 or float64 ordering key: unix seconds, or the week number for VK-LSVD),
        plus the dataset's signal columns, e.g. VK-LSVD: ``timespent`` (s), ``duration`` (s, from item
        metadata), ``watch_ratio`` (float32, NaN when duration is 0), ``like``, ``share``, ``bookmark``,
        ``dislike`` (bool); MovieLens: ``rating`` (float32).
    user_ids, item_ids : raw ids, shape (n_users,) and (n_items,).
    item_content : float32 (n_items, d) content representation (VK-LSVD embeddings, MovieLens genre
        one-hot) or None; rows of items without content are 0 and ``item_has_content`` is False there.
    item_has_content : bool (n_items,) or None.
    content_desc : what the content columns are, e.g. ``"embedding (64 dims, float16 on disk)"``.
    content_names : the names of categorical content columns (MovieLens genres), else empty.
    user_meta : DataFrame indexed by dense user index (e.g. age, gender, geo) or None.
    item_meta : DataFrame indexed by dense item index (e.g. duration, author_id) or None.
    default_positives : positive definitions used when a hypothesis' own do not apply to this data.
    default_split : the split used when a hypothesis does not declare one.
    fingerprint : hex digest of the source files (sizes + content hash of small files).
    counts : data-quality counts shown in the report (duplicates removed, zero-duration rows, ...).
    """

    name: str
    events: pd.DataFrame
    user_ids: np.ndarray
    item_ids: np.ndarray
    default_positives: tuple[str, ...]
    default_split: Split
    fingerprint: str
    item_content: np.ndarray | None = None
    item_has_content: np.ndarray | None = None
    content_desc: str = ""
    content_names: tuple[str, ...] = ()
    user_meta: pd.DataFrame | None = None
    item_meta: pd.DataFrame | None = None
    counts: dict = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return int(len(self.user_ids))

    @property
    def n_items(self) -> int:
        return int(len(self.item_ids))

    def __post_init__(self) -> None:
        need = {"user", "item", "time"}
        missing = need - set(self.events.columns)
        if missing:
            raise HarnessError(f"{self.name}: loader produced events without columns {sorted(missing)}")
        if len(self.events) == 0:
            raise HarnessError(f"{self.name}: no interactions after loading; check the data files")
        if self.item_content is not None and self.item_content.shape[0] != self.n_items:
            raise HarnessError(f"{self.name}: item_content has {self.item_content.shape[0]} rows for "
                               f"{self.n_items} items")


def encode_ids(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map raw ids to dense int32 indices, vectorised.

    Returns
    -------
    (codes, uniques): ``uniques[codes] == raw``; ``uniques`` is sorted.
    """
    uniques, codes = np.unique(np.asarray(raw), return_inverse=True)
    return codes.astype(np.int32), uniques


def lookup(uniques: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Dense indices of ``raw`` in sorted ``uniques``; -1 where absent. Vectorised (searchsorted)."""
    raw = np.asarray(raw)
    if len(uniques) == 0:
        return np.full(len(raw), -1, dtype=np.int64)
    pos = np.searchsorted(uniques, raw)
    pos_c = np.minimum(pos, len(uniques) - 1)
    return np.where(uniques[pos_c] == raw, pos_c, -1).astype(np.int64)


def require_file(path: Path, what: str, fix: str) -> Path:
    """Return ``path`` if it is a file, else raise a one-line :class:`HarnessError`."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"{what}: file not found: {path}; {fix}")
    return path


def require_columns(frame_cols: Iterable[str], needed: Iterable[str], path: Path | str) -> None:
    """Raise one line naming the missing columns of ``path``."""
    have = set(frame_cols)
    missing = [c for c in needed if c not in have]
    if missing:
        raise HarnessError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(sorted(have))}); "
                           "check the file is in the expected format")


def keep_last_by_time(user: np.ndarray, item: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Boolean mask (len(user),): for each (user, item) pair keep the row latest in time
    (among equal times, the last in file order); input order is untouched."""
    n = len(user)
    uc = np.unique(user, return_inverse=True)[1]
    ic = np.unique(item, return_inverse=True)[1]
    order = np.lexsort((np.arange(n), time, ic, uc))
    su, si = uc[order], ic[order]
    last = np.ones(n, dtype=bool)
    last[:-1] = (su[1:] != su[:-1]) | (si[1:] != si[:-1])
    keep = np.zeros(n, dtype=bool)
    keep[order[last]] = True
    return keep
