"""End-to-end reproducibility on data every clone has (a generated VK-LSVD): identical per-user
results and summaries for n_jobs 1 and 2 (loky), a Dask LocalCluster and the task cache, with a
catalogue large enough that factor arms take the fused ``tiled`` path and item-kNN the generic one.

Run under several OpenBLAS kernels by ``.ci/run`` (``OPENBLAS_CORETYPE``): the promise is byte
equality on one machine and kernel, never across kernels (see ``harness/evaluation/users.py``).
"""
from __future__ import annotations

import json

import pytest
from _tiny import tiny_vk

from harness.runner import experiment
from harness.evaluation import fused as F
from harness.spec import Arm, Decision, Hypothesis, Segment


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("det"), "synthetic-det", n_users=800, n_items=7000, seed=5,
                   mean_interactions=30)


def hypothesis() -> Hypothesis:
    return Hypothesis(id="HD", claim="determinism", dataset="synthetic-det", positives=("watch_ratio>=0.5",),
                      baseline=Arm("als", "als", factors=8, iterations=3),
                      treatment=Arm("warp", "lightfm", loss="warp", no_components=8, epochs=2),
                      segments=(Segment.activity_quantile(0.7), Segment.all()), metrics=("ndcg@10", "recall@20"),
                      primary="ndcg@10", seeds=(0, 1), decision=Decision.not_worse(0.01), n_boot=200)


def test_same_bytes_for_n_jobs_backends_and_cache(inter, tmp_path):
    pytest.importorskip("dask.distributed")
    hyp = hypothesis()
    runs = {}
    for tag, kw in (("seq", dict(n_jobs=1, cache_dir=tmp_path / "cache")),
                    ("loky2", dict(n_jobs=2, cache_dir=None)),
                    ("dask", dict(n_jobs=2, cache_dir=None, backend="dask")),
                    ("cached", dict(n_jobs=2, cache_dir=tmp_path / "cache"))):
        runs[tag] = experiment.run(hyp, inter=inter, results_dir=tmp_path / tag, quiet=True, **kw)
    assert runs["cached"].fitted == 0 and runs["cached"].cached == 4
    ref = runs["seq"]
    assert inter.n_items >= F.TOPK_MIN_ITEMS  # factor arms ran the fused tiled engine (5373 items)
    for tag, out in runs.items():
        assert out.run_id == ref.run_id, tag
        assert (out.run_dir / "per_user.parquet").read_bytes() == (ref.run_dir / "per_user.parquet").read_bytes(), tag
        assert (out.run_dir / "summary.json").read_text() == (ref.run_dir / "summary.json").read_text(), tag
    prov = json.loads((ref.run_dir / "provenance.json").read_text())
    blas = [b for b in prov["blas"] if b["internal_api"] == "openblas"]
    assert blas and all(b["version"] and b["architecture"] for b in blas)  # what numpy's OpenBLAS chose
    assert "BLAS: openblas" in (ref.run_dir / "report.md").read_text()
