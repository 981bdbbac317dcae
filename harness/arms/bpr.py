"""implicit's BPR (Rendle et al. 2009) on the training positives.

implicit stores the item bias as the last column of ``item_factors`` with a constant 1 in the
matching column of ``user_factors``, so score = ``user_factors @ item_factors.T`` on the raw
factors is exactly what ``implicit``'s ``recommend`` ranks by. One thread by default: implicit's BPR is
not deterministic with more than one (``--threads-per-task`` labels such a run).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from harness.arms._blas import single_blas_thread
from harness.arms.scorer import FactorScorer, TrainData
from harness.errors import HarnessError

#: More threads per fit (``--threads-per-task``) change the result for a seed (Hogwild updates).
THREADS = "not reproducible"


def validate(params: dict) -> None:
    """Range checks (run when the hypothesis loads, and again before training)."""
    for name in ("factors", "iterations"):
        if name in params and int(params[name]) < 1:
            raise HarnessError(f"arm 'bpr': {name} must be >= 1, got {params[name]}")
    lr, reg = params.get("learning_rate", 0.01), params.get("regularization", 0.01)
    if lr <= 0 or reg < 0:
        raise HarnessError(f"arm 'bpr': need learning_rate > 0 and regularization >= 0, got {lr}, {reg}")


def fit(train: TrainData, seed: int, factors: int = 64, learning_rate: float = 0.01,
        regularization: float = 0.01, iterations: int = 100, num_threads: int = 1) -> FactorScorer:
    """Fit BPR on ``train.positives`` with ``random_state=seed``.

    Parameters
    ----------
    factors : latent dimensions (implicit adds one bias column).
    learning_rate : SGD step size.
    regularization : L2 weight.
    iterations : epochs over the positives.
    num_threads : set by the runner (``--threads-per-task``), never in the hypothesis; more than one thread
        updates the factors Hogwild-style, so the result for a seed is not reproducible (``THREADS``).
    """
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    validate({"factors": factors, "iterations": iterations, "learning_rate": learning_rate,
              "regularization": regularization})
    user_items = sp.csr_matrix(train.positives, dtype=np.float32)
    with single_blas_thread():
        model = BayesianPersonalizedRanking(factors=int(factors), learning_rate=float(learning_rate),
                                            regularization=float(regularization), iterations=int(iterations),
                                            random_state=int(seed), num_threads=int(num_threads))
        model.fit(user_items, show_progress=False)
    return FactorScorer(np.ascontiguousarray(model.user_factors, dtype=np.float32),
                        np.ascontiguousarray(model.item_factors, dtype=np.float32))
