"""Side features as matrices: the one place user/item metadata and item content become model inputs.

Used by every arm that reads side features (LightFM ``user_features="meta"`` / ``item_features=...``,
the two-tower model's towers, the LightGBM re-ranker) and by the loaders that tokenise list columns
(KION genres, a ``--item-features`` side file). It imports nothing from the harness but its errors.

Encodings
---------
:func:`meta_table` (neural towers, LightFM): a metadata frame -> float32 (n, d) with named columns.

- text columns: a column where any value holds a ``,`` or ``|`` is a list (KION genres, countries;
  MovieLens genres) and becomes a multi-hot block; any other text column becomes a one-hot block.
  Each block keeps the ``MAX_TOKENS`` most frequent tokens of the fitting rows (ties by token);
  a text column (not a list) whose distinct values exceed both ``MAX_CATEGORIES`` and half of its
  non-missing rows (titles, descriptions) is free text and is skipped. Missing -> an all-zero block row.
- integer-valued numeric columns with at most ``MAX_CATEGORIES`` distinct values (KION kids_flg,
  ML-1M age band codes, VK-LSVD gender/geo) and columns named ``*_id`` are one-hot like text.
- other numeric columns (and datetimes, as days) are one column standardised with the mean and
  standard deviation of the fitting rows (the training data only); missing -> 0 (the mean).

:func:`ordinal_table` (tree models, the re-ranker): numeric columns raw, other columns as sorted
category codes (NaN where missing), plus the codes themselves.

:func:`content_columns`: ``"embedding[:n]"`` / ``"content"`` -> the first n (all) item content columns.

:func:`lightfm_matrix`: LightFM's conventions on top of a feature block: identity features on
(``[I | F]``, the hybrid model) or off (``F`` alone), rows L1-normalised (``"rows"``, as LightFM's
``Dataset`` does) or raw (None).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from harness.data.tokens import multi_hot, tokens  # noqa: F401 (part of this module's API)
from harness.errors import HarnessError

#: Tokens (or categories) kept per text column, the most frequent in the fitting rows.
MAX_TOKENS = 64
#: Integer-valued numeric columns with at most this many distinct values are categorical.
MAX_CATEGORIES = 32
#: Separators that make a text column a list (multi-hot).
LIST_SEPARATORS = (",", "|")
#: ``normalize`` values of :func:`lightfm_matrix`.
NORMALIZE = (None, "rows")
_SLICE = re.compile(r"^(embedding|content)(?:\[:(\d+)\])?$")


@dataclass(frozen=True)
class FeatureTable:
    """Encoded features.

    Attributes
    ----------
    values : float32 (n, d).
    names : (d,) column names, ``"<column>=<token>"`` for one-/multi-hot columns, ``"<column>"`` for numeric.
    """

    values: np.ndarray
    names: tuple[str, ...]

    @property
    def dim(self) -> int:
        return int(self.values.shape[1])


def list_separator(values: pd.Series) -> str | None:
    """The separator making a text column a list (the first of :data:`LIST_SEPARATORS` found), or None."""
    s = values.dropna().astype("str")
    for sep in LIST_SEPARATORS:
        if s.str.contains(sep, regex=False).any():
            return sep
    return None


def _frequent(tok: pd.Series, fit_index: np.ndarray | None, limit: int) -> tuple[str, ...]:
    """The ``limit`` most frequent tokens among the fitting rows (ties: token order), sorted by token."""
    if fit_index is not None:
        tok = tok[np.isin(tok.index.to_numpy(), fit_index)]
    counts = tok.value_counts()
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return tuple(sorted(counts.index[:limit].tolist()))


def _is_categorical_number(name: str, s: pd.Series) -> bool:
    vals = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=np.float64)
    if str(name).endswith("_id"):
        return True
    return bool(len(vals)) and bool(np.all(vals == np.round(vals))) and len(np.unique(vals)) <= MAX_CATEGORIES


def meta_table(meta: pd.DataFrame | None, n: int, fit_rows: np.ndarray | None = None,
               max_tokens: int = MAX_TOKENS) -> FeatureTable:
    """Encode a metadata frame (indexed by dense index 0..n-1) for neural towers and LightFM.

    Parameters
    ----------
    meta : the frame (rows missing from it are all-zero rows), or None (an (n, 0) table).
    n : rows of the output.
    fit_rows : dense indices whose values fix vocabularies, means and standard deviations (the rows
        seen in training); None: all rows.
    max_tokens : tokens kept per text column.
    """
    if meta is None or meta.shape[1] == 0:
        return FeatureTable(np.zeros((n, 0), np.float32), ())
    meta = meta.reindex(pd.RangeIndex(n))
    fit_index = None if fit_rows is None else np.asarray(fit_rows, dtype=np.int64)
    blocks, names = [], []
    for col in meta.columns:
        s = meta[col]
        numeric = pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s)
        if pd.api.types.is_datetime64_any_dtype(s):
            s = pd.Series(np.where(s.isna(), np.nan, s.astype("int64").to_numpy(dtype=np.float64) / 86400e9))
            numeric = True
        if numeric and not _is_categorical_number(str(col), s):
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            ref = x if fit_index is None else x[fit_index]
            ref = ref[np.isfinite(ref)]
            mean = float(ref.mean()) if len(ref) else 0.0
            std = float(ref.std()) if len(ref) else 0.0
            z = (x - mean) / (std if std > 0 else 1.0)
            blocks.append(np.where(np.isfinite(z), z, 0.0).astype(np.float32)[:, None])
            names.append(str(col))
            continue
        if numeric:  # categorical numbers: their integer value is the token
            s = pd.to_numeric(s, errors="coerce").map(lambda v: None if pd.isna(v) else str(int(v)))
        sep = None if numeric else list_separator(s)
        present = s.dropna()
        if not numeric and sep is None and present.nunique() > max(MAX_CATEGORIES, len(present) // 2):
            continue  # free text (titles, descriptions): not a feature
        tok = tokens(s, sep)
        vocab = _frequent(tok, fit_index, max_tokens)
        if not vocab:
            continue
        block, vocab = multi_hot(s, sep, vocab)
        blocks.append(block)
        names += [f"{col}={t}" for t in vocab]
    if not blocks:
        return FeatureTable(np.zeros((n, 0), np.float32), ())
    return FeatureTable(np.hstack(blocks).astype(np.float32), tuple(names))


def ordinal_table(meta: pd.DataFrame | None, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Metadata for tree models: float32 (n, k) (numeric columns raw, datetimes as int64 nanoseconds,
    other columns as sorted-category codes; NaN where missing) and, per non-numeric column, its int
    codes (-1 missing)."""
    if meta is None or meta.shape[1] == 0:
        return np.zeros((n, 0), np.float32), []
    meta = meta.reindex(pd.RangeIndex(n))
    cols, codes_list = [], []
    for name in meta.columns:
        s = meta[name]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols.append(s.astype("float64").to_numpy())
        elif pd.api.types.is_datetime64_any_dtype(s):
            cols.append(np.where(s.isna(), np.nan, s.astype("int64").to_numpy(dtype=np.float64)))
        else:
            codes, _ = pd.factorize(s.astype("string"), sort=True)
            codes_list.append(codes)
            cols.append(np.where(codes < 0, np.nan, codes).astype(np.float64))
    return np.column_stack(cols).astype(np.float32), codes_list


def content_columns(content: np.ndarray | None, spec: str, field: str = "item_features") -> np.ndarray:
    """The item content columns ``spec`` names: ``"embedding[:n]"`` / ``"content[:n]"`` (first n) or
    ``"embedding"`` / ``"content"`` (all); float32 (n_items, d)."""
    m = _SLICE.match(str(spec).strip())
    if not m:
        raise HarnessError(f"{field}={spec!r}: write 'embedding[:32]' (first 32 content columns), 'content' "
                           "(all columns) or 'meta' (item metadata columns)")
    if content is None:
        raise HarnessError(f"{field}={spec!r}: this dataset has no item content; use 'meta' or drop {field}")
    d = content.shape[1] if m.group(2) is None else int(m.group(2))
    return np.asarray(content[:, :d], dtype=np.float32)


def uses_content(spec) -> bool:
    """True when an ``item_features`` value names item content columns (``"embedding[:n]"``, ``"content"``)."""
    return isinstance(spec, str) and _SLICE.match(spec.strip()) is not None


def lightfm_matrix(n: int, features: np.ndarray | sp.spmatrix, identity: bool = True,
                   normalize: str | None = None) -> sp.csr_matrix:
    """LightFM's feature matrix: ``[I | features]`` (identity on) or ``features`` alone, rows
    optionally L1-normalised (``normalize="rows"``); CSR float32 (n, n + d) or (n, d)."""
    if normalize not in NORMALIZE:
        raise HarnessError(f"normalize={normalize!r}: use None (raw values) or 'rows' (L1 per row, as LightFM's "
                           "Dataset does)")
    features = sp.csr_matrix(features, dtype=np.float32)
    m = sp.hstack([sp.identity(n, dtype=np.float32, format="csr"), features], format="csr") if identity \
        else features
    if normalize == "rows":
        norm = np.asarray(abs(m).sum(axis=1), dtype=np.float64).ravel()
        m = sp.diags(np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 0.0).astype(np.float32)) @ m
    return sp.csr_matrix(m, dtype=np.float32)


def standardise(x: np.ndarray, fit_rows: np.ndarray | None = None) -> np.ndarray:
    """Columns of ``x`` standardised with the mean / std of ``fit_rows`` (constant columns: centred only);
    non-finite -> 0. float32, same shape."""
    x = np.asarray(x, dtype=np.float64)
    x = np.where(np.isfinite(x), x, np.nan)
    ref = x if fit_rows is None else x[np.asarray(fit_rows, dtype=np.int64)]
    with np.errstate(invalid="ignore"):
        mean = np.nan_to_num(np.nanmean(ref, axis=0)) if len(ref) else np.zeros(x.shape[1])
        std = np.nan_to_num(np.nanstd(ref, axis=0)) if len(ref) else np.ones(x.shape[1])
    z = (x - mean) / np.where(std > 0, std, 1.0)
    return np.where(np.isfinite(z), z, 0.0).astype(np.float32)
