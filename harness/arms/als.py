"""implicit's ALS (Hu, Koren & Volinsky 2008) on the training positives.

The confidence of a positive is ``alpha * 1`` (implicit scales ``user_items`` by ``alpha``);
score = ``user_factors @ item_factors.T``, exactly what ``implicit``'s ``recommend`` ranks by.
Runs with one implicit thread and one BLAS thread, so a seed fixes the factors bit for bit.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from harness.arms._blas import single_blas_thread
from harness.arms.scorer import FactorScorer, TrainData
from harness.errors import HarnessError

#: More threads per fit (``--threads-per-task``) give identical factors (measured: 1 vs 2 threads, equal bytes).
THREADS = "reproducible"


def validate(params: dict) -> None:
    """Range checks (run when the hypothesis loads, and again before training)."""
    for name, low in (("factors", 1), ("iterations", 1)):
        if name in params and int(params[name]) < low:
            raise HarnessError(f"arm 'als': {name} must be >= {low}, got {params[name]}")
    if params.get("regularization", 0.0) < 0 or params.get("alpha", 1.0) <= 0:
        raise HarnessError(f"arm 'als': need regularization >= 0 and alpha > 0, got "
                           f"{params.get('regularization', 0.01)}, {params.get('alpha', 1.0)}")


def fit_factors(positives: sp.spmatrix, seed: int, factors: int = 64, regularization: float = 0.01,
                alpha: float = 1.0, iterations: int = 15, num_threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Train ALS and return ``(user_factors, item_factors)``, float32 (n_users, f) and (n_items, f)."""
    from implicit.cpu.als import AlternatingLeastSquares

    validate({"factors": factors, "iterations": iterations, "regularization": regularization, "alpha": alpha})
    user_items = sp.csr_matrix(positives, dtype=np.float32)
    with single_blas_thread():
        model = AlternatingLeastSquares(factors=int(factors), regularization=float(regularization),
                                        alpha=float(alpha), iterations=int(iterations),
                                        random_state=int(seed), num_threads=int(num_threads))
        model.fit(user_items, show_progress=False)
    return (np.ascontiguousarray(model.user_factors, dtype=np.float32),
            np.ascontiguousarray(model.item_factors, dtype=np.float32))


def fit(train: TrainData, seed: int, factors: int = 64, regularization: float = 0.01, alpha: float = 1.0,
        iterations: int = 15, num_threads: int = 1) -> FactorScorer:
    """Fit ALS on ``train.positives`` with ``random_state=seed``.

    Parameters
    ----------
    factors : latent dimensions.
    regularization : L2 weight on the factors.
    alpha : confidence scaling of the positives.
    iterations : ALS sweeps.
    num_threads : set by the runner (``--threads-per-task``), never in the hypothesis; each user's (item's)
        solve is independent of the others, so the factors are identical for any thread count.
    """
    u, i = fit_factors(train.positives, seed, factors, regularization, alpha, iterations, num_threads)
    return FactorScorer(u, i)
