"""EASE (Steck 2019): a closed-form item-item model, the strong simple baseline.

With ``X`` the binary user-item matrix of training positives,

    G = X^T X + lambda I,   P = G^{-1},   B = -P / diag(P) (column-wise),   diag(B) = 0,

and score = ``X @ B``. ``B`` is dense (n_items, n_items), so the arm refuses catalogues larger
than ``max_items`` (default 20,000 -> a 1.6 GB float32 matrix; the inversion is cubic).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from harness.arms.scorer import ItemScorer, TrainData
from harness.arms.itemknn import binarize
from harness.errors import HarnessError


def ease_weights(x, lam: float) -> np.ndarray:
    """The EASE item-item matrix ``B``, float32 (n_items, n_items), for binary ``x`` (n_users, n_items)."""
    g = np.asarray((x.T @ x).toarray(), dtype=np.float64)
    g[np.diag_indices_from(g)] += lam
    p = scipy.linalg.inv(g, overwrite_a=True, check_finite=False)  # in place: one n x n float64 buffer
    p /= -np.diag(p)[None, :]
    p[np.diag_indices_from(p)] = 0.0
    return p.astype(np.float32)


def validate(params: dict) -> None:
    """Range checks (run when the hypothesis loads, and again before fitting)."""
    if "lam" in params and not params["lam"] > 0:
        raise HarnessError(f"arm 'ease': lam must be > 0, got {params['lam']}")


def fit(train: TrainData, seed: int, lam: float = 500.0, max_items: int = 20_000,
        blas_threads: int | None = 1) -> ItemScorer:
    """Fit EASE on ``train.positives``; ``seed`` is unused (closed form).

    Parameters
    ----------
    lam : L2 weight lambda (default 500).
    max_items : largest catalogue the dense solve is allowed on.
    blas_threads : BLAS threads for the inversion (default 1: on a small shared machine a
        multi-threaded OpenBLAS inversion was 40x slower; None = the library's default).
    """
    validate({"lam": lam})
    if train.n_items > max_items:
        raise HarnessError(f"arm 'ease': {train.n_items} items is too many for dense EASE (limit {max_items}, "
                           f"a {train.n_items}x{train.n_items} matrix); filter the catalogue or use 'itemknn'")
    x = binarize(train.positives)
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        b = ease_weights(x, float(lam))
    return ItemScorer(history=x, sim=b)
