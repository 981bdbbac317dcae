"""``--save-runs``: every task's evaluated top-k lists, one file per (positives, arm, seed), in the
run folder's ``runs/``."""
from __future__ import annotations

from pathlib import Path

from harness.runner import tasks as runner
from harness.runner.prepared import Prepared


def variant_slug(variant: str) -> str:
    """A folder name for a positive definition: ``"rating>=4"`` -> ``"rating_ge_4"``."""
    import re

    for op, word in ((">=", "_ge_"), ("<=", "_le_"), ("==", "_eq_"), ("!=", "_ne_"), (">", "_gt_"), ("<", "_lt_"),
                     ("|", "_or_"), ("&", "_and_")):
        variant = variant.replace(op, word)
    return re.sub(r"[^A-Za-z0-9.]+", "_", variant).strip("_") or "positives"


def write_runs(directory: Path, res: list[runner.TaskResult], p: Prepared, fmt: str) -> None:
    """Each task's evaluated top-k lists as ``<directory>/<positives>/<arm>_seed<seed>.<ext>`` (raw ids):
    items per user, or for ``direction="item_to_users"`` users per item (columns ``item, user, rank``:
    :func:`harness.data.runfiles.write_run`)."""
    from harness.data.runfiles import write_run

    ext = {"parquet": "parquet", "csv": "csv", "trec": "trec"}[fmt]
    items = p.hyp.unit == "items"
    units, ranked = (p.inter.item_ids, p.inter.user_ids) if items else (p.inter.user_ids, p.inter.item_ids)
    for r in res:
        d = p.data[r.task.variant]
        path = directory / variant_slug(r.task.variant) / f"{r.task.arm.name}_seed{r.task.seed}.{ext}"
        write_run(path, units[d.users], ranked[r.top], fmt, tag=r.task.arm.name, unit=p.hyp.unit)
