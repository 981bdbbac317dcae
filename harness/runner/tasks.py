"""Expand a hypothesis into (variant, arm, seed) tasks; run them with joblib; cache each result.

Each task fits one arm on one variant's training data with one seed and evaluates it on every
evaluable user. A finished task is written atomically to the cache (:mod:`harness.runner.cache`:
keys and entries) by the worker itself, so a run that is killed resumes from the tasks it finished.
Results do not depend on ``n_jobs``: every task is a pure function of (data, variant, arm, seed).
"""
from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from harness.arms.registry import resolve
from harness.design.split import fold_seed
from harness.errors import HarnessError
from harness.evaluation.users import PerUserScores
from harness.evaluation.items import candidate_seen, evaluate_data, top_data
from harness.evaluation.lists import cap_at_list_end
from harness.design.prepare import EvalData
from harness.spec import Arm
from harness.runner import shipping
from harness.spec.metric import BEYOND_ACCURACY
from harness.runner.cache import CACHE_VERSION, TaskCache, task_key  # noqa: F401 (CACHE_VERSION re-exported)

log = logging.getLogger("harness.runner.tasks")

#: Arms that read the raw training events (others get ``events=None``: less to ship to workers).
_NEEDS_EVENTS = {"rerank", "profile", "gmm_profile"}


@dataclass(frozen=True)
class Task:
    """One unit of work: fit ``arm`` on ``variant`` with ``seed`` and evaluate it; ``threads``: the
    ``num_threads`` its model library trains with (``--threads-per-task``; arms without ``num_threads``
    train on one thread whatever it says); ``fold``: the rolling-origin fold (0-based) it trains and tests on,
    None for any other split."""

    variant: str
    arm: Arm
    seed: int
    threads: int = 1
    fold: int | None = None

    @property
    def key(self) -> str | tuple[str, int]:
        """What the task's data is looked up by: the variant, or (variant, fold) for a rolling-origin fold."""
        return self.variant if self.fold is None else (self.variant, self.fold)

    @property
    def fit_seed(self) -> int:
        """The seed the arm is trained (and tuned, and indexed) with: ``seed``, or in a rolling-origin fold
        the fold's own stream for it (:func:`harness.design.split.fold_seed`)."""
        return fold_seed(self.seed, self.fold)

    def label(self) -> str:
        fold = "" if self.fold is None else f" / fold {self.fold + 1}"
        return f"{self.variant} / {self.arm.name} / seed {self.seed}{fold}"


@dataclass(frozen=True)
class TaskResult:
    """A finished task: per-user scores, fit and evaluation seconds, whether it came from the cache,
    and (arms that train in epochs) the learning curve: mean curve metric after each epoch; ``top``:
    the evaluated top-k items (int64 (n_users, k), dense indices; for ``unit="items"`` each evaluated
    item's top-k users) when asked for (``--save-runs``);
    ``notes``: the arm's own notes for the report (e.g. a run file's missing users); ``tuned``: the
    parameters chosen on the validation window and ``tuning`` the search behind them
    (:meth:`harness.runner.tuning.window.Tuned.to_dict`: sampler, per, trials, best-so-far curve); ``ann``: for an
    arm with ``ann=``, the quality record of its approximate search (:func:`harness.evaluation.ann.quality.measure`);
    ``cache_note``: why a cache entry for the task was not used (it was recomputed), for the log;
    ``bad_input``: the ``error`` is the user's input (a :class:`HarnessError`), not a failure of the arm;
    ``phases``: seconds of a trained task's steps (``tune``, ``curve``: the validation-window fits, ``fit``: the
    final fit, ``ann``, ``evaluate``: scoring, top-k and metrics), for benchmarks and provenance."""

    task: Task
    scores: PerUserScores | None
    seconds: float
    cached: bool
    error: str | None = None
    curve: np.ndarray | None = None
    tuned: dict | None = None
    top: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    tuning: dict | None = None
    ann: dict | None = None
    cache_note: str | None = None
    bad_input: bool = False
    phases: dict | None = None


def needs_exposure(metrics: tuple[str, ...], unit: str) -> bool:
    """Catalogue exposure metrics (:mod:`harness.evaluation.exposure`) are computed for a user-direction
    hypothesis that names a beyond-accuracy metric (novelty, avgpop, ild, calibration, serendipity, aplt)."""
    return unit == "users" and any(m.split("@")[0] in BEYOND_ACCURACY for m in metrics)


def run_task(task: Task, data: EvalData, metrics: tuple[str, ...], cache_dir: str | None, key: str,
             save_top: int = 0) -> TaskResult:
    """Fit and evaluate one task (runs in a worker); BLAS limited to one thread.

    With ``save_top`` > 0 the evaluated top-``save_top`` items of every evaluated user (users of every
    evaluated item, for ``unit="items"``) are returned too (:func:`harness.evaluation.items.top_data`: the
    ranking the metrics were computed on). A scorer
    with ``list_lengths`` (a precomputed run) has positions past each list's end counted as misses
    (:func:`harness.evaluation.lists.cap_at_list_end`).

    An arm with ``grid=`` or ``tune=`` is first tuned on the validation window inside training
    (:func:`harness.runner.tuning.window.search`; optuna trials run sequentially here, tasks run in parallel),
    scored in the data's direction (per user, or per item for ``unit="items"``).
    For arms that train in epochs (``on_epoch``) with ``epochs="auto"`` (or fixed epochs and ``curve=True``),
    the first metric's learning curve on the validation window inside training is recorded
    (:func:`harness.runner.tuning.window.validation_curve`); with ``epochs="auto"`` it also chooses the
    epochs of the final fit. The test window chooses nothing.

    An arm with ``ann=`` is fitted (and tuned) exactly, then served through an approximate index
    built with the task's seed (:mod:`harness.evaluation.ann`; for ``unit="items"`` over the candidate users,
    queried by items); its quality against exact search is measured on a sample of evaluated units.
    """
    from threadpoolctl import threadpool_limits

    cache = TaskCache(Path(cache_dir) if cache_dir else None)
    exposure = needs_exposure(metrics, data.unit)
    hit = cached_result(task, data, metrics, cache, key, save_top)
    if hit is not None:
        return hit
    cache_note = cache.rejected
    t0 = time.perf_counter()
    phases: dict[str, float] = {}
    mark = [t0]

    def lap(name: str) -> None:
        now = time.perf_counter()
        phases[name] = round(phases.get(name, 0.0) + now - mark[0], 3)
        mark[0] = now

    with threadpool_limits(1):
        src = resolve(task.arm.kind)
        fit = src.fit
        params = task.arm.kwargs
        if task.threads > 1 and src.threads is not None:
            params["num_threads"] = task.threads
        ann_spec = params.pop("ann", None)
        tuned, curve, tuning_doc, ann_doc, kept = None, None, None, None, None
        try:
            if "grid" in params or "tune" in params:
                from harness.runner.tuning.window import search

                result = search(fit, data.train, task.fit_seed, params, metrics[0], data.unit)
                # key order as the cache stores them (sorted), so a fresh and a cached task report alike
                tuned = dict(sorted(result.chosen.items()))
                tuning_doc = json.loads(json.dumps(result.to_dict(), sort_keys=True, default=str))
                params = result.params
                log.info("task %s: tuned %s on the validation window (%s, %d trials: %s)", task.label(), tuned,
                         result.sampler, len(result.trials),
                         ", ".join(f"{p}: {s:.4f}" for p, s in result.trials))
                lap("tune")
            if src.supports_curves:
                params, curve, chosen, kept = _epochs(fit, data, task.fit_seed, params, metrics[0])
                if chosen is not None:
                    tuned = {**(tuned or {}), "epochs": chosen}
                    log.info("task %s: epochs='auto' chose %d on the validation window", task.label(), chosen)
                if curve is not None:
                    lap("curve")
            scorer = kept if kept is not None else fit(data.train, task.fit_seed, **params)
            lap("fit")
            if ann_spec is not None:  # items -> users: an index over the candidate users, queried by items
                from harness.evaluation.ann import index
                from harness.spec import ann as spec

                scorer = index.build(scorer, spec.parse(ann_spec, task.arm.name), task.fit_seed, task.arm.name,
                                     item_to_users=data.unit == "items", candidates=data.candidates)
                lap("ann")
        except HarnessError:
            raise
        except SystemExit as e:  # the arm's own code: bad input, never the run's exit code
            raise HarnessError(f"arm {task.arm.name!r} ({task.arm.kind}) called sys.exit({e.code!r}) while fitting; "
                               "fit returns a scorer: remove the exit call") from None
        except Exception as e:  # the model library failed (e.g. LightFM "model may have diverged")
            raise ArmFailure(f"{type(e).__name__}: {e}", traceback.format_exc()) from None
        if data.unit == "items" and hasattr(scorer, "list_lengths"):
            raise HarnessError(f"task {task.label()}: precomputed runs are not supported with "
                               "direction='item_to_users' yet; use a model arm")
        scores = evaluate_data(scorer, data, metrics, exposure=exposure)  # users -> items, or items -> users
        if ann_spec is not None:
            from harness.evaluation.ann.quality import measure

            seen = candidate_seen(data.train.seen, data.candidates) if data.unit == "items" else data.train.seen
            ann_doc = measure(scorer, data.users, seen, data.relevant, metrics, scores,
                              item_content=None if data.unit == "items" else data.train.item_content)
        notes: tuple[str, ...] = ()
        if hasattr(scorer, "list_lengths"):
            lengths = scorer.list_lengths(data.users, data.train.seen)
            scores = cap_at_list_end(scores, lengths, scorer, data.users, data.train.seen, data.relevant,
                                     item_content=data.train.item_content)
            kmax = max(int(m.split("@")[1]) for m in metrics)
            notes = (f"{task.label()}: {scorer.describe(data.users, data.train.seen, kmax)}",)
        top = top_data(scorer, data, save_top) if save_top else None
        lap("evaluate")
    cache.put(key, scores, curve, tuned, top, notes, tuning_doc, ann_doc)
    return TaskResult(task, scores, time.perf_counter() - t0, False, curve=curve, tuned=tuned, top=top,
                      notes=notes, tuning=tuning_doc, ann=ann_doc, cache_note=cache_note, phases=phases)


def cached_result(task: Task, data: EvalData, metrics: tuple[str, ...], cache: TaskCache, key: str,
                  save_top: int = 0) -> TaskResult | None:
    """The task's result from ``cache`` if it holds a usable entry (see :meth:`TaskCache.get`), else None
    (``cache.rejected`` then says why an entry was not used)."""
    hit = cache.get(key, save_top, need_tuning="grid" in task.arm.kwargs or "tune" in task.arm.kwargs,
                    users=data.users, metrics=metrics, need_exposure=needs_exposure(metrics, data.unit))
    if hit is None:
        return None
    if not _records_curve(task.arm):  # an entry written when fixed epochs always recorded a curve
        hit["curve"] = None
    return TaskResult(task, seconds=0.0, cached=True, **hit)


def _epochs(fit: Callable, data: EvalData, seed: int, params: dict,
            metric: str) -> tuple[dict, np.ndarray | None, int | None, object | None]:
    """(params for the final fit, validation curve, epochs chosen by ``epochs="auto"`` or None, the
    inner model to evaluate instead of a final fit or None).

    With ``epochs="auto", refit="none"`` the inner model after the best epoch is returned (a snapshot
    taken during the curve: :func:`harness.runner.tuning.window.validation_curve_kept`) and no final
    fit is needed; ``refit="full"`` (the default) refits the chosen epochs on the whole training window.
    Fixed epochs train once; the validation curve (an extra inner fit on the training window minus its
    validation window) is recorded only with ``curve=True``.
    """
    import inspect

    from harness.runner.tuning import window as tuning

    params = dict(params)
    auto = params.get("epochs") == "auto"
    keep = params.pop("refit", "full") == "none"
    want_curve = params.pop("curve", False)
    max_epochs = params.pop("max_epochs", tuning.MAX_EPOCHS)
    patience = params.pop("patience", tuning.PATIENCE)
    default = inspect.signature(fit).parameters.get("epochs")
    default = None if default is None or default.default is inspect.Parameter.empty else default.default
    epochs = params.pop("epochs", default)
    epochs = max_epochs if auto else epochs
    if epochs is None:  # an epoch arm without an ``epochs`` parameter: no curve to record
        return params, None, None, None
    if not auto and not want_curve:  # fixed epochs: one fit; the validation curve only when asked (curve=True)
        return {**params, "epochs": epochs}, None, None, None
    kept = None
    try:
        if auto and keep:
            curve, kept = tuning.validation_curve_kept(fit, data.train, seed, params, metric, epochs, patience,
                                                       data.unit)
        else:
            curve = tuning.validation_curve(fit, data.train, seed, params, metric, epochs,
                                            patience if auto else None, data.unit)
    except HarnessError:
        if auto:
            raise
        return {**params, "epochs": epochs}, None, None, None  # no validation window on this data: no curve
    chosen = tuning.best_epoch(curve) if auto else None
    return {**params, "epochs": chosen if auto else epochs}, curve, chosen, kept


def _records_curve(arm: Arm) -> bool:
    """Whether a task of ``arm`` records a validation curve: an epoch arm with ``epochs="auto"`` or
    ``curve=True``."""
    kw = arm.kwargs
    return resolve(arm.kind).supports_curves and (kw.get("epochs") == "auto" or kw.get("curve") is True)


class ArmFailure(Exception):
    """An arm's model library raised while fitting; carries the worker's traceback for the log."""

    def __init__(self, message: str, tb: str):
        super().__init__(message)
        self.tb = tb


def _safe_run_task(*args) -> TaskResult:
    try:
        return run_task(*args)
    except HarnessError as e:  # bad input (e.g. a broken runs file): reported once, without resume advice
        return TaskResult(args[0], None, 0.0, False, str(e), bad_input=True)
    except ArmFailure as e:
        return TaskResult(args[0], None, 0.0, False, f"{e} (traceback in the log)\n{e.tb}")


def _run_indexed(i: int, task: Task, data: object, *args) -> tuple[int, TaskResult]:
    """``(i, _safe_run_task(task, data, *args))``: results arrive in completion order and are put back in task
    order. ``data`` may be a handle of :mod:`harness.runner.shipping` (loaded once per worker)."""
    if isinstance(data, shipping.Shipped):
        return i, shipping.detach(_safe_run_task(task, shipping.resolve(data), *args))
    return i, _safe_run_task(task, data, *args)


def _needs_events(t: Task) -> bool:
    """Whether ``t``'s arm reads the training events (the others get ``events=None``: less to ship)."""
    return t.arm.kind in _NEEDS_EVENTS or "grid" in t.arm.kwargs or "tune" in t.arm.kwargs \
        or _records_curve(t.arm)  # the validation window is cut from the events


def execute(tasks: list[Task], data: dict[str, EvalData], metrics: tuple[str, ...], context: str, *,
            n_jobs: int = 1, cache_dir: Path | None = None, backend: str = "loky",
            progress: Callable | None = None, save_top: int = 0) -> list[TaskResult]:
    """Run ``tasks`` (cached ones are read, not refit) and return results in task order (so outputs do
    not depend on ``n_jobs``), while ``progress`` sees each task as soon as it finishes.

    Cached tasks are read here, in the calling process. The data of the others reaches the workers once
    (:mod:`harness.runner.shipping`: one memory-mapped file per payload for loky, one scatter per payload
    for Dask); each task carries a handle.

    Parameters
    ----------
    tasks : the (variant, arm, seed) tasks (with a ``fold`` for rolling-origin folds).
    data : :attr:`Task.key` (the variant, or (variant, fold)) -> prepared data.
    metrics : metric names evaluated per user.
    context : text describing the data/split (hashed into each task's cache key).
    n_jobs : joblib workers; results are identical for any value.
    cache_dir : where finished tasks are stored (None: no cache).
    backend : "loky", or "dask" inside :func:`harness.runner.backends.backend` (tasks go to its client).
    progress : called once per finished task with its TaskResult, in the order tasks finish (joblib's
        ``return_as="generator_unordered"``, one task per batch; on Dask, ``as_completed``).
    save_top : > 0: also return each task's evaluated top-``save_top`` lists (``--save-runs``).
    """
    keys = [task_key(t, context) for t in tasks]
    log.info("%d tasks, metrics %s", len(tasks), ", ".join(metrics))
    cdir = None if cache_dir is None else str(cache_dir)
    finished: dict[int, TaskResult] = {}

    def done(i: int, r: TaskResult) -> None:
        if r.cache_note:
            log.warning("task %s: %s", r.task.label(), r.cache_note)
        log.info("task %s: %s", r.task.label(), "FAILED: " + r.error if r.error else
                 ("cached" if r.cached else f"{r.seconds:.1f} s"))
        if progress is not None:
            progress(r)
        finished[i] = r

    cache = TaskCache(cache_dir)
    todo = []
    for i, (t, k) in enumerate(zip(tasks, keys)):
        hit = cached_result(t, data[t.key], metrics, cache, k, save_top) if cdir else None
        if hit is None:
            todo.append(i)
        else:
            done(i, hit)
    payloads: dict[tuple[str, bool], EvalData] = {}
    for i in todo:
        t = tasks[i]
        pk = (t.key, _needs_events(t))
        if pk not in payloads:
            d = data[t.key]
            payloads[pk] = d if pk[1] else replace(d, train=replace(d.train, events=None))
    try:
        with shipping.ship(payloads, backend, n_jobs) as handles:
            def args(i: int) -> tuple:
                t = tasks[i]
                return i, t, handles[(t.key, _needs_events(t))], metrics, cdir, keys[i], save_top

            if not todo:
                gen: Iterable = ()
            elif backend == "dask":  # inside harness.runner.backends.backend("dask"): a client is active
                from distributed import as_completed, get_client

                client = get_client()
                futures = [client.submit(_run_indexed, *args(i), pure=False) for i in todo]
                gen = (f.result() for f in as_completed(futures))
            elif n_jobs == 1:
                gen = (_run_indexed(*args(i)) for i in todo)
            else:
                from joblib import Parallel, delayed

                gen = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered", batch_size=1,
                               max_nbytes=None)(delayed(_run_indexed)(*args(i)) for i in todo)
            for i, r in gen:
                done(i, r)
    except Exception as e:  # a worker process died (killed, out of memory, segfault in a model library)
        if type(e).__name__ not in ("TerminatedWorkerError", "BrokenProcessPool", "KilledWorker"):
            raise
        log.error("worker died: %s", e)
        n = len(finished)
        raise HarnessError(f"a worker process died while running tasks ({type(e).__name__}: "
                           f"{str(e).splitlines()[0][:160]}); {n} of {len(tasks)} tasks finished and are cached, "
                           "rerun the same command to resume (fewer --n-jobs if memory ran out)") from None
    results = [finished[i] for i in range(len(tasks))]
    failed = [r for r in results if r.error]
    if failed:
        raise HarnessError(failure_message(failed, cached=cache_dir is not None))
    return results


def failure_message(failed: list[TaskResult], cached: bool = True) -> str:
    """One line for the failed tasks. Bad input (a task raised :class:`HarnessError`, e.g. a broken runs
    file) is said once per distinct message, with the arm and seeds it stopped, and no resume advice: the
    same input fails again. Real failures (an arm's library raised) list up to three tasks and say that
    the finished tasks are cached (``cached``: there is a task cache)."""
    bad = [r for r in failed if r.bad_input]
    if not bad:
        lines = "; ".join(f"{r.task.label()}: {r.error.splitlines()[0]}" for r in failed[:3])
        advice = "finished tasks are cached, rerun to resume" if cached else "rerun to retry (no task cache)"
        return f"{len(failed)} task(s) failed ({lines}); {advice}"
    groups: dict[str, list[Task]] = {}
    for r in bad:
        groups.setdefault(r.error.splitlines()[0], []).append(r.task)
    parts = [f"{msg} ({_which(tasks, msg)})" for msg, tasks in list(groups.items())[:3]]
    if len(groups) > 3:
        parts.append(f"and {len(groups) - 3} more problems (see the log)")
    others = len(failed) - len(bad)
    if others:
        parts.append(f"{others} other task(s) failed too (see the log)")
    return "; ".join(parts)


def _which(tasks: list[Task], message: str) -> str:
    """``arm 'mine', positives 'rating>=4', seeds 0, 1, 2`` (the arm left out when ``message`` names it) for
    tasks of one arm and variant, else ``N tasks``."""
    if len({(t.arm.name, t.variant) for t in tasks}) > 1:
        return f"{len(tasks)} tasks"
    arm = "" if f"arm {tasks[0].arm.name!r}" in message else f"arm {tasks[0].arm.name!r}, "
    seeds = ", ".join(str(t.seed) for t in tasks)
    return f"{arm}positives {tasks[0].variant!r}, seed{'s' if len(tasks) > 1 else ''} {seeds}"


def per_user_table(results: list[TaskResult], data: dict[str, EvalData], user_ids: np.ndarray,
                   segment_masks: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    """Long table: one row per (variant, arm, seed, user) with every metric and segment flags.

    Columns: variant, arm, seed, user_id (raw), user_index (dense), n_relevant, n_train_pos,
    seg_<name> (bool) for each segment, then one float64 column per metric.
    """
    frames = []
    seg_names = sorted({s for (_, s) in segment_masks}, key=lambda s: list(segment_masks).index(
        next(k for k in segment_masks if k[1] == s)))
    for r in results:
        d = data[r.task.variant]
        s = r.scores
        if not np.array_equal(s.users, d.users):
            raise RuntimeError(f"task {r.task.label()} evaluated a different user set")
        cols = {"variant": r.task.variant, "arm": r.task.arm.name, "seed": np.int64(r.task.seed),
                "user_id": user_ids[s.users], "user_index": s.users.astype(np.int64),
                "n_relevant": s.n_relevant.astype(np.int64), "n_train_pos": d.n_train_pos[s.users].astype(np.int64)}
        for seg in seg_names:
            cols[f"seg_{seg}"] = segment_masks[(r.task.variant, seg)]
        for m, v in s.values.items():
            cols[m] = v
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)
