"""Run one hypothesis end to end: data -> feedback -> split -> segments -> arms -> evaluate -> stats
-> verdict -> report, writing ``results/<H>/<run-id>/`` atomically.

:func:`run` reads as the flow; each step is a function below it. The helpers live with what they
are about: :mod:`.prepared` (the hypothesis resolved against the data, preflight checks, tasks),
:mod:`.monitor` (progress bar and log), :mod:`.collect` (summary blocks from the task results),
:mod:`.notes` (notes and warnings), :mod:`.floor` (popularity's floor), :mod:`.run_spec` (the spec
hashed into the run id) and :mod:`.saved_runs` (``--save-runs`` files). Their names stay importable
from here.
"""
from __future__ import annotations

import errno
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from harness.decision import adaptive, analysis, rolling
from harness.runner import backends, collect, floor, monitor, notes as run_notes, run_spec, saved_runs, timings
from harness.runner import plan as run_plan
from harness.runner import tasks as runner
from harness.outputs import report, run_folder as results
from harness.outputs import summary
from harness.arms.registry import check_params
from harness.data import load_dataset
from harness.data.base import Interactions
from harness.errors import HarnessError
from harness.spec import Hypothesis
from harness.decision.verdict import Verdict, decide
# Re-exported: tests, benchmarks and the CLI use these names from here.
from harness.runner.collect import ann_summary, coverage, curves, tuning_summary
from harness.runner.floor import below_reference, popularity_reference
from harness.runner.cache import task_key
from harness.runner.run_spec import arm_sources
from harness.runner.monitor import open_log, progress_bar
from harness.runner.notes import auto_patience, convergence_notes
from harness.runner.prepared import (Prepared, check_arm_data, check_attributes, check_content, check_exposure_groups,
                                     data_summary, prepare_hypothesis, tasks_for, user_attributes)
from harness.runner.saved_runs import variant_slug, write_runs

__all__ = ["run", "RunOutcome", "Analysis", "load_data", "prepare_run", "run_tasks", "analyse", "look", "summarise",
           "run_provenance", "write_outputs", "make_plan",
           "Prepared", "prepare_hypothesis", "check_content", "check_arm_data", "tasks_for", "data_summary",
           "progress_bar", "open_log", "popularity_reference", "below_reference", "coverage", "curves",
           "tuning_summary", "ann_summary", "convergence_notes", "auto_patience", "arm_sources", "variant_slug",
           "write_runs"]


#: errnos that mean the results folder cannot take the run (full, read-only, not allowed, quota), not a bug.
_NO_ROOM = frozenset(getattr(errno, n) for n in ("ENOSPC", "EROFS", "EACCES", "EPERM", "EDQUOT", "EFBIG", "ENOTDIR")
                     if hasattr(errno, n))


@dataclass(frozen=True, eq=False)
class RunOutcome:
    """Where the run was written (None: not written) and its verdict, summary, per-user table and provenance."""

    run_dir: Path | None
    run_id: str
    verdict: Verdict
    summary: dict
    fitted: int
    cached: int
    per_user: pd.DataFrame | None = None
    provenance: dict | None = None


@dataclass(frozen=True)
class Analysis:
    """One look at the tasks finished so far: the hypothesis at the look's level (adaptive seeds test
    each look at a nominal alpha), the per-unit table and the compared cells."""

    hyp: Hypothesis
    per_user: pd.DataFrame
    cells: list


def run(hyp: Hypothesis, *, dataset: str | None = None, data_dir: Path | None = None,
        results_dir: Path | None = Path("results"), cache_dir: Path | None = Path(".cache/harness"), n_jobs: int = 1,
        quiet: bool = False, backend: str = "loky", scheduler: str | None = None,
        inter: Interactions | None = None, columns: dict[str, str] | None = None,
        save_runs: str | None = None, load_options: dict | None = None, threads_per_task: int = 1) -> RunOutcome:
    """Run ``hyp`` (optionally on another dataset, or on already loaded ``inter``) and write its run
    folder; returns the outcome.

    ``save_runs`` (``parquet``, ``csv`` or ``trec``) also writes every task's evaluated top-k lists to
    ``runs/<positives>/<arm>_seed<seed>.<ext>`` in the run folder (raw ids; readable by the ``runs``
    arm and by ranx / trec_eval). For ``direction="item_to_users"`` each evaluated item's top-k users
    (columns ``item, user, rank``; TREC qid = item). ``load_options`` are passed to :func:`harness.data.load_dataset`.
    With ``results_dir=None`` nothing is written but the task cache (``cache_dir``; None for none): no run
    folder and no log file; the outcome carries the per-user table and provenance in memory.
    """
    t0 = time.perf_counter()
    hyp, inter = load_data(hyp, dataset, inter, data_dir, cache_dir, columns, load_options)
    stages = {"load": time.perf_counter() - t0}
    p = prepare_run(hyp, inter)
    if save_runs and p.folds:
        raise HarnessError("--save-runs does not support rolling-origin folds (Split.rolling, --split rolling) yet; drop --save-runs")
    stages["prepare"] = time.perf_counter() - t0 - stages["load"]
    plan = adaptive.levels(hyp)  # (seeds, nominal alpha) per look: one look for fixed seeds
    save_top = max(int(m.split("@")[1]) for m in p.metrics) if save_runs else 0
    lines = run_plan.render(run_plan.build(p, n_jobs=n_jobs, backend=backend, cache_dir=cache_dir, save_top=save_top,
                                           threads=threads_per_task))
    res: list[runner.TaskResult] = []
    looks: list[adaptive.Look] = []
    # Logs never go into results/ (which holds only complete run folders).
    log_dir = None if results_dir is None else Path(cache_dir or ".cache/harness") / "logs"
    with monitor.watch(hyp, len(tasks_for(p)), quiet=quiet, log_dir=log_dir, n_jobs=n_jobs, backend=backend,
                       arms=[t.arm.name for t in tasks_for(p)], plan=lines) as (tick, log_path), \
            backends.backend(backend, n_jobs, scheduler) as active:
        tick = timings.recording(tick, None if cache_dir is None else Path(cache_dir) / "tasks", hyp.dataset)
        for n_seeds, alpha in plan:  # one round for fixed seeds; rounds until decided for adaptive ones
            done = looks[-1].n_seeds if looks else 0
            res += run_tasks(p, hyp.seeds[done:n_seeds], cache_dir=cache_dir, n_jobs=n_jobs, backend=active,
                             progress=tick, save_top=save_top, threads=threads_per_task)
            analysed = analyse(p, res, alpha)
            verdict = decide(analysed.hyp, analysed.cells)
            looks.append(look(hyp, n_seeds, alpha, verdict, len(looks) + 1))
            if looks[-1].decided:
                break
    stages["tasks_and_analysis"] = time.perf_counter() - t0 - sum(stages.values())
    doc, prov = summarise(p, res, looks, analysed, verdict)
    stages["summary"] = time.perf_counter() - t0 - sum(stages.values())
    prov_full = run_provenance(prov, res, log_path=log_path, n_jobs=n_jobs, backend=backend, t0=t0, stages=stages)
    run_dir = None if results_dir is None else \
        write_outputs(Path(results_dir), p, res, doc, analysed.per_user, prov_full, save_runs)
    fitted = sum(not r.cached for r in res)
    return RunOutcome(run_dir, doc["run_id"], verdict, doc, fitted, len(res) - fitted, analysed.per_user, prov_full)


def make_plan(hyp: Hypothesis, *, dataset: str | None = None, data_dir: Path | None = None,
              cache_dir: Path | None = Path(".cache/harness"), n_jobs: int = 1, backend: str = "loky",
              inter: Interactions | None = None, columns: dict[str, str] | None = None,
              save_runs: str | None = None, load_options: dict | None = None,
              threads_per_task: int = 1) -> run_plan.Plan:
    """What :func:`run` with the same arguments would do (:mod:`harness.runner.plan`): loads the data and
    prepares the split, fits nothing and writes nothing but generated synthetic data."""
    hyp, inter = load_data(hyp, dataset, inter, data_dir, cache_dir, columns, load_options)
    p = prepare_run(hyp, inter)
    save_top = max(int(m.split("@")[1]) for m in p.metrics) if save_runs else 0
    return run_plan.build(p, n_jobs=n_jobs, backend=backend, cache_dir=cache_dir, save_top=save_top,
                          threads=threads_per_task)


def load_data(hyp: Hypothesis, dataset: str | None, inter: Interactions | None, data_dir: Path | None,
              cache_dir: Path | None, columns: dict[str, str] | None,
              load_options: dict | None) -> tuple[Hypothesis, Interactions]:
    """Check every arm's parameters (before any data is read), then load ``dataset`` (default: the
    name of ``inter`` when given, else the hypothesis' own) unless ``inter`` is given; returns the
    hypothesis pinned to that dataset, and the data."""
    for arm in hyp.arms:
        check_params(arm.kind, arm.kwargs, arm.name, preflight=True)
    dataset = dataset or (inter.name if inter is not None else hyp.dataset)
    hyp = hyp.replace(dataset=dataset)
    if inter is None:
        inter = load_dataset(dataset, data_dir, cache_dir, columns=columns, positives=hyp.positives,
                             **(load_options or {}))
    return hyp, inter


def prepare_run(hyp: Hypothesis, inter: Interactions) -> Prepared:
    """Resolve ``hyp`` against the data (positives, split, segments), failing before any training when an
    arm asks for item content the data lacks or rejects a variant's training data."""
    check_content(hyp, inter)
    check_attributes(hyp, inter)
    check_exposure_groups(hyp, inter)
    p = prepare_hypothesis(hyp, inter)
    check_arm_data(p)
    return p


def run_tasks(p: Prepared, seeds: tuple[int, ...], *, cache_dir: Path | None, n_jobs: int, backend: str,
              progress: Callable[[runner.TaskResult], None], save_top: int, threads: int = 1) -> list[runner.TaskResult]:
    """Train and evaluate every (positives, arm) pair with each of ``seeds`` on ``backend`` (tasks in the
    cache under ``cache_dir/tasks`` are read back instead), each fit with ``threads``; ``progress`` is
    called per finished task."""
    return runner.execute(tasks_for(p, seeds, threads), p.task_data, p.metrics, p.context, n_jobs=n_jobs,
                          cache_dir=None if cache_dir is None else Path(cache_dir) / "tasks",
                          backend=backend, progress=progress, save_top=save_top)


def analyse(p: Prepared, res: list[runner.TaskResult], alpha: float) -> Analysis:
    """The per-unit table of every task so far and each (positives, segment, metric) cell compared at the
    level ``alpha`` (the declared one for fixed seeds)."""
    hyp = p.hyp
    decision_hyp = hyp if hyp.adaptive is None else adaptive.at_level(hyp, alpha)
    ids = p.inter.item_ids if hyp.unit == "items" else p.inter.user_ids
    if p.folds:
        per_user = rolling_table(p, res, ids)
    else:
        per_user = runner.per_user_table(res, p.data, ids, p.masks)
    if hyp.unit == "items":  # the unit columns hold items: say so under their own names too
        per_user = per_user.assign(item_id=per_user["user_id"], item_index=per_user["user_index"])
    per_user = user_attributes(hyp, p.inter, per_user)  # attr_<column> for no_disparity decisions
    cells = rolling.compare_folds(decision_hyp, per_user, p.variants, p.fold_labels) if p.folds \
        else analysis.compare(decision_hyp, per_user, p.variants)
    return Analysis(decision_hyp, per_user, cells)


def rolling_table(p: Prepared, res: list[runner.TaskResult], ids) -> pd.DataFrame:
    """The per-unit table of a rolling-origin run: each fold's :func:`harness.runner.tasks.per_user_table`
    (its data and segments) with a ``fold`` column (0-based, after ``seed``), folds in order."""
    frames = []
    for f, fp in enumerate(p.folds):
        table = runner.per_user_table([r for r in res if r.task.fold == f], fp.data, ids, fp.masks)
        table.insert(3, "fold", np.int64(f))
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def look(hyp: Hypothesis, n_seeds: int, alpha: float, verdict: Verdict, number: int) -> adaptive.Look:
    """Record the verdict after ``n_seeds`` seeds as look ``number`` (logged for adaptive seeds); the
    look says whether more seeds could change it."""
    if hyp.adaptive is not None:
        logging.getLogger("harness").info("look %d: %d seeds, nominal alpha %.3g: %s", number, n_seeds, alpha,
                                          verdict.status)
    return adaptive.Look(n_seeds, alpha, verdict.status, adaptive.decided(verdict))


def summarise(p: Prepared, res: list[runner.TaskResult], looks: list[adaptive.Look], last: Analysis,
              verdict: Verdict) -> tuple[dict, dict]:
    """summary.json's document (under the run id) and the run's provenance: the last look's cells and
    verdict, what undercuts it (warnings), the data, the notes, popularity's floor, learning curves, coverage, the adaptive
    looks, tuning and ANN quality."""
    hyp, inter = p.hyp, p.inter
    every = res
    if p.folds:  # coverage, curves (and their convergence warnings), tuning and exposure describe the last fold
        res = [r for r in res if r.task.fold == len(p.folds) - 1]
    reference = floor.popularity_reference(p)
    sequential = adaptive.describe(hyp, looks) if hyp.adaptive is not None else None
    curves_doc = collect.curves(res, hyp.primary)
    notes = list(p.notes) + run_notes.task_notes(every, hyp)
    notes += floor.below_reference(last.cells, reference, hyp)
    if sequential:
        notes.append(f"adaptive seeds: {sequential['stopped']}")
    warnings = run_notes.run_warnings(p.warnings, curves_doc, hyp, max((c.n_seeds for c in last.cells), default=0),
                                      run_notes.threads_warning(every))
    spec = run_spec.run_spec(p)
    inputs = sorted({task_key(r.task, p.context) for r in every})  # each task's inputs: data, arm source, runs files
    rid = results.run_id(hyp.id, hyp.dataset, spec, inter.fingerprint, inputs)
    prov = results.provenance(spec, inter.fingerprint, hyp.dataset)
    doc = summary.build(last.hyp, rid, hyp.dataset, last.cells, verdict, data_summary(p), prov, notes, curves_doc,
                        reference, collect.coverage(res), sequential, collect.tuning_summary(res),
                        ann=collect.ann_summary(res, hyp), warnings=warnings, exposure=collect.exposure(res, hyp),
                        group_exposure=collect.group_exposure(res, p))
    return doc, prov


def run_provenance(prov: dict, res: list[runner.TaskResult], *, log_path: Path | None, n_jobs: int, backend: str,
                   t0: float, stages: dict | None = None) -> dict:
    """provenance.json: ``prov`` plus what varies run to run (log file, backend, threads, wall time and
    ``stages`` seconds: load, prepare, tasks_and_analysis, summary; each task's seconds and phases, finish time);
    kept out of summary.json so that it is reproducible."""
    prov_full = {**prov, "log": None if log_path is None else str(log_path), "n_jobs": n_jobs, "backend": backend,
                 "threads_per_task": max((r.task.threads for r in res), default=1),
                 "not_reproducible": run_notes.unreproducible_arms(res),
                 "wall_seconds": round(time.perf_counter() - t0, 1),
                 "stage_seconds": {k: round(v, 3) for k, v in (stages or {}).items()},
                 "tasks": [{"task": r.task.label(), "variant": r.task.variant, "arm": r.task.arm.name, "seed": r.task.seed,
                            **({"fold": r.task.fold} if r.task.fold is not None else {}),
                            "seconds": round(r.seconds, 3), "cached": r.cached, "phases": r.phases,
                            "tuned": {k: v.item() if hasattr(v, "item") else v for k, v in r.tuned.items()}
                            if r.tuned else None} for r in res]}
    prov_full["finished"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")  # the index sorts runs by it
    return prov_full


def write_outputs(results_dir: Path, p: Prepared, res: list[runner.TaskResult], doc: dict, per_user: pd.DataFrame,
                  prov_full: dict, save_runs: str | None) -> Path:
    """Write ``<results_dir>/<H>/<run-id>/`` atomically (a complete folder or none): figures,
    per_user.parquet, summary.json, provenance.json, report.md and, with ``save_runs``, every task's
    top-k lists; the files an earlier write of the same run id saved in ``runs/`` (another ``--save-runs``
    format) are kept (:func:`saved_runs.keep_earlier`); returns the folder."""
    def fill(tmp: Path) -> None:
        figs = report.figures(doc, per_user, tmp / "figures")
        results.write_parquet(tmp / "per_user.parquet", per_user)
        results.write_json(tmp / "summary.json", doc)
        results.write_json(tmp / "provenance.json", prov_full)
        (tmp / "report.md").write_text(report.render(doc, figs))
        if save_runs:
            saved_runs.write_runs(tmp / "runs", res, p, save_runs)
        saved_runs.keep_earlier(final / "runs", tmp / "runs")  # a repeated run keeps its other formats

    final = results_dir / p.hyp.id / doc["run_id"]
    try:
        return results.write_run(final, fill, root=results_dir)
    except OSError as e:
        if e.errno not in _NO_ROOM:
            raise
        where = f" ({e.filename})" if e.filename else ""
        raise HarnessError(f"--results-dir {results_dir}: cannot write the run folder: {os.strerror(e.errno)}{where}; "
                           "nothing was kept; free space or pass another --results-dir") from None
