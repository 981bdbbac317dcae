"""Build an approximate index over a factor model's item vectors and serve ``top_k``.

:class:`AnnScorer` implements the evaluator's top-k protocol (:mod:`harness.evaluation.users`):
``top_k(units, k, exclude) -> (items, scores)``: for each query unit (a user; an item in the
item -> users direction, with the roles of the two factor matrices swapped) the ``k`` best candidates
not in its ``exclude`` row, best first.

What is promised. The index is built single-threaded, inserting items in index order, with the
task's seed as hnswlib's ``random_seed`` (faiss: the IVF k-means seed; faiss' HNSW level generator
has a fixed seed of its own), so the graph is a pure function of (factors, parameters, seed) on one
machine and package version. A unit's result is a pure function of the index, its query vector and
its number of excluded items ``s``: it is searched alone for ``k + s`` neighbours (``refine x (k + s)``
with faiss IVF's ``refine``; queries never
interact; rows are grouped by ``s`` inside every call), the excluded ones are dropped, and the rest
are re-scored with our own float32 product (one row at a time: independent of batch size) and
ranked by (score desc, item index asc). Hence byte-identical per-user results for any ``n_jobs``,
thread count, batch partition and from the cache. A unit left with fewer than ``k`` candidates (a
search that found too few, or fewer than ``k`` unexcluded items in the catalogue) is ranked exactly,
alone (a rare fallback, so a per-unit loop).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from harness.spec.ann import EXTRA, AnnSpec, require  # noqa: F401 (require: part of this module's API)
from harness.arms.scorer import FactorScorer
from harness.errors import HarnessError
from harness.evaluation.topk import NEG, generic_top, hit_matrix

#: hnswlib's ``random_seed`` is ``HNSW_SEED_OFFSET + seed``: its level generator (``std::default_random_engine``,
#: i.e. minstd_rand0 in libstdc++) treats seeds 0 and 1 alike (both give the same graph), and 100 is
#: hnswlib's own default.
HNSW_SEED_OFFSET = 100


#: Candidate vectors gathered at once to re-score a block (float32: 16 MiB).
RESCORE_ELEMS = 1 << 22

def source_hash() -> str:
    """sha256 (16 hex) of this module's source: part of an ANN arm's cache key."""
    import hashlib
    from pathlib import Path

    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _mips(items: np.ndarray) -> np.ndarray:
    """Items with the extra coordinate ``sqrt(max|v|^2 - |v|^2)`` (queries get 0): L2 order = IP order."""
    n2 = np.einsum("ij,ij->i", items, items, dtype=np.float64)
    extra = np.sqrt(np.maximum(n2.max(initial=0.0) - n2, 0.0)).astype(np.float32)
    return np.ascontiguousarray(np.hstack([items, extra[:, None]]))


def _pad8(x: np.ndarray) -> np.ndarray:
    """``x`` with zero columns up to a multiple of 8 (distances and inner products unchanged)."""
    pad = -x.shape[1] % 8
    return np.ascontiguousarray(np.hstack([x, np.zeros((len(x), pad), np.float32)]) if pad else x)


def _build(spec: AnnSpec, items: np.ndarray, seed: int) -> Any:
    data = _mips(items) if spec.space == "mips" else items
    n, d = data.shape
    if spec.method == "hnsw":
        import hnswlib

        index = hnswlib.Index(space="l2" if spec.space == "mips" else "ip", dim=d)
        index.init_index(max_elements=n, ef_construction=spec.ef_construction, M=spec.M,
                         random_seed=HNSW_SEED_OFFSET + int(seed))
        index.add_items(data, np.arange(n), num_threads=1)  # one thread: the insert order is the item order
        index.set_ef(spec.ef)
        index.set_num_threads(1)
        return index
    import faiss

    faiss.omp_set_num_threads(1)
    metric = faiss.METRIC_L2 if spec.space == "mips" else faiss.METRIC_INNER_PRODUCT
    if spec.method == "faiss-hnsw":
        index = faiss.IndexHNSWFlat(d, spec.M, metric)
        index.hnsw.efConstruction = spec.ef_construction
        index.hnsw.efSearch = spec.ef
    else:
        if spec.encoding != "flat":  # faiss' SIMD scalar-quantizer kernels need d % 8 == 0 (9x slower otherwise)
            data = _pad8(data)
            d = data.shape[1]
        nlist = min(spec.nlist, n)
        quantizer = faiss.IndexFlatL2(d) if spec.space == "mips" else faiss.IndexFlatIP(d)
        if spec.encoding == "flat":
            index = faiss.IndexIVFFlat(quantizer, d, nlist, metric)
        else:
            qtype = faiss.ScalarQuantizer.QT_fp16 if spec.encoding == "fp16" else faiss.ScalarQuantizer.QT_8bit
            index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, qtype, metric)
        index.cp.seed = int(seed)
        index.cp.niter = spec.niter
        index.cp.max_points_per_centroid = spec.train_per_list  # faiss samples the training set with the seed
        index.cp.min_points_per_centroid = 1  # no stderr warning below 39 points per list (results unchanged)
        index.train(data)
        index.nprobe = min(spec.nprobe, nlist)
    index.add(data)
    return index


@dataclass(frozen=True, eq=False)
class AnnScorer:
    """An exact factor model served through an approximate index.

    Attributes
    ----------
    exact : the arm's :class:`FactorScorer` (query vectors ``user_vecs``, candidate vectors ``item_vecs``).
    spec : the validated ``ann=`` option.
    index : the hnswlib / faiss index over ``exact.item_vecs``.
    unit : what ``top_k`` ranks for: ``"users"`` (items per user), or ``"items"`` (candidate users per
        item: ``exact`` is the transposed model, see :func:`build`).
    """

    exact: FactorScorer
    spec: AnnSpec
    index: Any
    unit: str = "users"

    def score(self, users: np.ndarray) -> np.ndarray:
        """Exact dense scores (what the approximation is measured against)."""
        return self.exact.score(users)

    def _search(self, q: np.ndarray, kq: int) -> np.ndarray | None:
        """Candidate ids (len(q), kq), -1 where none was found; None if hnswlib found too few for a row."""
        if self.spec.space == "mips":
            q = np.hstack([q, np.zeros((len(q), 1), np.float32)])
        q = np.ascontiguousarray(q, dtype=np.float32)
        if self.spec.method == "hnsw":
            try:
                labels, _ = self.index.knn_query(q, k=kq, num_threads=1)
            except RuntimeError:  # "Cannot return the results in a contiguous 2D array"
                return None
            return labels.astype(np.int64)
        import faiss

        faiss.omp_set_num_threads(1)
        if self.spec.method == "faiss-ivf" and self.spec.encoding != "flat":
            q = _pad8(q)
        return self.index.search(q, kq)[1].astype(np.int64)

    def top_k(self, units: np.ndarray, k: int, exclude: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Items int64 (len(units), min(k, n_items)) and their float32 scores, best first, items in
        ``exclude[unit]`` left out (ranked last only if fewer than k others exist)."""
        units = np.asarray(units, dtype=np.int64)
        v = self.exact.item_vecs
        k = min(int(k), v.shape[0])
        top = np.empty((len(units), k), np.int64)
        vals = np.empty((len(units), k), np.float32)
        n_ex = np.diff(exclude.indptr)[units]
        for s in np.unique(n_ex):  # queries with the same k + s: one search call
            rows = np.flatnonzero(n_ex == s)
            kq = int(min(self.spec.refine * (k + s), v.shape[0]))  # refine x (k + s) candidates, re-scored
            top[rows], vals[rows] = self._rank(units[rows], k, kq, exclude)
        return top, vals

    def _rank(self, units: np.ndarray, k: int, kq: int, exclude: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        q = self.exact.user_vecs[units]
        ids = self._search(q, kq)
        if ids is None:  # one row came back short: search row by row, so each row is its own
            ids = np.full((len(units), kq), -1, np.int64)
            for i in range(len(units)):
                one = self._search(q[i:i + 1], kq)
                if one is not None:
                    ids[i] = one[0]
        found = ids >= 0
        safe = np.where(found, ids, 0)
        drop = ~found | hit_matrix(safe, exclude, units)
        s = np.empty(ids.shape, np.float32)
        step = max(1, RESCORE_ELEMS // (kq * q.shape[1]))
        for r in range(0, len(units), step):  # one (kq, d) @ (d,) product per row: independent of the batch
            s[r:r + step] = np.matmul(self.exact.item_vecs[safe[r:r + step]], q[r:r + step, :, None])[:, :, 0]
        s[drop] = NEG
        order = np.lexsort((safe, -s), axis=1)[:, :k]
        top = np.take_along_axis(safe, order, axis=1)
        vals = np.take_along_axis(s, order, axis=1)
        for i in np.flatnonzero(~(vals[:, -1] > NEG)):  # fewer than k found: exact, one unit at a time
            top[i] = generic_top(self.exact, units[i:i + 1], exclude, k)[0][0]
            vals[i] = self.exact.score(units[i:i + 1])[0, top[i]]
        return top, vals


def build(scorer: Any, spec: AnnSpec, seed: int, arm_name: str, *, item_to_users: bool = False,
          candidates: np.ndarray | None = None) -> AnnScorer:
    """Wrap a fitted arm's :class:`FactorScorer` in an :class:`AnnScorer` (index built with ``seed``).

    ``item_to_users``: index the user vectors and query with item vectors (units = items,
    candidates = users; pass ``exclude = seen.T.tocsr()`` to ``top_k``). ``candidates``: int (m,),
    sorted user indices to index instead of all users; ``top_k`` then returns positions in
    ``candidates`` (pass ``exclude = seen[candidates].T.tocsr()``, as :mod:`harness.evaluation.items` does).
    """
    if not isinstance(scorer, FactorScorer):
        raise HarnessError(f"Arm {arm_name!r}: ann= needs a factor model, but its fit returned a "
                           f"{type(scorer).__name__}; remove ann or return a FactorScorer")
    require(spec.method)
    u = np.ascontiguousarray(scorer.user_vecs, dtype=np.float32)
    v = np.ascontiguousarray(scorer.item_vecs, dtype=np.float32)
    if item_to_users:
        u, v = v, (u if candidates is None else np.ascontiguousarray(u[np.asarray(candidates, dtype=np.int64)]))
    if not (np.isfinite(u).all() and np.isfinite(v).all()):
        raise HarnessError(f"Arm {arm_name!r}: its factors contain NaN or inf (the model diverged), which an ANN "
                           "index cannot hold; lower the learning rate or remove ann")
    exact = FactorScorer(u, v)
    return AnnScorer(exact, spec, _build(spec, v, seed), "items" if item_to_users else "users")
