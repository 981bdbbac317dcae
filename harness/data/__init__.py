"""Dataset sources. ``load_dataset(name, data_dir)`` returns one :class:`Interactions` container.

Names: ``synthetic-vk`` (``synthetic-vk:x4`` for 4x the users; generated offline, cached),
``vk-lsvd:<subsample>`` (the real VK-LSVD layout under ``--data-dir``), ``ml-100k``, ``ml-1m``,
``ml-latest``, ``ml-latest-small`` (MovieLens files under ``--data-dir``), ``kion`` (MTS KION CSVs under
``--data-dir``), ``tabular:<file>`` (your own CSV/parquet with columns user_id, item_id, timestamp[, rating]).
Without ``data_dir``, the public datasets are read from the data cache when ``python -m harness data
fetch NAME`` (or a run's automatic fetch) has put them there (:mod:`harness.data.fetch`).
"""
from __future__ import annotations

from pathlib import Path

from harness.data.base import Interactions
from harness.errors import HarnessError, suggest

DATASETS = ("synthetic-vk", "vk-lsvd", "ml-100k", "ml-1m", "ml-latest", "ml-latest-small", "kion", "tabular")


def load_dataset(name: str, data_dir: Path | None = None, cache_dir: Path | None = None,
                 columns: dict[str, str] | None = None, positives: tuple[str, ...] | None = None) -> Interactions:
    """Load dataset ``name`` (see module docstring); ``cache_dir`` holds generated synthetic data;
    ``columns`` maps ``user``/``item``/``time`` to a tabular file's column names; ``positives`` (the
    hypothesis' definitions) tells the tabular loader which further columns to keep."""
    base, _, arg = str(name).partition(":")
    if base not in DATASETS:
        raise HarnessError(suggest(name, DATASETS, "dataset"))
    needs_dir = base in ("ml-100k", "ml-1m", "ml-latest", "ml-latest-small", "kion", "vk-lsvd")
    if needs_dir and data_dir is None:
        from harness.data import fetch

        data_dir = fetch.cached(name)
    if needs_dir and data_dir is None:
        raise HarnessError(f"dataset {name!r} reads files: fetch it with 'python -m harness data fetch {name}' "
                           "or pass --data-dir DIR (e.g. --data-dir ../shared/data/ml-100k)")
    if needs_dir and not Path(data_dir).is_dir():
        raise HarnessError(f"dataset {name!r}: --data-dir {data_dir} is not a directory")
    if base == "synthetic-vk":
        from harness.data import synthetic, vk_lsvd

        scale = 1
        if arg:
            if not (arg.startswith("x") and arg[1:].isdigit() and int(arg[1:]) > 0):
                raise HarnessError(f"dataset {name!r}: write the size as synthetic-vk:x4 (a positive multiple)")
            scale = int(arg[1:])
        root = synthetic.ensure(Path(cache_dir or ".cache/harness") / "data", scale=scale)
        return vk_lsvd.load(root, "synthetic", name=name)
    if base == "vk-lsvd":
        from harness.data import vk_lsvd

        if not arg:
            raise HarnessError("dataset 'vk-lsvd' needs a subsample: vk-lsvd:<name>, e.g. vk-lsvd:up0.001_ip0.001")
        return vk_lsvd.load(Path(data_dir), arg, name=name)
    if base == "ml-100k":
        from harness.data import movielens

        return movielens.load_100k(Path(data_dir), name=name)
    if base == "ml-1m":
        from harness.data import movielens

        return movielens.load_1m(Path(data_dir))
    if base in ("ml-latest", "ml-latest-small"):
        from harness.data import movielens

        return movielens.load_latest(Path(data_dir), name=base)
    if base == "kion":
        from harness.data import kion

        return kion.load(Path(data_dir), name=name)
    from harness.data import tabular

    if not arg:
        raise HarnessError("dataset 'tabular' needs a file: tabular:path/to/interactions.csv")
    mapping = dict(columns or {})
    bad = sorted(set(mapping) - {"user", "item", "time"})
    if bad:
        raise HarnessError(f"--column {bad[0]}=...: only user, item and time can be mapped, e.g. --column user=uid")
    if positives:
        from harness import feedback

        cols = set().union(*(feedback.columns(p) for p in positives))
        mapping["extra"] = tuple(sorted(cols))
        mapping["positives"] = tuple(positives)
    return tabular.load(Path(arg), name=name, **mapping)
