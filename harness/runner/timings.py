"""How long tasks took before: every trained task's seconds, kept beside the task cache for a run's plan.

Each trained task (not a cache hit, not a failure) appends one JSON line to ``<tasks dir>/timings.jsonl``
(the task cache's folder, ``<--cache-dir>/tasks``): arm name, kind, ``arm_id`` (:func:`arm_id`: its
parameters and threads per task), dataset, variant, seed, seconds, threads and the seconds of the task's
phases (see :class:`harness.runner.tasks.TaskResult`). :func:`read` gives the plan (:mod:`harness.runner.plan`)
the seconds of earlier tasks of the same arm (name, kind, parameters, threads) on the same dataset: a
``cf`` arm of 1 epoch says nothing about one with ``epochs="auto"``. Records are advisory: a line that cannot be written or read is skipped (logged).
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Callable, Iterable

from harness.runner import tasks as runner
from harness.spec import Arm

FILE = "timings.jsonl"

log = logging.getLogger("harness.runner.timings")


def arm_id(arm: Arm, threads: int = 1) -> str:
    """What an earlier timing must share with a planned task besides name, kind and dataset: a hash of the
    arm's parameters and the threads it trains with."""
    blob = json.dumps({"arm": arm.to_dict(), "threads": int(threads)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def path(task_dir: Path) -> Path:
    """The timings file of the task cache in ``task_dir``."""
    return Path(task_dir) / FILE


def record(task_dir: Path | None, result: runner.TaskResult, dataset: str) -> None:
    """Append ``result``'s seconds when it was trained (nothing for a cache hit, a failure or no cache)."""
    if task_dir is None or result.cached or result.error:
        return
    t = result.task
    line = json.dumps({"arm": t.arm.name, "kind": t.arm.kind, "arm_id": arm_id(t.arm, t.threads),
                       "dataset": dataset, "variant": t.variant,
                       "seed": t.seed, "seconds": round(float(result.seconds), 3), "threads": t.threads,
                       "phases": result.phases}, sort_keys=True)
    try:
        Path(task_dir).mkdir(parents=True, exist_ok=True)
        with open(path(task_dir), "a", encoding="utf-8") as f:  # one write per line: appends stay whole lines
            f.write(line + "\n")
    except OSError as e:
        log.warning("task timings not recorded in %s: %s", path(task_dir), e)


def recording(progress: Callable[[runner.TaskResult], None], task_dir: Path | None,
              dataset: str) -> Callable[[runner.TaskResult], None]:
    """``progress`` that also :func:`record`\\ s each finished task."""
    def tick(result: runner.TaskResult) -> None:
        progress(result)
        record(task_dir, result, dataset)

    return tick


def read(task_dir: Path | None, dataset: str, arms: Iterable[Arm], threads: int = 1) -> dict[str, list[float]]:
    """Arm name -> seconds of every recorded task of that arm of ``arms`` (name, kind and :func:`arm_id` with
    ``threads``) on ``dataset`` (arms without any are left out; lines without an ``arm_id`` never match);
    ``{}`` without a cache or a timings file."""
    if task_dir is None or not path(task_dir).is_file():
        return {}
    wanted = {(a.name, a.kind, arm_id(a, threads)) for a in arms}
    out: dict[str, list[float]] = {}
    with open(path(task_dir), encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                r = json.loads(line)
                arm, kind, seconds = r["arm"], r["kind"], float(r["seconds"])
                same = r["dataset"] == dataset and (arm, kind, r.get("arm_id")) in wanted
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line: skipped, never trusted
            if same and seconds >= 0:
                out.setdefault(arm, []).append(seconds)
    return out
