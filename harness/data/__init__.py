"""Dataset sources. ``load_dataset(name, data_dir)`` returns one :class:`Interactions` container.

Names: ``synthetic-vk`` (``synthetic-vk:x4`` for 4x the users, ``synthetic-vk:cold`` /
``synthetic-vk:x4+cold`` with 200 cold items first exposed in the validation week, ``synthetic-vk:notebook``
the H1 notebook's size: 10,000 users, 20,000 items, ~32 M rows; generated offline, cached),
``synthetic-kion`` (the KION layout with planted user/item features and cold users; ``:x4`` likewise),
``vk-lsvd:<subsample>`` (the real VK-LSVD layout under ``--data-dir``), ``ml-100k``, ``ml-1m``,
``ml-latest``, ``ml-latest-small`` (MovieLens files under ``--data-dir``), ``kion`` (MTS KION CSVs under
``--data-dir``), ``tabular:<file>`` (your own CSV/parquet with columns user_id, item_id, timestamp[, rating]).
Without ``data_dir``, the public datasets are read from the data cache when ``python -m harness data
fetch NAME`` (or a run's automatic fetch) has put them there (:mod:`harness.data.fetch`).

May import: :mod:`harness.spec`, :mod:`harness.stats`, :mod:`harness.errors` only.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.data.base import Interactions
from harness.data.identity import combine, fingerprint_files
from harness.errors import HarnessError, suggest

DATASETS = ("synthetic-vk", "synthetic-kion", "vk-lsvd", "ml-100k", "ml-1m", "ml-latest", "ml-latest-small", "kion", "tabular")


def load_dataset(name: str, data_dir: Path | None = None, cache_dir: Path | None = None,
                 columns: dict[str, str] | None = None, positives: tuple[str, ...] | None = None, *,
                 sep: str | None = None, names: tuple[str, ...] | None = None,
                 split: str | None = None, item_features: Path | None = None) -> Interactions:
    """Load dataset ``name`` (see module docstring); ``cache_dir`` holds generated synthetic data.

    Tabular files only: ``columns`` maps ``user``/``item``/``time`` to the file's column names (every
    further column is kept for the positive definitions; ``positives`` is unused there); ``sep``
    and ``names`` (no header row) describe a text file; ``split`` ``"order"`` takes the file order as
    time (any time column ignored), ``"random"`` needs no time column; ``item_features`` is a side
    file of item content (:mod:`harness.data.item_features`).

    The returned ``fingerprint`` is the data's identity (:mod:`harness.data.identity`): the full contents
    of every file read plus every option here that shapes the data, so a changed file, flag or feature
    file never hits a cache entry or a run id made from other data.
    """
    inter = _load(name, data_dir, cache_dir, columns, positives, sep=sep, names=names, split=split,
                  item_features=item_features)
    options = {"dataset": str(name), "columns": sorted((columns or {}).items()), "positives": positives,
               "sep": sep, "names": names, "split": split,
               "item_features": None if item_features is None else fingerprint_files([Path(item_features)])}
    return replace(inter, fingerprint=combine(inter.fingerprint, options))


def _load(name: str, data_dir: Path | None, cache_dir: Path | None, columns: dict[str, str] | None,
          positives: tuple[str, ...] | None, *, sep: str | None, names: tuple[str, ...] | None,
          split: str | None, item_features: Path | None) -> Interactions:
    """:func:`load_dataset` without the identity (each loader fingerprints the files it read)."""
    base0 = str(name).partition(":")[0]
    if base0 != "tabular":
        for flag, value in (("--sep", sep), ("--names", names), ("--column", columns or None),
                            ("--item-features", item_features)):
            if value:
                raise HarnessError(f"{flag} applies to tabular:<file> datasets only, not {name!r}; drop it")
        if split == "order":
            raise HarnessError(f"--split order applies to tabular:<file> datasets without times, not {name!r}; "
                               "use --split random or drop --split")
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
    if base == "synthetic-kion":
        from harness.data import kion, synthetic_kion

        scale = _scale(name, arg, "write the size as synthetic-kion:x4 (a positive multiple)")
        return kion.load(synthetic_kion.ensure(Path(cache_dir or ".cache/harness") / "data", scale=scale), name=name)
    if base == "synthetic-vk":
        from harness.data import synthetic, vk_lsvd

        preset = arg if arg in synthetic.PRESETS else None
        cold = arg.endswith("cold")
        scale = 1 if preset else _scale(name, arg[:-len("cold")].rstrip("+") if cold else arg,
                                        "write the size as synthetic-vk:x4 (a positive multiple) or "
                                        f"{' or '.join('synthetic-vk:' + p for p in synthetic.PRESETS)}, cold "
                                        "items as synthetic-vk:cold or synthetic-vk:x4+cold")
        root = synthetic.ensure(Path(cache_dir or ".cache/harness") / "data", scale=scale,
                                cold_items=synthetic.DEFAULT_COLD_ITEMS if cold else 0, preset=preset)
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
    if split == "order" and "time" in mapping:
        raise HarnessError("--split order uses the file order as time; drop --column time=... (or use --split "
                           "random)")
    from harness.data.tabular import columns_of

    have = columns_of(Path(arg), sep, names)
    for role, default in (("user", "user_id"), ("item", "item_id"), ("time", "timestamp")):
        if role not in mapping and default not in have and role in have:
            mapping[role] = role  # a column named plainly "user" / "item" / "time"
    # every further column is kept (positive definitions, --positives, and error messages read them)
    used = {mapping.get("user", "user_id"), mapping.get("item", "item_id"), mapping.get("time", "timestamp")}
    mapping["optional"] = tuple(c for c in have if c not in used and c not in ("user", "item", "time"))
    if split == "order":
        mapping["time"] = None
    elif split == "random" and "time" not in mapping and "timestamp" not in have:
        mapping["time"] = None
    inter = tabular.load(Path(arg), name=name, positives=None, sep=sep, names=names, **mapping)
    if item_features is not None:
        from harness.data import item_features as features

        inter = features.attach(inter, Path(item_features), mapping.get("item", "item_id"))
    return inter


def _scale(name: str, arg: str, fix: str) -> int:
    """The size multiple of a generated dataset: ``""`` -> 1, ``"x4"`` -> 4; else a one-line error."""
    if not arg:
        return 1
    if not (arg.startswith("x") and arg[1:].isdigit() and int(arg[1:]) > 0):
        raise HarnessError(f"dataset {name!r}: {fix}")
    return int(arg[1:])
