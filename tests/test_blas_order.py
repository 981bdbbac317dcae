"""summary.json and report.md are byte-identical across ``--n-jobs`` and resumes: the BLAS libraries a run
records come sorted, whatever order (and import history) the process loaded them in."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import threadpoolctl

from harness.outputs import run_folder


def _lib(api: str, prefix: str, version: str, arch: str) -> dict:
    return {"user_api": "blas", "internal_api": api, "prefix": prefix, "version": version, "architecture": arch,
            "threading_layer": "pthreads", "filepath": f"/x/{prefix}-{version}.so", "num_threads": 2}


LIBS = [_lib("openblas", "libscipy_openblas", "0.3.31", "SkylakeX"), _lib("openblas", "libscipy_openblas", "0.3.30",
        "SkylakeX"), _lib("mkl", "libmkl_rt", "2024.0", "x"), _lib("openblas", "libopenblas", "0.3.27", "Haswell"),
        {"user_api": "openmp", "internal_api": "openmp", "prefix": "libgomp", "version": None}]


def test_blas_entries_are_sorted_whatever_the_load_order(monkeypatch):
    seen = set()
    for order in itertools.permutations(LIBS):
        monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda order=order: [dict(i) for i in order])
        got = run_folder.blas()
        seen.add(json.dumps(got))
    assert len(seen) == 1
    got = json.loads(seen.pop())
    assert [(b["internal_api"], b["prefix"], b["version"]) for b in got] == [
        ("mkl", "libmkl_rt", "2024.0"), ("openblas", "libopenblas", "0.3.27"),
        ("openblas", "libscipy_openblas", "0.3.30"), ("openblas", "libscipy_openblas", "0.3.31")]
    assert all(set(b) <= set(run_folder.BLAS_ORDER) for b in got)  # no file paths, no thread counts


def test_processes_with_different_imports_record_the_same_blas_list():
    """numpy alone, scipy first, and scipy + implicit: the same list (before: numpy alone lacked scipy's BLAS)."""
    outs = []
    for imports in ("import numpy", "import scipy.linalg, numpy", "import implicit, scipy.sparse, numpy"):
        code = f"{imports}\nimport json\nfrom harness.outputs.run_folder import blas\nprint(json.dumps(blas()))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ},
                             timeout=120)
        assert out.returncode == 0, out.stderr
        outs.append(out.stdout)
    assert outs[0] == outs[1] == outs[2] and json.loads(outs[0])
