"""Where tasks run: local processes (joblib loky) or a Dask distributed cluster.

``--backend dask --scheduler tcp://host:8786`` connects to an existing cluster (its workers need
the harness installed, same versions); ``--backend dask`` alone starts a LocalCluster with
``n_jobs`` single-threaded worker processes. Results are identical to the local backend: every
task is a pure function of its inputs and LightFM/BLAS run single-threaded inside each task.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from harness.errors import HarnessError, suggest

BACKENDS = ("loky", "dask")


@contextlib.contextmanager
def backend(name: str, n_jobs: int, scheduler: str | None = None) -> Iterator[str]:
    """Context in which :func:`harness.runner.tasks.execute` should run with ``backend=<yielded name>``."""
    if name not in BACKENDS:
        raise HarnessError(suggest(name, BACKENDS, "backend"))
    if name == "loky":
        if scheduler:
            raise HarnessError("--scheduler needs --backend dask")
        yield "loky"
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise HarnessError("--backend dask needs dask.distributed: pip install -e \".[dask]\"") from None
    from joblib import parallel_config

    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as e:
                raise HarnessError(f"cannot reach the Dask scheduler at {scheduler} ({e}); check the address "
                                   "(e.g. tcp://10.0.0.5:8786) and that the scheduler is running") from None
        else:
            cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        with client, parallel_config(backend="dask"):
            yield "dask"
    finally:
        if cluster is not None:
            cluster.close()
