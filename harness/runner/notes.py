"""The run's notes and warnings read off the task results: NaN scores, each task's own notes, the
parameters tuned on the validation window, arms that had not converged, and too few seeds for the
seed x unit interval."""
from __future__ import annotations

import numpy as np

from harness.runner import tasks as runner
from harness.runner.tuning import window as tuning
from harness.design.validation import VALIDATION_SHARE
from harness.spec import Hypothesis


def task_notes(res: list[runner.TaskResult], hyp: Hypothesis) -> list[str]:
    """Notes from the tasks: NaN scores (ranked last), each task's own notes, then the parameters each
    tuned task chose on the validation window."""
    notes = [f"{r.task.label()}: {r.scores.nan_scores} {hyp.unit} got NaN scores (the model may have "
             "diverged); NaN was ranked last" for r in res if r.scores.nan_scores]
    notes += [n for r in res for n in r.notes]
    per = " per item" if hyp.unit == "items" else ""
    notes += [f"{r.task.label()}: tuned on the validation window (last {int(100 * VALIDATION_SHARE)} % of each "
              f"user's training interactions, {hyp.primary}{per}{_search_desc(r.tuning)}{_refit_desc(r)}): {r.tuned}"
              for r in res if r.tuned]
    return notes


def _refit_desc(r: runner.TaskResult) -> str:
    """For ``refit="none"``: the evaluated model is the inner one (the default, a refit, says nothing)."""
    if r.task.arm.kwargs.get("epochs") == "auto" and r.task.arm.kwargs.get("refit") == "none":
        return "; refit='none': the inner model after that epoch is evaluated, not refitted on the whole training window"
    return ""


def _search_desc(t: dict | None) -> str:
    if not t:
        return ""
    per = "per seed" if t["per"] == "seed" else "once, with seed 0, reused for every seed"
    return f"; {t['sampler']} search, {len(t['trials'])} trials, {per}"


def convergence_notes(curves_doc: dict, patience: dict | None = None) -> list[str]:
    """Warnings for arms that had not converged, and for early stops kept at the first epoch.

    ``patience``: arm name -> patience of an ``epochs="auto"`` arm (absent: fixed epochs). A fixed-epoch
    arm is judged on its mean curve over seeds (all of one length). An ``epochs="auto"`` arm is judged
    seed by seed: a seed that patience stopped had converged by that rule, one that ran out of
    ``max_epochs`` is judged on its own curve (a mean over the seeds still running would rise at its
    tail just because the seeds still improving are the ones left)."""
    notes = []
    patience = patience or {}
    for variant, arms in curves_doc.items():
        for arm, c in arms.items():
            metric, tol = c["metric"], int(100 * tuning.LAST_SHARE)
            if arm in patience:
                open_ = {s: np.asarray(x) for s, x in c["seeds"].items()
                         if len(x) - tuning.best_epoch(np.nan_to_num(np.asarray(x), nan=-np.inf)) < patience[arm]}
                gains = {s: g for s, x in open_.items() if (g := tuning.still_improving(x)) is not None}
                if gains:
                    seeds = ", ".join(f"{s} ({g:+.4f} over the last {tol} % of {len(open_[s])} epochs)"
                                      for s, g in sorted(gains.items(), key=lambda kv: int(kv[0])))
                    notes.append(f"WARNING: arm {arm!r} ({variant}) had not converged: epochs='auto' ran out of "
                                 f"max_epochs with its validation {metric} still rising beyond "
                                 f"{100 * tuning.CONVERGENCE_TOL:g} % for seed(s) {seeds}; the comparison may "
                                 "reflect training speed, not quality: raise max_epochs or the learning rate")
            else:
                gain = tuning.still_improving(np.asarray(c["mean"]))
                if gain is not None:
                    notes.append(f"WARNING: arm {arm!r} ({variant}) had not converged: its mean validation {metric} "
                                 f"still rose by {gain:+.4f} ({100 * gain / abs(c['mean'][-1]):.1f} % of its final "
                                 f"value) over the last {tol} % of its {len(c['mean'])} epochs (tolerance "
                                 f"{100 * tuning.CONVERGENCE_TOL:g} %); the comparison may reflect training speed, "
                                 "not quality: train longer or use epochs='auto'")
            first = sorted(int(s) for s, curve in c["seeds"].items() if tuning.best_at_start(np.asarray(curve)))
            if first:
                notes.append(f"WARNING: arm {arm!r} ({variant}): its validation {metric} was best after the first "
                             f"epoch for seed(s) {', '.join(map(str, first))} of {len(c['seeds'])}, so the model "
                             "compared is barely trained; a curve that dips before it rises fools early stopping: "
                             "raise patience (or fix epochs), or check learning_rate and loss")
    return notes


def auto_patience(hyp: Hypothesis) -> dict:
    """arm name -> patience of each ``epochs="auto"`` arm (the convergence guard judges those per seed)."""
    return {a.name: int(a.kwargs.get("patience", tuning.PATIENCE)) for a in hyp.arms if a.kwargs.get("epochs") == "auto"}


#: Fewer seeds than this undercut the seed x unit interval (:func:`seed_warning`).
MIN_SEEDS = 3


def seed_warning(n_seeds: int, unit: str = "users") -> str | None:
    """One line when ``n_seeds`` < :data:`MIN_SEEDS`: with 1 seed the interval ignores seed variance;
    with 2 it estimates seed variance from 1 degree of freedom (its quantile reaches t on 1 df)."""
    if n_seeds >= MIN_SEEDS:
        return None
    u = unit[:-1]
    if n_seeds <= 1:
        what = (f"1 seed: seed variance was not measured, so the interval is {u}-only and a retrained model may "
                "move the delta by more than it shows")
    else:
        what = (f"{n_seeds} seeds: the seed x {u} interval estimates seed variance from {n_seeds - 1} degree of "
                "freedom (its quantile reaches t on 1 df), so it is very wide when the seeds disagree and "
                "unreliable when they happen to agree")
    return f"too few seeds for the interval: {what}; use at least {MIN_SEEDS} seeds (--seeds {MIN_SEEDS})"


def unreproducible_arms(res: list[runner.TaskResult]) -> list[str]:
    """Arms whose tasks trained with more than one thread in a library that is then not reproducible for a
    seed (``--threads-per-task``; e.g. LightFM's and BPR's Hogwild updates), in arm order."""
    from harness.arms.registry import resolve

    out: list[str] = []
    for r in res:
        t = r.task
        if t.threads > 1 and t.arm.name not in out and resolve(t.arm.kind).threads == "not reproducible":
            out.append(t.arm.name)
    return out


def threads_warning(res: list[runner.TaskResult]) -> str | None:
    """The warning for :func:`unreproducible_arms`, or None."""
    arms = unreproducible_arms(res)
    if not arms:
        return None
    n = max(r.task.threads for r in res)
    return (f"not byte-reproducible: arm(s) {', '.join(arms)} trained with {n} threads per task (--threads-per-task "
            f"{n}), whose updates race (Hogwild), so the same seed gives slightly different models on every run; "
            "the seed x user interval still holds, but a rerun will not reproduce these numbers exactly "
            "(the default, --threads-per-task 1, does)")


def run_warnings(prepared: tuple[str, ...], curves_doc: dict, hyp: Hypothesis, n_seeds: int,
                 threads: str | None = None) -> list[str]:
    """summary.json's ``warnings``, what undercuts the verdict in the order the report lists it: those
    found while preparing the data (``prepared``: replaced positives, a leakage-prone split, segments
    whose ties moved their share), arms that had not converged (:func:`convergence_notes`, without their
    ``WARNING:`` prefix), too few seeds (:func:`seed_warning`, ``n_seeds``: the most any cell had), then
    ``threads``: :func:`threads_warning`."""
    out = list(prepared)
    out += [n.removeprefix("WARNING: ") for n in convergence_notes(curves_doc, auto_patience(hyp))]
    few = seed_warning(n_seeds, hyp.unit)
    return out + ([few] if few else []) + ([threads] if threads else [])
