"""The task cache: each finished (variant, arm, seed) task as ``<dir>/<key>.npz``.

:func:`task_key` hashes a task with its data/split/metric context, :data:`CACHE_VERSION` and the arm's
source; :class:`TaskCache` reads (and validates) and atomically writes the entries. Tasks and their
execution are in :mod:`harness.runner.tasks`.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from harness.version import __version__
from harness.arms.registry import resolve
from harness.data.safe_write import make_temp_file
from harness.design.split import fold_seed
from harness.evaluation.users import PerUserScores
from harness.spec import Arm

#: Bump when a change alters per-user results (invalidates cached tasks).
CACHE_VERSION = f"{__version__}-10"  # -10: text ids keep leading zeros ('0196' != '196'); -9: the data identity hashes every file in full and every reader option; -8: item-direction tuning/curves scored per item


class _Task(Protocol):
    """What a cache key reads of a :class:`harness.runner.tasks.Task`."""

    variant: str
    arm: Arm
    seed: int
    threads: int
    fold: int | None


def task_key(task: _Task, context: str) -> str:
    """Cache key: the task, the data/split/metric context, the code version and the arm's source (the
    hash of the module defining its ``fit``, plus e.g. a run file's hash): editing a model file
    invalidates its cached results. A task trained with more than one thread (``--threads-per-task``) in a
    library that is then not reproducible for a seed (LightFM, BPR) has its own key, marked
    ``reproducible: false``; where threads change nothing (ALS; arms without ``num_threads``) the key is the
    one-thread key."""
    src = resolve(task.arm.kind)
    source = src.fingerprint(task.arm.kwargs, task.seed)
    if "ann" in task.arm.kwargs:  # an ANN arm's results also depend on the index code
        from harness.evaluation.ann import index

        source += f"|ann:{index.source_hash()}"
    doc = {"variant": task.variant, "arm": task.arm.to_dict(), "seed": task.seed,
           "context": context, "version": CACHE_VERSION, "source": source}
    if getattr(task, "fold", None) is not None:  # a rolling-origin fold; other splits keep their keys
        doc["fold"] = task.fold
        doc["fit_seed"] = fold_seed(task.seed, task.fold)  # each fold its own seed stream
    if task.threads > 1 and src.threads == "not reproducible":
        doc.update(threads=task.threads, reproducible=False)
    blob = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class TaskCache:
    """Per-task results as ``<dir>/<key>.npz``, written atomically (temp file + rename).

    An entry that cannot be read, or reads but does not fit the task (other users, other metrics, arrays of
    the wrong length or type), is a miss: the task is recomputed, never trusted; :attr:`rejected` then says
    why (the runner logs it)."""

    def __init__(self, directory: Path | None):
        self.dir = None if directory is None else Path(directory)
        self.rejected: str | None = None

    def path(self, key: str) -> Path | None:
        return None if self.dir is None else self.dir / f"{key}.npz"

    def get(self, key: str, need_top: int = 0, need_tuning: bool = False, users: np.ndarray | None = None,
            metrics: tuple[str, ...] | None = None, need_exposure: bool = False) -> dict | None:
        """The cached result of ``key`` as the fields of a :class:`harness.runner.tasks.TaskResult` (``scores``,
        ``curve``, ``tuned``, ``top``, ``notes``, ``tuning``, ``ann``), or None; an entry without the
        top-``need_top`` lists (or, ``need_tuning``, without its tuning record) counts as missing when they
        are needed (so is one without catalogue exposure metrics, ``need_exposure``). ``users`` / ``metrics``: what the task evaluates; an entry for other users or metrics, or
        whose arrays do not match them, is rejected (see :attr:`rejected`)."""
        self.rejected = None
        p = self.path(key)
        if p is None or not p.exists():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                names = [str(x) for x in z["metric_names"]]
                curve = z["curve"] if "curve" in z.files else None
                tuned = json.loads(str(z["tuned"])) if "tuned" in z.files else None
                top = z["top"] if "top" in z.files else None
                notes = tuple(json.loads(str(z["notes"]))) if "notes" in z.files else ()
                tuning = json.loads(str(z["tuning"])) if "tuning" in z.files else None
                ann = json.loads(str(z["ann"])) if "ann" in z.files else None
                if need_top and (top is None or top.shape[1] != need_top) or need_tuning and tuning is None:
                    return None
                cov = dict(zip((str(x) for x in z["cov_names"]), (float(x) for x in z["cov_values"])))
                if need_exposure and "iexp_names" not in z.files:
                    return None
                exp = (dict(zip((str(x) for x in z["exp_names"]), (float(x) for x in z["exp_values"])))
                       if "exp_names" in z.files else {})
                iexp = ({str(m): z[f"iexp{i}"] for i, m in enumerate(z["iexp_names"])}
                        if "iexp_names" in z.files else {})
                scores = PerUserScores(z["users"], {m: z[f"m{i}"] for i, m in enumerate(names)},
                                       z["n_relevant"], int(z["nan_scores"]), cov, exp, iexp)
        except Exception as e:  # a corrupt cache entry is recomputed, never trusted
            self.rejected = f"cache entry {p.name} unreadable ({type(e).__name__}: {e}); recomputed"
            return None
        problem = _mismatch(scores, curve, top, users, metrics)
        if problem is not None:
            self.rejected = f"cache entry {p.name} does not fit the task ({problem}); recomputed"
            return None
        return {"scores": scores, "curve": curve, "tuned": tuned, "top": top, "notes": notes,
                "tuning": tuning, "ann": ann}

    def put(self, key: str, s: PerUserScores, curve: np.ndarray | None = None, tuned: dict | None = None,
            top: np.ndarray | None = None, notes: tuple[str, ...] = (), tuning: dict | None = None,
            ann: dict | None = None) -> None:
        p = self.path(key)
        if p is None:
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"m{i}": v for i, v in enumerate(s.values.values())}
        fd, tmp = make_temp_file(p.parent, suffix=".tmp")  # not *.npz until complete; umask modes
        if curve is not None:
            arrays["curve"] = curve
        if tuned is not None:
            arrays["tuned"] = np.array(json.dumps(tuned, sort_keys=True, default=str))
        if top is not None:
            arrays["top"] = top
        if notes:
            arrays["notes"] = np.array(json.dumps(list(notes)))
        if tuning is not None:
            arrays["tuning"] = np.array(json.dumps(tuning, sort_keys=True, default=str))
        if ann is not None:
            arrays["ann"] = np.array(json.dumps(ann))  # key order kept: the summary shows it
        if s.exposure:
            arrays["exp_names"] = np.array(list(s.exposure), dtype=str)
            arrays["exp_values"] = np.array(list(s.exposure.values()), dtype=np.float64)
        if s.item_exposure:
            arrays["iexp_names"] = np.array(list(s.item_exposure), dtype=str)
            arrays.update({f"iexp{i}": v for i, v in enumerate(s.item_exposure.values())})
        with os.fdopen(fd, "wb") as f:  # a file object: np.savez adds no ".npz" suffix
            np.savez(f, users=s.users, n_relevant=s.n_relevant, nan_scores=s.nan_scores,
                     cov_names=np.array(list(s.coverage), dtype=str), cov_values=np.array(list(s.coverage.values())),
                     metric_names=np.array(list(s.values.keys())), **arrays)
        os.replace(tmp, p)


def _mismatch(s: PerUserScores, curve: np.ndarray | None, top: np.ndarray | None, users: np.ndarray | None,
              metrics: tuple[str, ...] | None) -> str | None:
    """Why a cache entry that reads cannot be this task's result, or None when it fits."""
    n = s.users.shape[0] if s.users.ndim == 1 else -1
    if n < 0 or s.users.dtype.kind not in "iu":
        return f"users: {s.users.dtype} of shape {s.users.shape}, not a vector of indices"
    if users is not None and not np.array_equal(s.users, users):
        return f"{n} users, not the task's {len(users)} evaluated users"
    if metrics is not None and sorted(s.values) != sorted(metrics):
        return f"metrics {sorted(s.values)}, not {sorted(metrics)}"
    for m, v in s.values.items():
        if v.shape != (n,) or v.dtype.kind != "f" or not np.all(np.isfinite(v)):
            return f"{m}: {v.dtype} of shape {v.shape}, not {n} finite floats"
    if s.n_relevant.shape != (n,) or s.n_relevant.dtype.kind not in "iu":
        return f"n_relevant: {s.n_relevant.dtype} of shape {s.n_relevant.shape}, not {n} counts"
    if s.nan_scores < 0 or not all(np.isfinite(list(s.coverage.values()))):
        return "nan_scores / coverage out of range"
    if top is not None and (top.ndim != 2 or top.shape[0] != n or top.dtype.kind not in "iu"):
        return f"top lists: {top.dtype} of shape {top.shape}, not ({n}, k) indices"
    if curve is not None and (curve.ndim != 1 or curve.dtype.kind != "f"):
        return f"curve: {curve.dtype} of shape {curve.shape}, not a vector"
    return None
