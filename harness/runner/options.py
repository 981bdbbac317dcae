"""The options of a run, shared by ``python -m harness run`` and :func:`harness.run`: one frozen object, so
the CLI flags and the Python keywords cannot drift apart (``tests/test_api.py`` checks every ``run`` flag
has its field)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, suggest
from harness.spec import Hypothesis, Seeds, Split

#: ``run`` flags that are not options of a run: what to run, and how the CLI itself behaves.
CLI_ONLY = ("hypothesis", "all", "reference", "plan", "no_cache", "no_header", "debug", "command")
BACKENDS = ("loky", "dask")
SAVE_RUNS = ("parquet", "csv", "trec")


@dataclass(frozen=True)
class RunOptions:
    """Everything that shapes a run besides the hypothesis. Each field is the ``run`` flag of the same
    name (``--data-dir`` -> ``data_dir``); ``cache_dir=None`` is ``--no-cache``; ``results_dir=None``
    writes no run folder (Python only).

    Attributes
    ----------
    dataset : another dataset than the hypothesis' own (``synthetic-vk``, ``ml-100k``, ``tabular:f.csv``, ...).
    data_dir : the dataset's folder (default: the data cache, fetched on first use).
    seeds : N seeds 0..N-1, ``"auto"`` (adaptive), or None (the hypothesis' own).
    positives : positive definitions replacing the hypothesis' own, e.g. ``("rating>=4",)``.
    split : ``"random"``, ``"random:7"`` (seed 7), ``"order"`` (tabular files) or ``"rolling:4"`` (4 rolling-origin
        folds of equal row counts at the end of the timeline: :meth:`Split.rolling_rows`).
    columns : ``{"user": ..., "item": ..., "time": ...}`` column names of a tabular file.
    sep, names : a text file's separator and, without a header row, its column names.
    item_features : a side file of item content for a tabular dataset.
    n_jobs, backend, scheduler : parallel (arm, seed) tasks; ``backend="dask"`` with ``scheduler`` an address.
    threads_per_task : ``num_threads`` of each fit, for arms whose library takes it (default 1; LightFM and
        BPR are not byte-reproducible with more, and the run's cache keys, provenance and report say so).
    cache_dir, results_dir, hypotheses : the task cache, where run folders go, the hypothesis files.
    save_runs : also write every arm's evaluated top-k lists (``parquet``, ``csv``, ``trec``).
    quiet : no progress bar.
    offline, mirror, registry : how public datasets are fetched (None: the environment's settings).
    """

    dataset: str | None = None
    data_dir: Path | None = None
    seeds: int | str | None = None
    positives: tuple[str, ...] | None = None
    split: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    sep: str | None = None
    names: tuple[str, ...] | None = None
    item_features: Path | None = None
    n_jobs: int = 1
    threads_per_task: int = 1
    backend: str = "loky"
    scheduler: str | None = None
    cache_dir: Path | None = Path(".cache/harness")
    results_dir: Path | None = Path("results")
    hypotheses: Path | None = None
    save_runs: str | None = None
    quiet: bool = False
    offline: bool | None = None
    mirror: str | None = None
    registry: Path | None = None

    def __post_init__(self) -> None:
        if self.seeds is not None and self.seeds != "auto" and \
                (isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1):
            raise HarnessError(f"seeds={self.seeds!r}: give a positive number of seeds or 'auto'")
        if isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int) or self.n_jobs < 1:
            raise HarnessError(f"n_jobs={self.n_jobs!r}: give a positive integer")
        if isinstance(self.threads_per_task, bool) or not isinstance(self.threads_per_task, int) \
                or self.threads_per_task < 1:
            raise HarnessError(f"threads_per_task={self.threads_per_task!r}: give a positive integer (default 1)")
        if self.backend not in BACKENDS:
            raise HarnessError(f"backend={self.backend!r}: use one of {', '.join(BACKENDS)}")
        if self.save_runs is not None and self.save_runs not in SAVE_RUNS:
            raise HarnessError(f"save_runs={self.save_runs!r}: use one of {', '.join(SAVE_RUNS)}")
        if self.split is not None and self.split.partition(":")[0] not in ("random", "order", "rolling"):
            raise HarnessError(f"split={self.split!r}: use 'random', 'random:SEED', 'order' or 'rolling:FOLDS'")
        for name in ("data_dir", "item_features", "cache_dir", "results_dir", "hypotheses", "registry"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if isinstance(self.positives, str):
            object.__setattr__(self, "positives", (self.positives,))
        elif self.positives is not None:
            object.__setattr__(self, "positives", tuple(self.positives))
        if self.names is not None:
            object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "columns", dict(self.columns or {}))

    @classmethod
    def create(cls, **options: Any) -> RunOptions:
        """From keyword arguments; an unknown keyword is a one-line error naming the closest option."""
        known = [f.name for f in dataclasses.fields(cls)]
        for name in options:
            if name not in known:
                raise HarnessError(suggest(name, known, "option"))
        return cls(**options)

    @classmethod
    def from_args(cls, args: Any) -> RunOptions:
        """From the parsed ``run`` flags (``--no-cache`` -> ``cache_dir=None``)."""
        kw = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
        kw["columns"] = dict(getattr(args, "column", None) or [])
        if getattr(args, "no_cache", False):
            kw["cache_dir"] = None
        return cls(**kw)

    def apply(self, hyp: Hypothesis) -> Hypothesis:
        """``hyp`` with the seeds, positives and split overrides applied."""
        if self.seeds == "auto":
            hyp = hyp.replace(seeds=Seeds.adaptive(), adaptive=None)
        elif self.seeds is not None:
            hyp = hyp.replace(seeds=tuple(range(self.seeds)), adaptive=None)
        if self.positives:
            hyp = hyp.replace(positives=tuple(self.positives), explicit_positives=True)  # never swapped silently
        if self.split:
            kind, _, seed = self.split.partition(":")
            n = hyp.split.n if hyp.split is not None and hyp.split.n else 5
            if kind == "rolling":
                hyp = hyp.replace(split=Split.rolling_rows(folds=int(seed or 4)))
            else:
                hyp = hyp.replace(split=Split.random(n, int(seed or 0)) if kind == "random" else Split.file_order(n))
        return hyp

    def load_options(self) -> dict:
        """The tabular-file keywords of :func:`harness.data.load_dataset`."""
        kind = (self.split or "").partition(":")[0]
        return {"sep": self.sep, "names": self.names, "split": kind if kind in ("random", "order") else None,
                "item_features": self.item_features}

    def fetch_options(self) -> dict:
        """How public datasets are fetched (see :func:`fetch_options`)."""
        return fetch_options(self.offline, self.mirror, self.registry)


def fetch_options(offline: bool | None, mirror: str | None, registry: Path | None) -> dict:
    """offline / mirror / registry as given, else ``HARNESS_OFFLINE`` / ``HARNESS_DATA_MIRROR`` /
    ``HARNESS_DATA_REGISTRY`` (the keywords of :func:`harness.data.fetch.resolve`)."""
    import os

    from harness.data import sources

    if offline is None:
        offline = os.environ.get("HARNESS_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")
    if registry is None and os.environ.get("HARNESS_DATA_REGISTRY"):
        registry = Path(os.environ["HARNESS_DATA_REGISTRY"])
    return {"offline": offline, "mirror": mirror or os.environ.get("HARNESS_DATA_MIRROR") or None,
            "registry": sources.load_registry(registry)}
