"""A run's plan, before anything is fitted: the tasks, each arm's epoch and tuning budget, the training
rows and positives per variant, the cores, and the wall time earlier task timings predict.

:func:`build` reads a prepared hypothesis (:class:`~harness.runner.prepared.Prepared`) and the task cache
(which tasks are done; how long tasks of the same arm (name, kind, parameters, threads) and dataset took before:
:mod:`harness.runner.timings`) into a frozen :class:`Plan`; :func:`render` turns it into the lines
``run --plan`` prints and every run writes first (stderr unless ``--quiet``, and the log);
:func:`estimate` is the prediction itself.
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from harness.arms.registry import resolve
from harness.runner import eta, timings
from harness.runner.cache import TaskCache, task_key
from harness.runner.prepared import Prepared, tasks_for
from harness.spec import Arm


@dataclass(frozen=True)
class ArmPlan:
    """One arm: its budget per task (epochs; tuning trials or None) and tasks (all; not in the task cache);
    ``history``: seconds of earlier trained tasks of the same arm (name, kind, parameters, threads) and dataset."""

    name: str
    kind: str
    epochs: str
    tuning: str | None
    tasks: int
    to_train: int
    history: tuple[float, ...] = ()
    threads: str = ""


@dataclass(frozen=True)
class VariantPlan:
    """One positive definition: training rows (user-item interactions), training positives, evaluated units."""

    name: str
    rows: int
    positives: int
    evaluated: int


@dataclass(frozen=True)
class Plan:
    """What a run will do (:func:`build`); ``timings``: the file earlier task seconds were read from
    (None without a task cache); ``seed_rounds``: the looks of adaptive seeds (empty for fixed seeds)."""

    hypothesis: str
    dataset: str
    n_rows: int
    n_users: int
    n_items: int
    split: str
    unit: str
    variants: tuple[VariantPlan, ...]
    arms: tuple[ArmPlan, ...]
    seeds: tuple[int, ...]
    seed_rounds: tuple[int, ...]
    n_jobs: int
    backend: str
    cpu_count: int | None
    timings: Path | None
    threads: int = 1
    folds: int = 1

    @property
    def n_tasks(self) -> int:
        """variants x arms x seeds (the most, for adaptive seeds) x rolling-origin folds."""
        return len(self.variants) * len(self.arms) * len(self.seeds) * self.folds

    @property
    def to_train(self) -> int:
        return sum(a.to_train for a in self.arms)


def build(p: Prepared, *, n_jobs: int, backend: str, cache_dir: Path | None, save_top: int = 0,
          threads: int = 1) -> Plan:
    """The plan of running ``p`` with ``n_jobs`` workers on ``backend``, ``threads`` per fit; ``cache_dir`` is the run's
    ``--cache-dir`` (its ``tasks`` folder holds the task cache and the timings). Reads, never writes."""
    hyp, inter = p.hyp, p.inter
    task_dir = None if cache_dir is None else Path(cache_dir) / "tasks"
    cache = TaskCache(task_dir)
    history = timings.read(task_dir, hyp.dataset, hyp.arms, threads)
    arms = []
    for arm in hyp.arms:
        own = [t for t in tasks_for(p, threads=threads) if t.arm.name == arm.name]
        tuned = "grid" in arm.kwargs or "tune" in arm.kwargs
        done = sum(cache.get(task_key(t, p.context), save_top, need_tuning=tuned) is not None for t in own)
        arms.append(ArmPlan(arm.name, arm.kind, epoch_budget(arm), tuning_budget(arm), len(own), len(own) - done,
                            tuple(history.get(arm.name, ())), thread_desc(arm.kind, threads)))
    variants = tuple(VariantPlan(v, int(d.train.seen.nnz), int(d.train.positives.nnz), int(len(d.users)))
                     for v, d in p.data.items())  # d.train: the same matrices in either direction
    rounds = tuple(hyp.adaptive.rounds()) if hyp.adaptive is not None else ()
    return Plan(hyp.id, hyp.dataset, int(len(inter.events)), int(inter.n_users), int(inter.n_items), p.split_desc,
                hyp.unit, variants, tuple(arms), tuple(hyp.seeds), rounds, int(n_jobs), backend, os.cpu_count(),
                None if task_dir is None else timings.path(task_dir), int(threads), max(1, len(p.folds)))


def thread_desc(kind: str, threads: int) -> str:
    """How a fit of ``kind`` uses ``threads`` (``--threads-per-task``): ``""`` for one thread."""
    if threads == 1:
        return ""
    mode = resolve(kind).threads
    if mode is None:
        return "1 thread (the arm takes no num_threads)"
    return f"{threads} threads" + ("" if mode == "reproducible" else ", not byte-reproducible for a seed")


def epoch_budget(arm: Arm) -> str:
    """How long each fit of ``arm`` trains: ``epochs='auto' (max_epochs=30, patience=3)``, ``20 epochs``,
    ``epochs chosen by the grid``, or ``n/a`` for an arm that does not train in epochs."""
    from harness.runner.tuning.window import MAX_EPOCHS, PATIENCE

    src = resolve(arm.kind)
    kw = arm.kwargs
    if not src.supports_curves:
        return "n/a (not trained in epochs)"
    for how in ("grid", "tune"):
        space = kw.get(how) if how == "grid" else (kw.get("tune") or {}).get("space")
        if isinstance(space, dict) and "epochs" in space:
            return f"epochs chosen by the {how}"
    if kw.get("epochs") == "auto":
        refit = ", refit='none'" if kw.get("refit") == "none" else ""
        return (f"epochs='auto' (max_epochs={kw.get('max_epochs', MAX_EPOCHS)}, "
                f"patience={kw.get('patience', PATIENCE)}{refit})")
    default = inspect.signature(src.fit).parameters.get("epochs")
    epochs = kw.get("epochs", None if default is None else default.default)
    if epochs is None or epochs is inspect.Parameter.empty:
        return "n/a (no epochs parameter)"
    return f"{epochs} epochs" + (" + a validation-curve fit (curve=True)" if kw.get("curve") is True else "")


def tuning_budget(arm: Arm) -> str | None:
    """The trials each task runs on the validation window before its final fit (``grid=`` / ``tune=``), or None."""
    kw = arm.kwargs
    if "grid" in kw:
        from harness.runner.tuning.window import grid_points

        return f"grid: {len(grid_points(kw['grid']))} trials per task"
    if "tune" in kw:
        from harness.spec.tune import resolved

        t = resolved(kw["tune"])
        return f"tune: {t['n_trials']} {t['sampler']} trials per task (per={t['per']})"
    return None


def estimate(history: Mapping[str, Sequence[float]], to_train: Mapping[str, int],
             workers: int) -> tuple[float | None, tuple[str, ...]]:
    """Seconds the tasks still to train should take, and the arms left out of that for lack of history.

    Each task to train takes the mean of its arm's ``history`` (earlier tasks' seconds), the sum spread
    over ``min(workers, tasks)`` workers (:func:`harness.runner.eta.eta_seconds`). Arms with tasks to train
    but no history are returned (their tasks are not counted: the seconds are then a lower bound). None when
    no arm to train has history; 0 when nothing is left to train.
    """
    left = {a: int(n) for a, n in to_train.items() if n > 0}
    if not left:
        return 0.0, ()
    missing = tuple(a for a in left if not history.get(a))
    known = {a: n for a, n in left.items() if a not in missing}
    if not known:
        return None, missing
    return eta.eta_seconds({a: history[a] for a in known}, known, workers), missing


def render(plan: Plan) -> list[str]:
    """The plan as text lines (the first is ``plan: <H> on <dataset> ...``)."""
    unit = "items" if plan.unit == "items" else "users"
    rounds = f" (adaptive: looks after {', '.join(map(str, plan.seed_rounds))} seeds)" if plan.seed_rounds else ""
    cached = plan.n_tasks - plan.to_train
    lines = [f"plan: {plan.hypothesis} on {plan.dataset}: {plan.n_rows:,} rows, {plan.n_users:,} users, "
             f"{plan.n_items:,} items; split {plan.split}",
             f"  tasks: {'up to ' if plan.seed_rounds else ''}{plan.n_tasks} = {_n(len(plan.variants), 'variant')} x "
             f"{_n(len(plan.arms), 'arm')} x {_n(len(plan.seeds), 'seed')}"
             f"{' x ' + _n(plan.folds, 'fold') if plan.folds > 1 else ''}{rounds}; {cached} in the task cache, "
             f"{plan.to_train} to train"]
    for a in plan.arms:
        tuning = f"; {a.tuning}" if a.tuning else ""
        threads = f"; {a.threads}" if a.threads else ""
        lines.append(f"  arm {a.name} ({a.kind}): {a.epochs}{tuning}{threads}; {_n(a.tasks, 'task')}, "
                     f"{a.to_train} to train")
    for v in plan.variants:
        lines.append(f"  variant {v.name}: {v.rows:,} training rows, {v.positives:,} training positives, "
                     f"{v.evaluated:,} evaluated {unit}{' (last fold)' if plan.folds > 1 else ''}")
    cores = f"os.cpu_count()={plan.cpu_count}"
    used = plan.n_jobs * plan.threads
    over = "; more threads than cores: tasks share cores" if plan.cpu_count and used > plan.cpu_count else ""
    threads = "" if plan.threads == 1 else f" x {plan.threads} threads per task"
    lines.append(f"  cores: n_jobs={plan.n_jobs}{threads}, backend {plan.backend}, {cores}{over}")
    lines.append(f"  estimated wall time: {estimate_text(plan)}")
    return lines


def estimate_text(plan: Plan) -> str:
    """The estimate and where it comes from (:func:`estimate` over the plan's arms)."""
    if plan.to_train == 0:
        return "nothing to train (every task is in the task cache)"
    history = {a.name: a.history for a in plan.arms}
    seconds, missing = estimate(history, {a.name: a.to_train for a in plan.arms}, plan.n_jobs)
    if seconds is None:
        where = "" if plan.timings is not None else " (no task cache: --no-cache)"
        return f"no estimate yet: the first finished task gives one{where}"
    used = [a for a in plan.arms if a.to_train and a.history]
    means = ", ".join(f"{a.name} {sum(a.history) / len(a.history):.1f} s a task (mean of {len(a.history)})"
                      for a in used)
    text = f"{'up to ' if plan.seed_rounds else ''}~{eta.clock(seconds)} with n_jobs={plan.n_jobs}, from earlier " \
           f"tasks on {plan.dataset} ({plan.timings}): {means}"
    if missing:
        text = f"more than {text}; arm(s) {', '.join(missing)} not counted: no earlier timings yet"
    return text


def _n(n: int, word: str) -> str:
    """``1 seed``, ``5 seeds``."""
    return f"{n} {word}{'' if n == 1 else 's'}"
