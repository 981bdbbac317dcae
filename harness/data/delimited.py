"""The strict delimited-file reader the MovieLens, KION and tabular loaders share.

:func:`read_delimited`: typed fast path, and on any bad value a one-line error naming the file, the
column, an example value and its line.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import HarnessError

#: Column kinds understood by :func:`read_delimited` (``?``: missing values allowed, kept as NaN).
KINDS = ("int", "float", "float?", "str", "str?")


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
    if len(sep) == 1 or sep == r"\s+":  # one character, or any whitespace run (a pandas regex it runs in C)
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
        head = read_csv_checked(path, src, sep1, dict(common, usecols=None, nrows=0), sep, fix)
        missing = [c for c in cols if c not in head.columns]
        if missing:
            raise HarnessError(f"{path}: missing column(s) {', '.join(missing)} (found: "
                               f"{', '.join(map(str, head.columns))}); check the file is in the expected format")
    dtypes = {c: {"int": "int64", "str": "str", "str?": "str"}.get(k, "float64") for c, k in kinds.items()}
    src, sep1 = _open(path, sep)
    try:
        frame = read_csv_checked(path, src, sep1, dict(common, dtype=dtypes), sep, fix)
        strict = [c for c, k in kinds.items() if k in ("float", "str")]
        if len(frame) and not frame[strict].isna().to_numpy().any():
            return frame[cols].reset_index(drop=True)
    except (ValueError, TypeError, OverflowError):
        pass  # some value does not parse: the slow path below finds and names it
    src, sep1 = _open(path, sep)
    raw = read_csv_checked(path, src, sep1, dict(common, dtype=str, skip_blank_lines=False), sep, fix)
    raw = raw[~raw[cols].isna().all(axis=1)]  # blank lines
    if len(raw) == 0:
        raise HarnessError(f"{path}: no data rows; the file holds only a header or blank lines")
    lines = raw.index.to_numpy() + 1 + header_lines
    out = {c: parse_column(raw[c], k, path, c, lines, fix) for c, k in kinds.items()}
    return pd.DataFrame(out)[cols].reset_index(drop=True)


def header_columns(path: Path, sep: str = ",", encoding: str = "utf-8") -> list[str]:
    """The header row of a delimited file (an empty file raises :class:`HarnessError`)."""
    src, sep1 = _open(Path(path), sep)
    return [str(c) for c in read_csv_checked(Path(path), src, sep1, {"nrows": 0, "encoding": encoding}).columns]


def read_csv_checked(path: Path, src: object, sep: str, kw: dict, shown: str | None = None,
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
