"""Run folders: ids, provenance, and atomic writes (a complete folder or none)."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pandas as pd

from harness.data.safe_write import confined, make_temp_dir
from harness.version import __version__

#: The sort key of :func:`blas` entries.
BLAS_ORDER = ("internal_api", "prefix", "version", "architecture", "threading_layer")
PACKAGES = ("numpy", "scipy", "pandas", "statsmodels", "lightfm-next", "implicit", "joblib", "pyarrow", "matplotlib")


def run_id(hyp_id: str, dataset: str, spec: dict, fingerprint: str, inputs: list[str] | None = None) -> str:
    """``<H>-<dataset>-<hash>``: the hash covers the resolved spec, the data's identity, the code version and
    ``inputs``, the cache keys of the run's tasks (each holds its arm's source hash and, for a ``runs`` arm,
    its run files' hashes), so any changed input gives a new run id instead of replacing the old folder."""
    blob = json.dumps({"spec": spec, "data": fingerprint, "harness": __version__, "inputs": inputs or []},
                      sort_keys=True, default=str)
    slug = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in dataset)
    return f"{hyp_id}-{slug}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


def git_commit() -> str | None:
    """The harness checkout's commit (with ``+dirty`` when modified), or None outside git."""
    here = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def blas() -> list[dict]:
    """The BLAS libraries loaded in this process, as threadpoolctl reports them: library
    (``internal_api``), version, core type (``architecture``: the kernel set OpenBLAS chose at run
    time, or forced with ``OPENBLAS_CORETYPE``) and threading layer. float32 scores can differ in
    the last bits between core types (see :mod:`harness.evaluation.users`), so a run records them.
    numpy's and scipy's are always loaded first, and the list is sorted by :data:`BLAS_ORDER`: which
    libraries a process has loaded, and in which order, varies with its imports (``--n-jobs``, a resumed
    run), and summary.json must not."""
    import numpy.linalg  # noqa: F401 - load numpy's and scipy's BLAS whatever this process imported so far
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    keep = ("internal_api", "version", "architecture", "threading_layer", "prefix")
    libs = [{k: str(i[k]) for k in keep if i.get(k) is not None}
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return sorted(libs, key=lambda d: tuple(d.get(k, "") for k in BLAS_ORDER))


def provenance(spec: dict, fingerprint: str, dataset: str, extra: dict | None = None) -> dict:
    """Everything needed to reproduce a run."""
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE",) if k in os.environ}
    return {"harness": __version__, "git_commit": git_commit(), "versions": versions(), "dataset": dataset,
            "data_fingerprint": fingerprint, "spec": spec, "blas": blas(), "blas_env": env, **(extra or {})}


def write_run(final: Path, fill: Callable[[Path], None], root: Path | None = None) -> Path:
    """Create run folder ``final`` atomically: ``fill(tmp)`` writes into a temp folder beside it,
    which then replaces ``final`` by rename. On any error nothing is left behind.

    ``final`` must lie under ``root`` (default its parent) once resolved, else a one-line error and nothing is
    written. The folder and what ``fill`` writes get the modes a plain ``mkdir`` / ``open`` give under the
    process umask (a results folder shared with a team stays readable)."""
    final = Path(final)
    confined(final.parent if root is None else Path(root), final, f"run folder {final.name!r}")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(final.parent, f".tmp-{final.name}-")
    try:
        fill(tmp)
        if final.exists():
            old = make_temp_dir(final.parent, f".old-{final.name}-")
            os.replace(final, old / "run")
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not any(final.parent.iterdir()):
            final.parent.rmdir()
        raise
    return final


def write_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2, sort_keys=False, allow_nan=False) + "\n")


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Deterministic parquet (no pandas index metadata, fixed row order)."""
    frame.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


def find(run: str | Path, results_dir: Path) -> Path | None:
    """The run folder ``run`` names: itself when it is a folder, else the folder of that run id under
    ``results_dir`` (``<results_dir>/<H>/<run>``); None when there is none (a path that does not exist too)."""
    path = Path(run)
    if path.is_dir():
        return path
    if path.is_absolute() or len(path.parts) != 1:
        return None
    found = sorted(Path(results_dir).glob(f"*/{path.name}"))
    return found[0] if found else None


def latest(results_dir: Path, hyp_id: str | None = None) -> Path | None:
    """The most recently written run folder (optionally of one hypothesis)."""
    root = Path(results_dir)
    pattern = f"{hyp_id}/*/summary.json" if hyp_id else "*/*/summary.json"
    runs = [p.parent for p in root.glob(pattern) if not p.parent.name.startswith(".")]
    return max(runs, key=lambda p: (p / "summary.json").stat().st_mtime) if runs else None
