"""What holds across CPUs: the same evaluation under each OpenBLAS kernel set that numpy's
(DYNAMIC_ARCH) OpenBLAS can be forced to use here (``OPENBLAS_CORETYPE``), each in a fresh process.

Scores agree within the float32 bound, rankings up to near-ties within it, and per-user metrics
exactly wherever no near-tie touches the top-k; results within one process are byte-identical.
A kernel this CPU cannot run is skipped by OpenBLAS itself (it falls back), which this test accepts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _near_ties import exact_scores, float32_tolerance, near_tie_users

from harness.arms.scorer import FactorScorer
from harness.evaluation.users import evaluate, top_items

CORES = ("Haswell", "SkylakeX", "Zen", "Sandybridge", "Prescott")
HERE = Path(__file__).resolve().parent

SCRIPT = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from test_blas_kernels import case, outputs
from threadpoolctl import threadpool_info
np.savez(sys.argv[2], **outputs(*case()))
print(json.dumps([i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]))
"""


def case():
    """A factor model large enough for the tiled engine's real tile sizes, with skewed seen sets."""
    rng = np.random.default_rng(42)
    n_users, n_items, d = 300, 5000, 48
    u = rng.standard_normal((n_users, d), dtype=np.float32)
    v = rng.standard_normal((n_items, d), dtype=np.float32)
    import scipy.sparse as sp

    counts = rng.poisson(25, n_users)
    rows = np.repeat(np.arange(n_users), counts)
    seen = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, rng.integers(0, n_items, len(rows)))),
                         shape=(n_users, n_items))
    seen.sum_duplicates()
    rel = sp.csr_matrix((np.ones(3 * n_users, bool), (np.repeat(np.arange(n_users), 3),
                         rng.integers(0, n_items, 3 * n_users))), shape=(n_users, n_items))
    rel = (rel.astype(np.float32) - rel.astype(np.float32).multiply(seen)).astype(bool).tocsr()
    rel.eliminate_zeros()
    return FactorScorer(u, v), np.flatnonzero(np.diff(rel.indptr) > 0), seen, rel


def outputs(scorer, users, seen, rel) -> dict:
    out = {"scores": scorer.score(users[:7])}
    for method in ("generic", "tiled"):
        out[f"top_{method}"] = top_items(scorer, users, seen, 20, method=method)
        out[f"ndcg_{method}"] = evaluate(scorer, users, seen, rel, ("ndcg@20",), method=method).values["ndcg@20"]
    return out


@pytest.fixture(scope="module")
def per_kernel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kernels")
    found = {}
    for core in CORES:
        env = {**os.environ, "OPENBLAS_CORETYPE": core}
        out = subprocess.run([sys.executable, "-c", SCRIPT, str(HERE), str(tmp / f"{core}.npz")], env=env,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        with np.load(tmp / f"{core}.npz") as z:
            found[core] = (json.loads(out.stdout.strip().splitlines()[-1]), dict(z))
    return found


def test_every_kernel_agrees_up_to_float32_near_ties(per_kernel):
    scorer, users, seen, rel = case()
    here = outputs(scorer, users, seen, rel)
    u, v = scorer.user_vecs, scorer.item_vecs
    exact = exact_scores(u, v, users, seen)
    tol = float32_tolerance(u, v, users)
    raw = u[users[:7]].astype(np.float64) @ v.astype(np.float64).T
    assert (np.abs(here["scores"] - raw) <= tol[:7, None] / 2).all()
    for core, (_arch, got) in per_kernel.items():
        assert (np.abs(got["scores"] - here["scores"]) <= tol[:7, None]).all(), core
        for method in ("generic", "tiled"):
            touched = near_tie_users(here[f"top_{method}"], got[f"top_{method}"], exact, tol)
            assert touched.mean() < 0.25, (core, method)
            ok = ~touched
            np.testing.assert_array_equal(got[f"ndcg_{method}"][ok], here[f"ndcg_{method}"][ok], err_msg=core)


def test_within_one_kernel_results_are_byte_identical(per_kernel):
    """The same process layout twice gives the same bytes (the kernel choice is not random)."""
    scorer, users, seen, rel = case()
    a, b = outputs(scorer, users, seen, rel), outputs(scorer, users, seen, rel)
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name
    cores_seen = {tuple(arch) for arch, _ in per_kernel.values()}
    assert len(cores_seen) >= 1
