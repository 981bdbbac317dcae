"""The ``ann=`` option of an embedding arm, parsed and validated when the hypothesis loads.

``Arm("als-hnsw", "als", factors=64, ann={"method": "hnsw", "M": 16, "ef_construction": 200, "ef": 100})``
evaluates the arm's factor model through an approximate index instead of exact scoring. One
mechanism for every arm whose ``fit`` returns a :class:`~harness.arms.scorer.FactorScorer` (``als``,
``bpr``, ``lightfm``, ``content``, user factor arms). The option is part of the arm's parameters,
hence of its cache key and run id.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from harness.errors import HarnessError, suggest

#: ``hnsw``: hnswlib (extra ``[ann]``); ``faiss-hnsw`` / ``faiss-ivf``: faiss-cpu (extra ``[faiss]``).
METHODS = ("hnsw", "faiss-hnsw", "faiss-ivf")
#: ``ip``: the index searches inner products directly (not a metric; measure recall);
#: ``mips``: the exact MIPS -> L2 reduction (Bachrach et al. 2014): items get one extra coordinate
#: ``sqrt(max|v|^2 - |v|^2)``, queries a 0, so L2 order = inner-product order.
SPACES = ("ip", "mips")
#: Parameters each method takes (``sample`` = units (users or items) of the quality check, see :mod:`.quality`).
KEYS = {"hnsw": ("method", "M", "ef_construction", "ef", "space", "sample"),
        "faiss-hnsw": ("method", "M", "ef_construction", "ef", "space", "sample"),
        "faiss-ivf": ("method", "nlist", "nprobe", "niter", "train_per_list", "encoding", "refine", "space", "sample")}
#: How faiss IVF stores the vectors it scans: ``flat`` float32, ``fp16`` half floats (faiss
#: ``SQfp16``), ``sq8`` 8 bits per dimension (``SQ8``: each dimension's min-max range over the indexed vectors).
ENCODINGS = ("flat", "fp16", "sq8")
#: Built-in arm kinds whose scorer is not a factor model (no ``ann=`` for them).
NOT_FACTOR = ("popularity", "itemknn", "ease", "rerank", "random", "runs")


@dataclass(frozen=True)
class AnnSpec:
    """A validated ``ann=`` option.

    Attributes
    ----------
    method : one of :data:`METHODS`.
    M : graph degree (HNSW; hnswlib's ``M``, faiss' ``M``).
    ef_construction : beam width while building (HNSW).
    ef : beam width while searching (HNSW); must be >= the largest metric k. A user with ``s`` seen
        items is searched for ``k + s`` neighbours, and hnswlib searches with ``max(ef, k + s)``.
    space : one of :data:`SPACES`.
    nlist, nprobe : inverted lists and lists probed per query (faiss IVF). Building assigns every
        indexed vector to a list (cost ~ vectors x nlist) and a query scans ``nprobe / nlist`` of them,
        so ``nlist ~ sqrt(queries x nprobe)`` balances the two (benchmarks/ann.py).
    niter, train_per_list : the IVF coarse k-means: iterations, and training vectors per list (a sample
        of ``train_per_list x nlist`` vectors drawn with the seed; all of them if fewer). Its cost is
        ~ niter x train_per_list x nlist^2; fewer points give coarser lists (lower recall per probe).
    encoding : one of :data:`ENCODINGS` (faiss IVF). ``fp16`` halves the memory and scans faster
        (benchmarks/ann.py); ``sq8`` quarters it but its approximate distances choose the
        candidates, so give it ``refine`` >= 2. Every candidate is re-scored exactly.
    refine : a unit with ``s`` excluded items asks the index for ``refine x (k + s)`` candidates,
        re-scores them exactly and keeps the best ``k`` (faiss IVF; 1 = no extra candidates).
    sample : evaluated units, users or items (drawn once per positives variant, seed 0), on which
        recall@k against exact search and the metric difference exact - ANN are measured.
    """

    method: str = "hnsw"
    M: int = 16
    ef_construction: int = 200
    ef: int = 100
    space: str = "ip"
    nlist: int = 1024
    nprobe: int = 32
    niter: int = 10
    train_per_list: int = 64
    encoding: str = "flat"
    refine: int = 1
    sample: int = 1000

    def to_dict(self) -> dict:
        keep = KEYS[self.method]
        return {k: v for k, v in asdict(self).items() if k in keep}

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.to_dict().items())


def _positive(where: str, name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise HarnessError(f"{where}: ann[{name!r}]={value!r} must be an integer >= {low}")
    return value


def parse(value, arm_name: str, kmax: int | None = None) -> AnnSpec:
    """The :class:`AnnSpec` of an arm's ``ann=`` value; one-line :class:`HarnessError` otherwise.

    ``kmax`` (the largest metric k of the hypothesis, when known) adds the ``ef >= k`` check.
    """
    where = f"Arm {arm_name!r}"
    if value is None:
        raise HarnessError(f"{where}: ann=None; drop the parameter for exact search or give e.g. "
                           "ann={'method': 'hnsw', 'ef': 100}")
    if not isinstance(value, dict):
        raise HarnessError(f"{where}: ann must be a dict such as {{'method': 'hnsw', 'M': 16, "
                           f"'ef_construction': 200, 'ef': 100}}, got {type(value).__name__}")
    method = value.get("method", "hnsw")
    if method not in METHODS:
        raise HarnessError(f"{where}: ann['method']: " + suggest(str(method), METHODS, "ANN method"))
    for key in value:
        if key not in KEYS[method]:
            raise HarnessError(f"{where}: ann[{key!r}]: " + suggest(str(key), KEYS[method], f"{method} parameter"))
    kw = {k: v for k, v in value.items() if k != "method"}
    if kw.get("space", "ip") not in SPACES:
        raise HarnessError(f"{where}: ann['space']: " + suggest(str(kw["space"]), SPACES, "space"))
    if kw.get("encoding", "flat") not in ENCODINGS:
        raise HarnessError(f"{where}: ann['encoding']: " + suggest(str(kw["encoding"]), ENCODINGS, "encoding"))
    for name, low in (("M", 2), ("ef_construction", 1), ("ef", 1), ("nlist", 1), ("nprobe", 1), ("niter", 1),
                      ("train_per_list", 1), ("refine", 1), ("sample", 1)):
        if name in kw:
            _positive(where, name, kw[name], low)
    spec = AnnSpec(method=method, **kw)
    if method == "faiss-ivf" and spec.nprobe > spec.nlist:
        raise HarnessError(f"{where}: ann['nprobe']={spec.nprobe} exceeds nlist={spec.nlist}; use nprobe <= nlist")
    if kmax is not None and method != "faiss-ivf" and spec.ef < kmax:
        raise HarnessError(f"{where}: ann['ef']={spec.ef} is below k={kmax} of the metrics; HNSW must search at "
                           f"least k candidates: use ef >= {kmax}")
    return spec


def check_kind(kind: str, arm_name: str) -> None:
    """``ann=`` only on factor models: refuse it for built-in kinds that are not."""
    if kind in NOT_FACTOR:
        raise HarnessError(f"Arm {arm_name!r} ({kind}): ann= needs a factor model (als, bpr, lightfm, content or an "
                           "arm returning a FactorScorer); remove ann from this arm")


#: The pip extra that installs each method's library.
EXTRA = {"hnsw": ("hnswlib", "ann"), "faiss-hnsw": ("faiss", "faiss"), "faiss-ivf": ("faiss", "faiss")}


def require(method: str) -> None:
    """Fail early with the install command when the method's library is missing."""
    module, extra = EXTRA[method]
    try:
        __import__(module)
    except ImportError:
        pkg = "hnswlib" if module == "hnswlib" else "faiss-cpu"
        raise HarnessError(f"ann method {method!r} needs {pkg}: pip install '{pkg}' (or the harness extra "
                           f"'.[{extra}]'), or remove ann= for exact search") from None
