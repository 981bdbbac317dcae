"""A user's own interactions from one CSV or parquet file, with a small column mapping.

``load("events.csv", user="uid", item="sku", time="ts", extra=("rating",))`` returns an
:class:`~harness.data.base.Interactions` whose events hold ``user``, ``item`` (dense int32),
``time`` and the ``extra`` columns (plus any column the positive definitions read).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.base import Interactions, encode_ids, keep_last_by_time
from harness.data.delimited import header_columns, read_csv_checked, read_delimited  # noqa: F401 (re-exported)
from harness.data.identity import fingerprint_files
from harness.errors import HarnessError
from harness.spec import Split

#: Split used when ``load(split=None)``: per user, the last 5 interactions by time are test.
DEFAULT_SPLIT = Split.leave_last(5)
_CSV_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".dat", ".data")
#: ``sep=`` spellings for "any run of spaces or tabs" (Last.fm, FilmTrust, LibRec/QRec files).
WHITESPACE = ("whitespace", "space", " ", r"\s+")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Numeric times must lie strictly within +-2**63 (they are stored as int64 when integral).
_INT64_LIMIT = 2.0**63
_NUMBER = re.compile(r"(?<![A-Za-z0-9_])-?\d+(?:\.\d+)?(?:[eE]-?\d+)?")
#: An id written as a plain integer (``196``, ``-3``, ``7.0``): no leading zero, so it reads the same as a number.
_PLAIN_INT = re.compile(r"-?(?:0|[1-9]\d*)(?:\.0*)?")


# --------------------------------------------------------------------------- generic loader
def _mapping_hint(user: str, item: str, time: str) -> str:
    return (f"map your columns with --column user=<col> --column item=<col> --column time=<col> "
            f"(in Python: tabular.load(path, user=..., item=..., time=...); now user={user}, item={item}, "
            f"time={time})")


def _available(path: Path) -> list[str]:
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except (OSError, pa.ArrowException) as e:
            raise HarnessError(f"{path}: not a readable parquet file ({str(e).splitlines()[0]}); "
                               "re-export it, or use CSV") from None
    return header_columns(path, _sep(path, None))


def columns_of(path: Path, sep: str | None = None, names: tuple[str, ...] | None = None) -> list[str]:
    """The column names of a tabular file (``names`` when given); errors as in :func:`load`."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"tabular: file not found: {path}; give an existing .csv or .parquet file")
    if names:
        return list(names)
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return _available(path)
    return header_columns(path, _sep(path, sep))


def _sep(path: Path, sep: str | None) -> str:
    """The pandas separator: given, or tab for .tsv/.tab and comma otherwise; whitespace -> ``\\s+``."""
    if sep is None:
        return "\t" if _text_suffix(path) in (".tsv", ".tab") else ","
    if sep in WHITESPACE:
        return r"\s+"
    if sep in ("tab", "\\t"):
        return "\t"
    if not sep:
        raise HarnessError("--sep is empty; give a character such as ',' or ';', 'tab' or 'whitespace'")
    return sep


def _text_suffix(path: Path) -> str:
    sfx = [s.lower() for s in path.suffixes]
    if sfx and sfx[-1] in (".gz", ".bz2", ".zip", ".xz", ".zst"):
        sfx = sfx[:-1]
    return sfx[-1] if sfx else ""


def _to_time(raw: pd.Series, path: Path, col: str, where: np.ndarray, unit: str) -> np.ndarray:
    """Numeric times as they are (int64 when integral); datetimes/strings -> int64 unix seconds (UTC)."""
    if pd.api.types.is_bool_dtype(raw):
        raise HarnessError(f"{path}: time column '{col}' is boolean; map a timestamp column with --column time=<col>")
    if pd.api.types.is_datetime64_any_dtype(raw):
        dt = pd.to_datetime(raw, utc=True)
    elif pd.api.types.is_integer_dtype(raw) and not raw.isna().any():
        return _int_times(raw, path, col, where, unit)
    elif pd.api.types.is_numeric_dtype(raw):
        num = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        miss = np.isnan(num)
        if miss.any():
            i = int(np.flatnonzero(miss)[0])
            raise HarnessError(f"{path}: time column '{col}' has a missing value at {unit} {where[i]} "
                               f"({int(miss.sum())} rows); fill or remove those rows")
        bad = ~np.isfinite(num) | (np.abs(num) >= _INT64_LIMIT)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise HarnessError(f"{path}: time column '{col}' has a value '{raw.iloc[i]}' at {unit} {where[i]} "
                               f"({int(bad.sum())} rows) that is not a finite time within +-2**63; use unix "
                               "seconds or ISO dates like 2024-01-31 12:00:00, and fix or remove those rows")
        return num.astype(np.int64) if np.all(num == np.round(num)) else num
    else:
        num = pd.to_numeric(raw, errors="coerce")
        if num.notna().all():
            return _to_time(num, path, col, where, unit)
        dt = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
        if dt.isna().any():  # not (all) ISO 8601: let pandas infer one format from the first value
            alt = pd.to_datetime(raw, utc=True, errors="coerce")
            dt = alt if alt.isna().sum() < dt.isna().sum() else dt
    bad = dt.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise HarnessError(f"{path}: time column '{col}' has an unparseable value {raw.iloc[i]!r} at {unit} "
                           f"{where[i]} ({int(bad.sum())} rows); use unix seconds or ISO dates like "
                           "2024-01-31 12:00:00")
    return ((dt - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


def _int_times(raw: pd.Series, path: Path, col: str, where: np.ndarray, unit: str) -> np.ndarray:
    """An integer time column as int64, exactly (no detour through float64); uint64 values past int64 refused."""
    if raw.dtype.kind == "u":
        big = raw.to_numpy() > np.iinfo(np.int64).max
        if big.any():
            i = int(np.flatnonzero(big)[0])
            raise HarnessError(f"{path}: time column '{col}' has a value '{raw.iloc[i]}' at {unit} {where[i]} "
                               f"({int(big.sum())} rows) past the int64 range of times; use unix seconds")
    return raw.to_numpy(dtype=np.int64)


def _ids(raw: pd.Series, path: Path, col: str, where: np.ndarray, unit: str) -> np.ndarray:
    """Raw ids: int64 when every value is a plain integer, else strings exactly as written.

    Text files are read as text, so ``0196`` and ``196`` stay two ids: one value with a leading zero
    (or anything non-numeric) keeps the whole column text. Parquet columns keep their own type
    (integral floats become int64)."""
    miss = raw.isna().to_numpy()
    if miss.any():
        i = int(np.flatnonzero(miss)[0])
        raise HarnessError(f"{path}: id column '{col}' has a missing value at {unit} {where[i]} "
                           f"({int(miss.sum())} rows); fill or remove those rows")
    if pd.api.types.is_float_dtype(raw):
        v = raw.to_numpy(dtype=np.float64)
        if np.all(v == np.round(v)):
            return v.astype(np.int64)
    if pd.api.types.is_integer_dtype(raw):
        return raw.to_numpy(dtype=np.int64)
    return raw.astype(str).to_numpy(dtype=object)


def _text_ids(raw: pd.Series, path: Path, col: str, where: np.ndarray, unit: str) -> np.ndarray:
    """Ids of a text file read as strings: int64 when all are plain integers (:data:`_PLAIN_INT`) that
    fit in int64, else the strings (see :func:`_ids`)."""
    if raw.isna().any():
        return _ids(raw, path, col, where, unit)  # raises naming the missing value
    text = raw.astype(str).str.strip()
    if text.str.fullmatch(_PLAIN_INT).all():
        num = pd.to_numeric(text, errors="coerce")
        if num.dtype.kind == "i" or (num.dtype.kind == "f" and bool((num.abs() < 2**53).all())):  # '7.0': exact
            return num.to_numpy().astype(np.int64)
    return raw.astype(str).to_numpy(dtype=object)


def load(path: Path, *, user: str = "user_id", item: str = "item_id", time: str | None = "timestamp",
         extra: tuple[str, ...] = (), positives: tuple[str, ...] | None = ("rating>=4",),
         split: Split | None = None, name: str | None = None, sep: str | None = None,
         names: tuple[str, ...] | None = None, optional: tuple[str, ...] = ()) -> Interactions:
    """Load your own interactions from a CSV (``.csv``, ``.tsv``, optionally compressed) or parquet file.

    Parameters
    ----------
    path : the file; one row per interaction.
    user, item, time : the file's columns holding the user id, item id and time. ``time`` may be
        numeric (kept; int64 when integral, e.g. unix seconds or a day number) or datetime strings /
        parquet timestamps (converted to int64 unix seconds, naive values read as UTC). ``time=None``:
        the file has no time column; ``time`` becomes the row number (file order), and the split must
        not need real times (``Split.file_order`` / ``Split.random``).
    extra : further columns copied into ``events`` under their own names (e.g. ``("rating",)``).
        Columns read by ``positives`` are copied too.
    positives : the default positive definitions (see :mod:`harness.design.feedback`), e.g. ``("rating>=4",)``
        or ``("clicked",)``; ``None``: ``rating>=4`` when the file has a ``rating`` column, else none.
    sep : field separator of a text file (default: tab for .tsv/.tab, else comma); ``"whitespace"``
        for any run of spaces/tabs, ``"tab"``; any suffix is accepted when it is given.
    names : the file's column names, in order, when it has no header row.
    optional : columns copied into ``events`` when the file has them (e.g. what a hypothesis'
        positive definitions read), silently skipped otherwise.
    split : the default split; ``None`` -> :data:`DEFAULT_SPLIT` (per-user leave-last-5 by time).
    name : dataset name in reports; default: the file name without suffix.

    Returns
    -------
    Interactions with events ``user``, ``item`` (int32), ``time`` and the extra columns, sorted by
    user then time (ties keep file order). Repeated (user, item) pairs keep the last by time
    (``counts["duplicates_removed"]``). No content or metadata.
    """
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"tabular: file not found: {path}; give an existing .csv or .parquet file")
    sfx = _text_suffix(path)
    is_parquet = path.suffix.lower() in _PARQUET_SUFFIXES
    if not is_parquet and sfx not in _CSV_SUFFIXES and sep is None:
        raise HarnessError(f"tabular: {path.name}: unsupported file type; use .csv, .tsv or .parquet "
                           "(or give the separator with --sep for another text file)")
    if path.stat().st_size == 0:
        raise HarnessError(f"{path}: file is empty; export your interactions with a header row")
    if is_parquet and (sep is not None or names):
        raise HarnessError(f"{path}: --sep and --names apply to text files, not parquet; drop them")
    if names is not None:
        names = tuple(names)
        if len(set(names)) != len(names) or not all(names):
            raise HarnessError(f"--names {','.join(names)}: give distinct, non-empty column names, e.g. "
                               "--names user,item,rating")
    text_sep = None if is_parquet else _sep(path, sep)
    have = list(names) if names is not None else (_available(path) if is_parquet else header_columns(path, text_sep))
    if positives is None:
        positives = ("rating>=4",) if "rating" in have else ()
    positives = tuple(positives)
    hint = _mapping_hint(user, item, str(time))
    for role, col in (("user", user), ("item", item), ("time", time)):
        if col is None:
            continue
        if col not in have:
            extra_note = (" A time column is required for a split by time; if the file has none, use "
                          "--split random (per-user seeded holdout) or --split order (file order)."
                          if role == "time" else "")
            if names is not None:
                hint = f"name the file's columns with --names (now {','.join(names)}) or map them with --column"
            raise HarnessError(f"{path}: no {role} column {col!r} (available: {', '.join(have)}); {hint}."
                               + extra_note)
    for col in extra:
        if col not in have:
            raise HarnessError(f"{path}: extra column {col!r} not found (available: {', '.join(have)}); "
                               "fix the extra= argument")
    reserved = {"user", "item", "time"} - {user, item, time}
    wanted_extra = list(dict.fromkeys(list(extra) + [c for c in optional if c in have]))
    for expr in positives:
        for col in _IDENT.findall(_NUMBER.sub(" ", expr)):
            if col not in have:
                raise HarnessError(f"{path}: positives {expr!r} read column {col!r}, which the file lacks "
                                   f"(available: {', '.join(have)}); give --positives (positives=) for your data, "
                                   "e.g. 'rating>=4' or 'clicked'")
            if col not in wanted_extra:
                wanted_extra.append(col)
    clash = [c for c in wanted_extra if c in reserved]
    if clash:
        raise HarnessError(f"{path}: column(s) {clash} would overwrite the user/item/time columns; "
                           "rename them in the file")
    cols = list(dict.fromkeys([c for c in (user, item, time) if c is not None] + wanted_extra))
    if is_parquet:
        frame = pd.read_parquet(path, columns=cols)
        where, unit = np.arange(1, len(frame) + 1), "row"
    else:
        kw = {"usecols": cols} if names is None else {"usecols": cols, "header": None, "names": list(names)}
        kw["dtype"] = {user: str, item: str}  # ids as written: '0196' and '196' are two ids
        frame = read_csv_checked(path, path, text_sep, kw, sep or text_sep,
                                 fix="fix the line, or the separator (--sep) / column names (--names)")
        where, unit = frame.index.to_numpy() + (2 if names is None else 1), "line"
    if len(frame) == 0:
        raise HarnessError(f"{path}: no data rows; the file holds only a header")
    read_ids = _ids if is_parquet else _text_ids
    u = read_ids(frame[user], path, user, where, unit)
    it = read_ids(frame[item], path, item, where, unit)
    t = _to_time(frame[time], path, time, where, unit) if time is not None else np.arange(len(frame), dtype=np.int64)
    n_read = len(frame)
    keep = keep_last_by_time(u, it, t)
    ucode, uids = encode_ids(u[keep])
    icode, iids = encode_ids(it[keep])
    tk = t[keep]
    order = np.lexsort((np.arange(len(tk)), tk, ucode))
    events = pd.DataFrame({"user": ucode[order], "item": icode[order], "time": tk[order]})
    rows = np.flatnonzero(keep)[order]
    for col in wanted_extra:
        events[col] = frame[col].iloc[rows].reset_index(drop=True)
    counts = {"rows_read": int(n_read), "duplicates_removed": int(n_read - int(keep.sum()))}
    if time is None:
        counts["time"] = "no time column: time = row number in the file"
    return Interactions(
        name=name or path.name.split(".")[0], events=events, user_ids=uids, item_ids=iids,
        default_positives=positives, default_split=split or DEFAULT_SPLIT,
        fingerprint=fingerprint_files([path]), counts=counts)
