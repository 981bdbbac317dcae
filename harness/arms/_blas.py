"""Thread limits for the arms' numeric libraries.

implicit warns when OpenBLAS runs its own thread pool (``check_blas_config``) and training is then
much slower; on a small shared machine nested BLAS threads also oversubscribe the cores. Arms that
call implicit wrap both model construction (where the check runs) and ``fit`` in :func:`single_blas_thread`.
"""
from __future__ import annotations

from threadpoolctl import threadpool_limits


def single_blas_thread() -> threadpool_limits:
    """Context manager limiting BLAS libraries (OpenBLAS, MKL, BLIS) to one thread."""
    return threadpool_limits(limits=1, user_api="blas")
