"""Token lists in text columns (genres ``"Action|Comedy"``, countries ``"US, FR"``): split them and
encode them multi-hot. The loaders use it for item content; :mod:`harness.design.features` builds on it."""
from __future__ import annotations

import numpy as np
import pandas as pd


def tokens(values: pd.Series, sep: str | None) -> pd.Series:
    """One row per (original index, stripped non-empty token); ``sep=None``: the whole value is the token."""
    s = values.dropna().astype("str")
    tok = s.str.split(sep).explode() if sep else s
    tok = tok.str.strip()
    return tok[(tok != "") & (tok != "(no genres listed)")]


def multi_hot(values: pd.Series, sep: str | None = ",",
              vocab: tuple[str, ...] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Multi-hot float32 (len(values), V) of ``sep``-separated tokens (stripped); the columns are ``vocab``
    sorted, or the sorted set of tokens found (tokens outside ``vocab`` are dropped)."""
    values = values.reset_index(drop=True)
    tok = tokens(values, sep)
    if vocab is None:
        vocab = tuple(sorted(set(tok.to_numpy().tolist())))
    out = np.zeros((len(values), len(vocab)), dtype=np.float32)
    if len(tok) and len(vocab):
        vocab = tuple(sorted(vocab))
        out = np.zeros((len(values), len(vocab)), dtype=np.float32)
        arr = np.asarray(vocab, dtype=object)
        t = tok.to_numpy(dtype=object)
        col = np.minimum(np.searchsorted(arr, t), len(arr) - 1)
        ok = arr[col] == t
        out[tok.index.to_numpy()[ok], col[ok]] = 1.0
    return out, tuple(vocab)
