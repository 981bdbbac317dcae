"""A user's own interactions from one CSV or parquet file, with a small column mapping.

``load("events.csv", user="uid", item="sku", time="ts", extra=("rating",))`` returns an
:class:`~harness.data.base.Interactions` whose events hold ``user``, ``item`` (dense int32),
``time`` and the ``extra`` columns (plus any column the positive definitions read).

Also home of the strict delimited-file reader the MovieLens and KION loaders share
(:func:`read_delimited`): typed fast path, and on any bad value a one-line error naming the file,
the column, an example value and its line.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.base import Interactions, encode_ids, fingerprint_files
from harness.errors import HarnessError
from harness.spec import Split

#: Split used when ``load(split=None)``: per user, the last 5 interactions by time are test.
DEFAULT_SPLIT = Split.leave_last(5)
#: Column kinds understood by :func:`read_delimited` (``?``: missing values allowed, kept as NaN).
KINDS = ("int", "float", "float?", "str", "str?")
_CSV_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_])-?\d+(?:\.\d+)?(?:[eE]-?\d+)?")


# --------------------------------------------------------------------------- shared strict reader
def _bad(path: Path, col: str, what: str, n: int, line: int, value: object, fix: str) -> HarnessError:
    more = f" ({n} rows like this)" if n > 1 else ""
    return HarnessError(f"{path}: column '{col}' has {what} {value!r} at line {line}{more}; {fix}")


def parse_column(raw: pd.Series, kind: str, path: Path, col: str, lines: np.ndarray,
                 fix: str = "fix or remove those rows") -> pd.Series:
    """Convert one column of strings to ``kind`` (see :data:`KINDS`), or raise naming a bad value.

    Parameters
    ----------
    raw : the column as read (strings, NaN where empty).
    kind : ``int`` -> int64, ``float``/``float?`` -> float64, ``str``/``str?`` -> str.
    path, col : named in the error.
    lines : 1-based line number in ``path`` of each row, shape (len(raw),).
    """
    missing = raw.isna().to_numpy()
    if kind in ("str", "str?"):
        if kind == "str" and missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise _bad(path, col, "a missing value", int(missing.sum()), int(lines[i]), "", fix)
        return raw.astype("str") if kind == "str" else raw
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    nonnum = np.isnan(num) & ~missing
    if nonnum.any():
        i = int(np.flatnonzero(nonnum)[0])
        raise _bad(path, col, "a non-numeric value", int(nonnum.sum()), int(lines[i]), raw.iloc[i], fix)
    if kind in ("int", "float") and missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise _bad(path, col, "a missing value", int(missing.sum()), int(lines[i]), "", fix)
    if kind == "int":
        frac = num != np.round(num)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise _bad(path, col, "a non-integer value", int(frac.sum()), int(lines[i]), raw.iloc[i], fix)
        return pd.Series(num.astype(np.int64), index=raw.index)
    return pd.Series(num, index=raw.index)


def _open(path: Path, sep: str) -> tuple[object, str]:
    """File handle (or bytes buffer for multi-character separators such as ``::``) and the 1-char sep."""
    if len(sep) == 1:
        return path, sep
    return io.BytesIO(path.read_bytes().replace(sep.encode(), b"\x1f")), "\x1f"


def read_delimited(path: Path, kinds: Mapping[str, str], *, sep: str = ",",
                   names: Sequence[str] | None = None, skiprows: int = 0, encoding: str = "utf-8",
                   quoting: int = csv.QUOTE_MINIMAL, fix: str = "fix or remove those rows") -> pd.DataFrame:
    """Read the columns ``kinds`` of a delimited text file, strictly.

    Parameters
    ----------
    path : the file; a missing, empty or header-only file raises :class:`HarnessError`.
    kinds : column name -> kind (:data:`KINDS`); only these columns are returned, in this order.
    sep : field separator; multi-character separators (MovieLens-1M ``::``) are supported.
    names : the file's column names when it has no header row (all fields, in order);
        ``None`` reads the header row.
    skiprows : lines to skip before the data (e.g. a RecBole typed header parsed by the caller).
    encoding : text encoding (``latin-1`` for GroupLens item files).
    fix : advice appended to value errors.

    Returns
    -------
    DataFrame with a fresh RangeIndex: int64 / float64 / str columns. Blank lines are skipped.
    Line numbers in errors count physical lines (exact unless a quoted field spans lines).
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise HarnessError(f"{path}: file is empty; re-download or re-export it")
    header_lines = skiprows + (1 if names is None else 0)
    cols = list(kinds)
    bad_kind = [k for k in kinds.values() if k not in KINDS]
    if bad_kind:
        raise ValueError(f"unknown kinds {bad_kind}; use {KINDS}")
    common = {"header": 0 if names is None else None, "names": None if names is None else list(names),
              "skiprows": skiprows, "usecols": cols, "encoding": encoding, "quoting": quoting, "engine": "c"}
    if names is None:  # check the header first: a clear message instead of pandas' usecols error
        src, sep1 = _open(path, sep)
        head = _read(path, src, sep1, dict(common, usecols=None, nrows=0), sep, fix)
        missing = [c for c in cols if c not in head.columns]
        if missing:
            raise HarnessError(f"{path}: missing column(s) {', '.join(missing)} (found: "
                               f"{', '.join(map(str, head.columns))}); check the file is in the expected format")
    dtypes = {c: {"int": "int64", "str": "str", "str?": "str"}.get(k, "float64") for c, k in kinds.items()}
    src, sep1 = _open(path, sep)
    try:
        frame = _read(path, src, sep1, dict(common, dtype=dtypes), sep, fix)
        strict = [c for c, k in kinds.items() if k in ("float", "str")]
        if len(frame) and not frame[strict].isna().to_numpy().any():
            return frame[cols].reset_index(drop=True)
    except (ValueError, TypeError, OverflowError):
        pass  # some value does not parse: the slow path below finds and names it
    src, sep1 = _open(path, sep)
    raw = _read(path, src, sep1, dict(common, dtype=str, skip_blank_lines=False), sep, fix)
    raw = raw[~raw[cols].isna().all(axis=1)]  # blank lines
    if len(raw) == 0:
        raise HarnessError(f"{path}: no data rows; the file holds only a header or blank lines")
    lines = raw.index.to_numpy() + 1 + header_lines
    out = {c: parse_column(raw[c], k, path, c, lines, fix) for c, k in kinds.items()}
    return pd.DataFrame(out)[cols].reset_index(drop=True)


def header_columns(path: Path, sep: str = ",", encoding: str = "utf-8") -> list[str]:
    """The header row of a delimited file (an empty file raises :class:`HarnessError`)."""
    src, sep1 = _open(Path(path), sep)
    return [str(c) for c in _read(Path(path), src, sep1, {"nrows": 0, "encoding": encoding}).columns]


def _read(path: Path, src: object, sep: str, kw: dict, shown: str | None = None,
          fix: str = "fix the malformed line") -> pd.DataFrame:
    """``pd.read_csv`` with parser, encoding and emptiness errors turned into one-line HarnessErrors."""
    try:
        return pd.read_csv(src, sep=sep, **kw)
    except pd.errors.EmptyDataError:
        raise HarnessError(f"{path}: file is empty; re-download or re-export it") from None
    except pd.errors.ParserError as e:
        msg = str(e).strip().splitlines()[-1].replace("Error tokenizing data. C error: ", "")
        m = re.match(r"Too many columns specified: expected (\d+) and found (\d+)", msg)
        if m:
            msg = f"the first line has {m.group(2)} field(s), expected {m.group(1)}"
        raise HarnessError(f"{path}: {msg} (separator {shown or sep!r}); {fix}") from None
    except UnicodeDecodeError as e:
        raise HarnessError(f"{path}: not valid {kw.get('encoding')} text at byte {e.start}; "
                           "re-save the file in that encoding") from None


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
    return header_columns(path, "\t" if _text_suffix(path) in (".tsv", ".tab") else ",")


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
    elif pd.api.types.is_numeric_dtype(raw):
        num = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        miss = np.isnan(num)
        if miss.any():
            i = int(np.flatnonzero(miss)[0])
            raise HarnessError(f"{path}: time column '{col}' has a missing value at {unit} {where[i]} "
                               f"({int(miss.sum())} rows); fill or remove those rows")
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


def _ids(raw: pd.Series, path: Path, col: str, where: np.ndarray, unit: str) -> np.ndarray:
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


def load(path: Path, *, user: str = "user_id", item: str = "item_id", time: str = "timestamp",
         extra: tuple[str, ...] = (), positives: tuple[str, ...] = ("rating>=4",),
         split: Split | None = None, name: str | None = None) -> Interactions:
    """Load your own interactions from a CSV (``.csv``, ``.tsv``, optionally compressed) or parquet file.

    Parameters
    ----------
    path : the file; one row per interaction.
    user, item, time : the file's columns holding the user id, item id and time. ``time`` may be
        numeric (kept; int64 when integral, e.g. unix seconds or a day number) or datetime strings /
        parquet timestamps (converted to int64 unix seconds, naive values read as UTC). A time column
        is required: the splits are temporal.
    extra : further columns copied into ``events`` under their own names (e.g. ``("rating",)``).
        Columns read by ``positives`` are copied too.
    positives : the default positive definitions (see :mod:`harness.feedback`), e.g. ``("rating>=4",)``
        or ``("clicked",)``.
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
    if not is_parquet and sfx not in _CSV_SUFFIXES:
        raise HarnessError(f"tabular: {path.name}: unsupported file type; use .csv, .tsv or .parquet")
    if path.stat().st_size == 0:
        raise HarnessError(f"{path}: file is empty; export your interactions with a header row")
    positives = tuple(positives)
    have = _available(path)
    hint = _mapping_hint(user, item, time)
    for role, col in (("user", user), ("item", item), ("time", time)):
        if col not in have:
            extra_note = (" A time column is required (splits are by time); if the file has none, add one "
                          "(e.g. the row number)." if role == "time" else "")
            raise HarnessError(f"{path}: no {role} column {col!r} (available: {', '.join(have)}); {hint}."
                               + extra_note)
    for col in extra:
        if col not in have:
            raise HarnessError(f"{path}: extra column {col!r} not found (available: {', '.join(have)}); "
                               "fix --extra (or the extra= argument)")
    reserved = {"user", "item", "time"} - {user, item, time}
    wanted_extra = list(dict.fromkeys(extra))
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
    cols = list(dict.fromkeys([user, item, time, *wanted_extra]))
    if is_parquet:
        frame = pd.read_parquet(path, columns=cols)
        where, unit = np.arange(1, len(frame) + 1), "row"
    else:
        sep = "\t" if sfx in (".tsv", ".tab") else ","
        frame = _read(path, path, sep, {"usecols": cols})
        where, unit = frame.index.to_numpy() + 2, "line"
    if len(frame) == 0:
        raise HarnessError(f"{path}: no data rows; the file holds only a header")
    u = _ids(frame[user], path, user, where, unit)
    it = _ids(frame[item], path, item, where, unit)
    t = _to_time(frame[time], path, time, where, unit)
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
    return Interactions(
        name=name or path.name.split(".")[0], events=events, user_ids=uids, item_ids=iids,
        default_positives=positives, default_split=split or DEFAULT_SPLIT,
        fingerprint=fingerprint_files([path]), counts=counts)


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
