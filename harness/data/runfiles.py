"""Read and write run files: per-user ranked lists of items (recommendations exported by any system).

Formats (chosen by the file name, or ``fmt``):

- parquet (``.parquet``, ``.pq``) and CSV (``.csv``, ``.tsv``, optionally ``.gz``, with a header):
  columns ``user``, ``item`` and ``rank`` (1 = best) or ``score`` (higher = better). With ``rank``
  the order is by rank; with only ``score`` it is by score descending, equal scores in file order.
- TREC (``.trec``, ``.run``): whitespace-separated ``qid Q0 docid rank score tag`` with no header,
  the format ``trec_eval`` and ``ranx`` read. The order is by ``rank``; since those tools re-sort by
  ``score``, a score that increases with rank is an error (they would rank the list differently), and
  so is a score that is not a number.

Equal scores (ties): the harness keeps the file's order (its ``rank``, else the file's row order),
whereas ``trec_eval`` ignores ``rank`` and breaks equal scores by docid in descending string order, and
``ranx`` re-sorts by score with no set order for equal scores: metrics can differ. The number of adjacent listed items with
equal scores is counted per user (:attr:`RunLists.tied`) and reported as a warning in the run's notes.

Ids are the dataset's raw ids (as in ``per_user.parquet``'s ``user_id``). ``--save-runs`` of an
items -> users hypothesis writes each item's ranked users (:func:`write_run` with ``unit="items"``),
which :func:`read_run` refuses. A duplicated rank or item
within a user and an item id the dataset does not know are errors naming the file, the line and the
fix. Users of the run the dataset does not know are counted and ignored.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from harness.data.safe_write import make_temp_file
from harness.errors import HarnessError

FORMATS = ("parquet", "csv", "trec")
_TREC_COLS = ["user", "q0", "item", "rank", "score", "tag"]


@dataclass(frozen=True)
class RunLists:
    """Ranked lists of one run file, in dense indices.

    Attributes
    ----------
    listed : CSR float32 (n_users, n_items); row u holds u's listed items with value
        ``L_u - position`` (the first item scores ``L_u``, the last 1), so values fall strictly with rank.
    n_rows : data rows read.
    unknown_users : distinct user ids of the file the dataset does not know (ignored).
    path : the file.
    tied : int (n_users,), pairs of adjacent listed items of each user with equal scores (0 without a
        ``score`` column): orders that ``trec_eval`` / ``ranx`` may break differently.
    """

    listed: sp.csr_matrix
    n_rows: int
    unknown_users: int
    path: str
    tied: np.ndarray


def detect_format(path: Path) -> str:
    """``parquet``, ``csv`` or ``trec`` from the file name; raise naming the accepted suffixes."""
    sfx = [s.lower() for s in Path(path).suffixes]
    if sfx and sfx[-1] in (".gz", ".bz2", ".xz", ".zst"):
        sfx = sfx[:-1]
    last = sfx[-1] if sfx else ""
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".csv", ".tsv"):
        return "csv"
    if last in (".trec", ".run"):
        return "trec"
    raise HarnessError(f"run file {path}: unknown format {last or '(no suffix)'!r}; name it .parquet, .csv, "
                       ".tsv or .trec (qid Q0 docid rank score tag), or give format= in the Arm")


def _read_frame(path: Path, fmt: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The run as a frame (columns user, item and rank and/or score) and each row's line/row number."""
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
            where = np.arange(1, len(frame) + 1)
        elif fmt == "csv":
            sep = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
            frame = pd.read_csv(path, sep=sep, dtype={"user": str, "item": str})
            where = np.arange(2, len(frame) + 2)
        else:
            frame = pd.read_csv(path, sep=r"\s+", header=None, names=_TREC_COLS, dtype={"user": str, "item": str},
                                skip_blank_lines=False)
            blank = frame.isna().all(axis=1).to_numpy()  # keep line numbers exact past blank lines
            where = np.flatnonzero(~blank) + 1
            frame = frame[~blank].reset_index(drop=True)
    except HarnessError:
        raise
    except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError, ValueError) as e:
        raise HarnessError(f"run file {path}: cannot read it as {fmt} ({str(e).strip().splitlines()[-1]}); "
                           "re-export it") from None
    if fmt == "trec" and frame["tag"].isna().any():
        i = int(np.flatnonzero(frame["tag"].isna().to_numpy())[0])
        raise HarnessError(f"run file {path}: line {where[i]} has fewer than 6 fields; TREC runs are "
                           "'qid Q0 docid rank score tag'")
    missing = [c for c in ("user", "item") if c not in frame.columns]
    if missing or not ({"rank", "score"} & set(frame.columns)):
        raise HarnessError(f"run file {path}: needs columns user, item and rank or score (found: "
                           f"{', '.join(map(str, frame.columns))}); rename the columns")
    if "unit" in frame.columns and (frame["unit"].astype(str) != "users").any():
        raise HarnessError(f"run file {path}: column unit is {str(frame['unit'].iloc[0])!r}: each row ranks users "
                           "for an item (--save-runs of direction='item_to_users'); the runs arm reads users -> "
                           "items lists: export one ranked list of items per user")
    if len(frame) == 0:
        raise HarnessError(f"run file {path}: no rows; export at least one recommendation")
    return frame, where


def _codes(raw: pd.Series, ids: np.ndarray) -> np.ndarray:
    """Dense index of each raw id in ``ids`` (-1 where unknown); ids compared as the dataset stores them."""
    ids = np.asarray(ids)
    if ids.dtype.kind in "iuf":
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.isfinite(num) & (num == np.round(num))
        vals = np.where(ok, num, -1.5)
        codes = pd.Index(ids.astype(np.float64)).get_indexer(vals)
        return np.where(ok, codes, -1)
    return pd.Index(ids.astype(str)).get_indexer(raw.astype(str).to_numpy())


def read_run(path: Path, user_ids: np.ndarray, item_ids: np.ndarray, fmt: str = "auto") -> RunLists:
    """Read a run file into per-user ranked lists over the dataset's dense ids.

    Parameters
    ----------
    path : the run file (see the module docstring for formats and ordering).
    user_ids, item_ids : the dataset's raw ids, (n_users,) and (n_items,).
    fmt : ``auto`` (from the suffix), ``parquet``, ``csv`` or ``trec``.
    """
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"run file not found: {path}; export it first, or fix the Arm's path= "
                           "(relative paths are relative to the hypothesis file; {seed} is the seed)")
    if fmt not in ("auto",) + FORMATS:
        raise HarnessError(f"run file {path}: format={fmt!r}; use auto, {', '.join(FORMATS)}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    frame, where = _read_frame(path, fmt)
    u = _codes(frame["user"], user_ids)
    it = _codes(frame["item"], item_ids)
    known = u >= 0
    bad_item = known & (it < 0)
    if bad_item.any():
        i = int(np.flatnonzero(bad_item)[0])
        raise HarnessError(f"run file {path}: item id {str(frame['item'].iloc[i])!r} at line/row {where[i]} is not in "
                           f"the dataset ({int(bad_item.sum())} rows like this); export the dataset's own item ids")
    has_rank, score = "rank" in frame.columns, None
    if "score" in frame.columns:
        score = pd.to_numeric(frame["score"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(score).any():
            i = int(np.flatnonzero(np.isnan(score))[0])
            raise HarnessError(f"run file {path}: score {str(frame['score'].iloc[i])!r} at line/row {where[i]} is not a "
                               "number; write numeric scores (higher = better)")
    if has_rank:
        rank = pd.to_numeric(frame["rank"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(rank) | (rank != np.round(rank)) | (rank < 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise HarnessError(f"run file {path}: rank {str(frame['rank'].iloc[i])!r} at line/row {where[i]} is not a "
                               "positive integer; ranks start at 1")
        key = rank
    else:
        key = -score
    rows = np.flatnonzero(known)
    order = rows[np.lexsort((rows, key[rows], u[rows]))]  # by user, then rank / -score, then file order
    su, si = u[order], it[order]
    same_user = su[1:] == su[:-1]
    if has_rank:
        dup = same_user & (key[order][1:] == key[order][:-1])
        if dup.any():
            i = order[int(np.flatnonzero(dup)[0]) + 1]
            raise HarnessError(f"run file {path}: user {str(frame['user'].iloc[i])!r} has rank {int(rank[i])} twice "
                               f"(line/row {where[i]}); give each of a user's items its own rank")
        if fmt == "trec":
            sc = score[order]
            up = same_user & (sc[1:] > sc[:-1])
            if up.any():
                i = order[int(np.flatnonzero(up)[0]) + 1]
                raise HarnessError(f"run file {path}: line {where[i]}: score rises with rank for user "
                                   f"{str(frame['user'].iloc[i])!r}; trec_eval and ranx order by score, so make "
                                   "scores fall with rank")
    pair = np.lexsort((si, su))
    dpair = (su[pair][1:] == su[pair][:-1]) & (si[pair][1:] == si[pair][:-1])
    if dpair.any():
        i = order[pair[int(np.flatnonzero(dpair)[0]) + 1]]
        raise HarnessError(f"run file {path}: user {str(frame['user'].iloc[i])!r} lists item {str(frame['item'].iloc[i])!r} "
                           f"twice (line/row {where[i]}); keep one row per user and item")
    n_users, n_items = len(user_ids), len(item_ids)
    tied = np.zeros(n_users, dtype=np.int64)
    if score is not None:
        eq = same_user & (score[order][1:] == score[order][:-1])
        tied = np.bincount(su[1:][eq], minlength=n_users)
    counts = np.bincount(su, minlength=n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(su)) - starts[su]
    value = (counts[su] - pos).astype(np.float32)
    listed = sp.csr_matrix((value, (su, si)), shape=(n_users, n_items))
    unknown = int(len(np.unique(frame["user"].astype(str).to_numpy()[~known])))
    return RunLists(listed, int(len(frame)), unknown, str(path), tied)


def write_run(path: Path, user_ids: np.ndarray, top: np.ndarray, fmt: str = "parquet", tag: str = "harness",
              unit: str = "users") -> Path:
    """Write ranked lists atomically (temp file + rename).

    Parameters
    ----------
    path : destination.
    user_ids : raw user id of each row of ``top``, (n,) (``unit="items"``: the raw item ids).
    top : raw item ids, (n, k), best first (``unit="items"``: the raw user ids each item ranks).
    fmt : ``parquet`` / ``csv`` (columns user, item, rank) or ``trec`` (``qid Q0 docid rank score tag``).
        The TREC score is derived from the rank, ``k + 1 - rank`` (k, k - 1, ..., 1), not the model's
        score: only the order is saved, and tools that sort by score (ranx, trec_eval) get exactly the
        harness' order, with no ties.
    unit : ``"users"`` (each user ranks items) or ``"items"`` (direction ``item_to_users``: each item
        ranks users; parquet / csv columns ``item, user, rank, unit`` with ``rank`` counted within the
        item and ``unit`` = ``"items"``; TREC ``qid`` = item id, ``docid`` = user id). :func:`read_run`
        refuses a file whose ``unit`` column says ``items``.
    """
    if fmt not in FORMATS:
        raise HarnessError(f"--save-runs {fmt!r}: use one of {', '.join(FORMATS)}")
    path = Path(path)
    n, k = top.shape
    query, doc = ("item", "user") if unit == "items" else ("user", "item")
    frame = pd.DataFrame({query: np.repeat(np.asarray(user_ids), k), doc: np.asarray(top).reshape(-1),
                          "rank": np.tile(np.arange(1, k + 1, dtype=np.int64), n)})
    if unit == "items" and fmt != "trec":
        frame["unit"] = "items"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temp_file(path.parent, suffix=".tmp")  # the mode a plain open() gives, not mkstemp's 0600
    os.close(fd)
    try:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        elif fmt == "csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.insert(1, "q0", "Q0")
            frame["score"] = (k + 1 - frame["rank"]).astype(np.float64)
            frame["tag"] = tag
            frame.to_csv(tmp, sep=" ", header=False, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
