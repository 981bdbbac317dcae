"""Item content for a tabular dataset from a side file (``--item-features movies.csv``).

The file has one row per item and a column named like the interactions' item column (e.g.
``movieId``). Every other numeric column becomes one content dimension (missing -> 0); a text column
whose values hold ``|``-separated tokens (MovieLens ``genres``) becomes one multi-hot dimension per
token ("(no genres listed)" is no token); other text columns (titles) are dropped, and the
description (shown in the report's notes) names each dropped column and why. Items of the
interactions missing from the file get a zero row and ``item_has_content`` False. The item column of
a text file is read as text, so ids such as ``0196`` match the interactions' ids as written.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.base import Interactions
from harness.data.delimited import read_csv_checked
from harness.data.tokens import multi_hot
from harness.errors import HarnessError


def read(path: Path, key: str, item_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Content (float32 (n_items, d)), has-content (bool (n_items,)) and a description, in ``item_ids`` order."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"--item-features: file not found: {path}; give a CSV or parquet file with one row per item")
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        frame = read_csv_checked(path, path, sep, {"dtype": {key: str}})
    if key not in frame.columns:
        raise HarnessError(f"{path}: no item column {key!r} (found: {', '.join(map(str, frame.columns))}); the "
                           "--item-features file needs the same item column as the interactions (--column item=...)")
    raw = frame[key]
    ids = np.asarray(item_ids)
    if ids.dtype.kind in "iuf":  # numeric ids: '0196' and '196' in the file are both item 196
        keys = pd.Index(pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
        probe = ids.astype(np.float64)
    else:
        keys = pd.Index(raw.astype(str))
        probe = ids.astype(str)
    last = ~keys.duplicated(keep="last")  # a repeated item: its last row
    hit = keys[last].get_indexer(probe)
    rows = np.where(hit >= 0, np.flatnonzero(last)[hit], -1)
    parts, desc, dropped = [], [], []
    for col in frame.columns:
        if col == key:
            continue
        values = frame[col]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            parts.append(values.to_numpy(dtype=np.float64, na_value=0.0)[:, None])
            desc.append(str(col))
        elif values.astype(str).str.contains("|", regex=False).any():
            block, vocab = multi_hot(values, "|")
            parts.append(block.astype(np.float64))
            desc.append(f"{col} ({len(vocab)} tokens, multi-hot)")
        else:
            dropped.append(str(col))
    if not parts:
        raise HarnessError(f"{path}: no numeric or '|'-separated column besides {key!r}; nothing to use as item content")
    table = np.hstack(parts).astype(np.float32)
    found = rows >= 0
    content = np.zeros((len(ids), table.shape[1]), dtype=np.float32)
    content[found] = table[rows[found]]
    text = f"item features from {path.name}: {', '.join(desc)}"
    if dropped:
        text += (f"; dropped column(s) {', '.join(dropped)}: text that is neither numeric nor '|'-separated "
                 "tokens")
    return content, found & (np.abs(content).sum(axis=1) > 0), text


def attach(inter: Interactions, path: Path, key: str) -> Interactions:
    """``inter`` with item content read from ``path`` (see :func:`read`)."""
    from dataclasses import replace

    content, has, desc = read(path, key, inter.item_ids)
    counts = dict(inter.counts, items_without_features=int((~has).sum()))
    return replace(inter, item_content=content, item_has_content=has, content_desc=desc, counts=counts)
