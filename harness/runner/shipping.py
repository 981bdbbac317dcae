"""Data to workers once per run: tasks carry a small handle, not the prepared data.

A run has a few distinct payloads (one :class:`~harness.design.prepare.EvalData` per variant, with or
without the training events) and many tasks. Sending the payload with every task pickles it again per task
(a VK-LSVD-sized variant is ~1 GB). Instead:

- **loky** (``n_jobs > 1``): each payload is written once with :func:`joblib.dump` to a temporary folder
  (the system's, ``TMPDIR``; a disk file, so its pages are page cache the kernel can evict, unlike
  ``/dev/shm``), and each task gets a :class:`Shipped`
  handle (the file's path). A worker loads a payload once, with ``mmap_mode="c"``: the arrays are
  copy-on-write memory maps of the same file, so the workers share its pages (a model library that writes
  into its input gets a private copy of the pages it writes), and keeps it for its next tasks of the run.
- **Dask**: each payload is scattered once to every worker (``broadcast=True``); tasks hold the futures.
- ``n_jobs == 1``: the objects themselves, no copy.

Arrays a worker returns are copied out of the memory maps first (:func:`detach`), so no result refers to
a file that is deleted when the run ends.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import uuid
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Hashable, Iterator

import numpy as np

log = logging.getLogger("harness.runner.shipping")

#: Payloads loaded in this (worker) process: run token -> path -> payload. Only the current run's are kept.
_LOADED: dict[str, dict[str, object]] = {}


@dataclass(frozen=True)
class Shipped:
    """A payload written once for loky workers: ``path`` of its :func:`joblib.dump` file; ``token`` names
    the run (a worker drops payloads of an earlier run when it sees a new token)."""

    path: str
    token: str


def resolve(handle: object) -> object:
    """The payload behind ``handle``: a :class:`Shipped` file is loaded once per worker and run (memory
    mapped, copy-on-write); anything else (the object itself, or a Dask future already resolved by the
    scheduler) is returned as is."""
    if not isinstance(handle, Shipped):
        return handle
    run = _LOADED.get(handle.token)
    if run is None:
        _LOADED.clear()  # a new run in a reused worker: release the earlier run's maps
        run = _LOADED[handle.token] = {}
    if handle.path not in run:
        import joblib

        run[handle.path] = joblib.load(handle.path, mmap_mode="c")
    return run[handle.path]


def nbytes(obj: object) -> int:
    """Bytes of the numpy arrays in ``obj`` (dataclasses, dicts, scipy sparse matrices, DataFrames),
    an estimate of what shipping it costs."""
    import pandas as pd
    import scipy.sparse as sp

    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if sp.issparse(obj):
        return sum(int(getattr(obj, a).nbytes) for a in ("data", "indices", "indptr") if hasattr(obj, a))
    if isinstance(obj, pd.DataFrame):
        return int(obj.memory_usage(index=True, deep=False).sum())
    if is_dataclass(obj) and not isinstance(obj, type):
        return sum(nbytes(getattr(obj, f.name)) for f in fields(obj))
    if isinstance(obj, dict):
        return sum(nbytes(v) for v in obj.values())
    return 0


@contextlib.contextmanager
def ship(payloads: dict[Hashable, object], backend: str, n_jobs: int) -> Iterator[dict[Hashable, object]]:
    """Context giving, for each payload, what a task should carry: a :class:`Shipped` handle (loky,
    ``n_jobs > 1``), a Dask future (``backend="dask"``, inside :func:`harness.runner.backends.backend`) or
    the payload itself (``n_jobs == 1``, or joblib's ``"threading"`` backend). Files are deleted on exit."""
    if not payloads:  # every task came from the cache
        yield {}
        return
    if backend == "dask":
        from distributed import get_client

        client = get_client()
        keys = list(payloads)
        futures = client.scatter([payloads[k] for k in keys], broadcast=True, hash=False)
        log.info("data: %d payload(s), %.0f MB, scattered once to every Dask worker", len(keys),
                 sum(nbytes(p) for p in payloads.values()) / 2**20)
        try:
            yield dict(zip(keys, futures))
        finally:
            client.cancel(futures)
        return
    if n_jobs == 1 or backend == "threading":  # one process: nothing to ship
        yield dict(payloads)
        return
    import joblib

    size = sum(nbytes(p) for p in payloads.values())
    folder = tempfile.mkdtemp(prefix="harness-data-")
    token = uuid.uuid4().hex
    try:
        handles = {}
        for i, (k, p) in enumerate(payloads.items()):
            path = str(Path(folder) / f"payload{i}.joblib")
            joblib.dump(p, path)
            handles[k] = Shipped(path, token)
        log.info("data: %d payload(s), %.0f MB, written once to %s for the workers (memory-mapped)", len(handles),
                 size / 2**20, folder)
        yield handles
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _plain(a: object) -> object:
    if isinstance(a, np.ndarray):
        base = a
        while isinstance(base, np.ndarray):
            if isinstance(base, np.memmap):
                return np.array(a, copy=True, subok=False)
            base = base.base
        return a
    if isinstance(a, dict):
        return {k: _plain(v) for k, v in a.items()}
    return a


def detach(result: object) -> object:
    """``result`` (a dataclass, e.g. a TaskResult) with every array that views a memory map copied into
    plain memory, one level of nested dataclasses and dicts deep (scores, curve, top)."""
    if not (is_dataclass(result) and not isinstance(result, type)):
        return _plain(result)
    changes = {}
    for f in fields(result):
        v = getattr(result, f.name)
        if is_dataclass(v) and not isinstance(v, type):
            inner = {g.name: _plain(getattr(v, g.name)) for g in fields(v)}
            if any(inner[g.name] is not getattr(v, g.name) for g in fields(v)):
                changes[f.name] = replace(v, **inner)
        else:
            p = _plain(v)
            if p is not v:
                changes[f.name] = p
    return replace(result, **changes) if changes else result
