"""``--save-runs``: every task's evaluated top-k lists, one file per (positives, arm, seed), in the
run folder's ``runs/``."""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from harness.data.safe_write import confined
from harness.runner import tasks as runner
from harness.runner.prepared import Prepared


def variant_slug(variant: str) -> str:
    """A folder name for a positive definition: ``"rating>=4"`` -> ``"rating_ge_4"``. Only letters,
    digits, ``_`` and ``.``, never starting with ``.`` (so never ``.`` / ``..`` nor a path)."""
    for op, word in ((">=", "_ge_"), ("<=", "_le_"), ("==", "_eq_"), ("!=", "_ne_"), (">", "_gt_"), ("<", "_lt_"),
                     ("|", "_or_"), ("&", "_and_")):
        variant = variant.replace(op, word)
    return re.sub(r"[^A-Za-z0-9.]+", "_", variant).lstrip("_.").rstrip("_") or "positives"


def variant_folders(variants: list[str]) -> dict[str, str]:
    """Each positive definition's folder name: :func:`variant_slug`, plus ``-<hash>`` of the definition
    for definitions whose slugs would clash (``"rating>=4"`` and ``"rating >= 4"``), so no file is
    written over another."""
    slugs = {v: variant_slug(v) for v in dict.fromkeys(variants)}
    counts: dict[str, int] = {}
    for s in slugs.values():
        counts[s] = counts.get(s, 0) + 1
    return {v: s if counts[s] == 1 else f"{s}-{hashlib.sha256(v.encode()).hexdigest()[:8]}" for v, s in slugs.items()}


def write_runs(directory: Path, res: list[runner.TaskResult], p: Prepared, fmt: str) -> None:
    """Each task's evaluated top-k lists as ``<directory>/<positives>/<arm>_seed<seed>.<ext>`` (raw ids):
    items per user, or for ``direction="item_to_users"`` users per item (columns ``item, user, rank``:
    :func:`harness.data.runfiles.write_run`). Every path is checked to lie under ``directory`` first."""
    from harness.data.runfiles import write_run

    ext = {"parquet": "parquet", "csv": "csv", "trec": "trec"}[fmt]
    items = p.hyp.unit == "items"
    units, ranked = (p.inter.item_ids, p.inter.user_ids) if items else (p.inter.user_ids, p.inter.item_ids)
    folders = variant_folders([r.task.variant for r in res])
    paths = [confined(directory, directory / folders[r.task.variant] / f"{r.task.arm.name}_seed{r.task.seed}.{ext}",
                      f"--save-runs: arm {r.task.arm.name!r}") for r in res]
    for r, path in zip(res, paths):
        d = p.data[r.task.variant]
        write_run(path, units[d.users], ranked[r.top], fmt, tag=r.task.arm.name, unit=p.hyp.unit)


def keep_earlier(previous: Path, new: Path) -> list[Path]:
    """Copy into ``new`` every file under ``previous`` (the ``runs/`` of an earlier write of the same run
    folder) that this write does not produce, e.g. the parquet files of ``--save-runs`` when the run is
    repeated with ``--save-runs trec`` (or without ``--save-runs``): the run folder is replaced whole, and a
    run id fixes the spec, the data, the code version and every task's inputs, so those files are this
    run's lists in another format. Symbolic links are not followed. Returns the copied files (in ``new``)."""
    if not previous.is_dir() or previous.is_symlink():
        return []
    copied = []
    for src in sorted(previous.rglob("*")):
        dst = new / src.relative_to(previous)
        if src.is_symlink() or not src.is_file() or dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)  # a plain file write: the mode the umask gives, like every other output
        copied.append(dst)
    return copied
