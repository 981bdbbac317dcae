"""Item-kNN: cosine item-item similarity, top-K neighbours per target item.

With ``X`` the binary user-item matrix of training positives (n_users, n_items),

    sim(i, j) = |U_i & U_j| / sqrt(|U_i| |U_j|)    (cosine of item columns, sim(j, j) = 0)

and ``S[:, j]`` keeps, for each target item ``j``, only its ``K`` most similar items (ties by item
index). The score of item ``j`` for user ``u`` is ``sum_{i in I_u} S[i, j]`` = ``(X @ S)[u, j]``.

Everything is sparse and vectorised: rows of the (symmetric) similarity are computed in chunks
with one sparse product each, pruned to the top-K with one ``lexsort`` per chunk, and transposed.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from harness.arms.scorer import ItemScorer, TrainData
from harness.errors import HarnessError

_CHUNK_ENTRIES = 1 << 24  # at most ~16M similarity entries materialised per chunk


def binarize(x: sp.spmatrix) -> sp.csr_matrix:
    """A canonical CSR copy of ``x`` with 1.0 at every non-zero (float32)."""
    x = sp.csr_matrix(x, dtype=np.float32, copy=True)
    x.sum_duplicates()
    x.eliminate_zeros()
    x.data[:] = 1.0
    return x


def topk_per_row(m: sp.spmatrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest stored entries of each row of ``m`` (ties: smaller column index first).

    Vectorised: one lexsort over all stored entries by (row, -value, column).
    """
    c = sp.coo_matrix(m)
    c.sum_duplicates()
    order = np.lexsort((c.col, -c.data, c.row))
    rows = c.row[order]
    starts = np.searchsorted(rows, np.arange(c.shape[0]))  # first sorted entry of each row
    rank = np.arange(len(order)) - starts[rows]
    keep = order[rank < k]
    out = sp.csr_matrix((c.data[keep], (c.row[keep], c.col[keep])), shape=c.shape)
    out.sort_indices()
    return out


def cosine_topk(x: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Item-item cosine similarity of the columns of ``x``, top-``k`` per column, zero diagonal.

    Parameters
    ----------
    x : CSR (n_users, n_items), binary (or weighted) interactions.
    k : neighbours kept per target item (column).

    Returns
    -------
    CSR float32 (n_items, n_items) ``S`` with at most ``k`` non-zeros per column.
    """
    n_items = x.shape[1]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    xn = sp.csr_matrix(x @ sp.diags(inv))
    xt = sp.csr_matrix(xn.T)  # (n_items, n_users)
    chunk = max(1, _CHUNK_ENTRIES // max(n_items, 1))
    parts = []
    for start in range(0, n_items, chunk):
        stop = min(start + chunk, n_items)
        block = sp.coo_matrix(xt[start:stop] @ xn)  # rows start..stop of the symmetric similarity
        off = (block.row + start != block.col) & (block.data != 0)  # drop self-similarity sim(j, j)
        block = sp.coo_matrix((block.data[off], (block.row[off], block.col[off])), shape=block.shape)
        parts.append(topk_per_row(block, k))
    rows_topk = sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, n_items))
    # the similarity is symmetric, so row j's top-k = the neighbours of target item j = column j
    return sp.csr_matrix(rows_topk.T, dtype=np.float32)


def validate(params: dict) -> None:
    """Range checks (run when the hypothesis loads, and again before fitting)."""
    if "K" in params and int(params["K"]) < 1:
        raise HarnessError(f"arm 'itemknn': K must be >= 1, got {params['K']}")


def fit(train: TrainData, seed: int, K: int = 200) -> ItemScorer:
    """Fit item-kNN on the training positives; ``seed`` is unused (the method is deterministic).

    Parameters
    ----------
    K : neighbours kept per target item (default 200).
    """
    validate({"K": K})
    x = binarize(train.positives)
    sim = cosine_topk(x, int(K))
    return ItemScorer(history=x, sim=sim)
