"""Run one hypothesis end to end: data -> feedback -> split -> segments -> arms -> evaluate -> stats
-> verdict -> report, writing ``results/<H>/<run-id>/`` atomically."""
from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from harness.decision import adaptive, analysis
from harness.runner import backends, tasks as runner
from harness.design import features, feedback, segments
from harness.evaluation import items as item_eval
from harness.outputs import report, run_folder as results
from harness.outputs import summary
from harness.runner.tuning import window as tuning
from harness.arms.registry import check_params
from harness.data import load_dataset
from harness.data.base import Interactions
from harness.errors import HarnessError
from harness.design.prepare import EvalData, prepare
from harness.spec import Hypothesis
from harness.design.split import split
from harness.design.validation import VALIDATION_SHARE
from harness.decision.verdict import Verdict, decide


@dataclass(frozen=True)
class RunOutcome:
    """Where the run was written and its verdict."""

    run_dir: Path
    run_id: str
    verdict: Verdict
    summary: dict
    fitted: int
    cached: int


@dataclass(frozen=True)
class Prepared:
    """A hypothesis resolved against a loaded dataset, ready to run."""

    hyp: Hypothesis
    inter: Interactions
    variants: tuple[str, ...]
    data: dict
    masks: dict
    notes: tuple[str, ...]
    split_desc: str
    split_counts: dict
    segment_info: dict = field(default_factory=dict)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The hypothesis' metrics, primary first (the learning-curve metric)."""
        return (self.hyp.primary,) + tuple(m for m in self.hyp.metrics if m != self.hyp.primary)

    @property
    def context(self) -> str:
        """Text hashed into every task's cache key: the data, split, metrics and evaluated-unit policy
        (the direction and cold users only when not the default, so existing cache keys stay as they were)."""
        direction = "|item_to_users" if self.hyp.direction == "item_to_users" else ""
        cold = "|cold_users" if self.hyp.cold_users else ""  # other users are evaluated: other per-user results
        return f"{self.inter.fingerprint}|{self.split_desc}|{','.join(self.metrics)}{direction}{cold}"


def prepare_hypothesis(hyp: Hypothesis, inter: Interactions) -> Prepared:
    """Resolve positives and split, build each variant's data and the segment memberships."""
    variants, note = feedback.resolve(hyp.positives, inter.events, inter.default_positives)
    if hyp.direction == "item_to_users" and note:
        lacking = sorted(set().union(*(feedback.columns(e) for e in hyp.positives)) - set(inter.events.columns))
        raise HarnessError(f"hypothesis {hyp.id}: direction='item_to_users' needs the engagement column(s) "
                           f"{', '.join(lacking)} of its positives {list(hyp.positives)}, which dataset "
                           f"{inter.name!r} lacks; use a VK-LSVD-layout dataset (e.g. --dataset synthetic-vk)")
    notes = [note] if note else []
    spec = hyp.split or inter.default_split
    sp = split(inter, spec)
    data: dict[str, EvalData] = {}
    masks: dict[tuple[str, str], np.ndarray] = {}
    info: dict[tuple[str, str], segments.SegmentInfo] = {}
    for v in variants:
        d = prepare(inter, sp, v, cold_users=hyp.cold_users)
        if hyp.direction == "item_to_users":
            d = item_eval.prepare_items(d)
            if len(d.users) == 0:
                raise HarnessError(f"{inter.name}: no item has a relevant test user with training history for "
                                   f"positives {v!r}; check the positive definition and the split")
        if len(d.users) == 0:
            raise HarnessError(f"{inter.name}: no user has both a training positive and a relevant test item "
                               f"for positives {v!r}; check the positive definition and the split")
        data[v] = d
        for seg in hyp.segments:
            m = segments.membership(seg, d, inter)
            masks[(v, seg.name)] = m
            info[(v, seg.name)] = segments.describe(seg, m, d)
            if not m.any():
                notes.append(f"segment {seg.name!r} has no evaluable {hyp.unit} for positives {v!r}")
            elif info[(v, seg.name)].warning:
                notes.append(f"positives {v!r}: {info[(v, seg.name)].warning}")
    if any("item_features" in a.kwargs for a in hyp.arms) and inter.item_content is not None:
        notes.append(f"item content: {inter.content_desc}")
    return Prepared(hyp, inter, tuple(variants), data, masks, tuple(notes), sp.description, sp.counts, info)


def check_content(hyp: Hypothesis, inter: Interactions) -> None:
    """Fail before any training when an arm asks for item content the data does not have."""
    for arm in hyp.arms:
        if features.uses_content(arm.kwargs.get("item_features")) and inter.item_content is None:
            raise HarnessError(f"arm {arm.name!r} uses item_features={arm.kwargs['item_features']!r}, but dataset "
                               f"{inter.name!r} has no item content; for a tabular file give --item-features FILE "
                               "(the item column plus numeric or '|'-separated columns, e.g. MovieLens movies.csv)")


def check_arm_data(p: Prepared) -> None:
    """Fail before any training when an arm module's optional ``check_data(params, train)`` rejects a
    variant's training data (e.g. more mixture components than training items)."""
    from harness.arms.registry import resolve

    for arm in p.hyp.arms:
        check = getattr(resolve(arm.kind).module, "check_data", None)
        if check is None:
            continue
        for d in p.data.values():
            try:
                check(arm.kwargs, d.train)
            except HarnessError as e:
                raise HarnessError(f"Arm {arm.name!r}: {e}") from None


def tasks_for(p: Prepared, seeds: tuple[int, ...] | None = None) -> list[runner.Task]:
    seeds = p.hyp.seeds if seeds is None else seeds
    return [runner.Task(v, arm, s) for v in p.variants for arm in p.hyp.arms for s in seeds]


def data_summary(p: Prepared) -> dict:
    inter = p.inter
    segs = {v: {seg.name: int(p.masks[(v, seg.name)].sum()) for seg in p.hyp.segments} for v in p.variants}
    return {"n_users": inter.n_users, "n_items": inter.n_items, "n_events": int(len(inter.events)),
            "split": p.split_desc, "split_counts": p.split_counts, "content": inter.content_desc,
            "variants": {v: dict(d.counts) for v, d in p.data.items()}, "segments": segs,
            "segment_info": {v: {seg.name: p.segment_info[(v, seg.name)].to_dict() for seg in p.hyp.segments}
                             for v in p.variants},
            "counts": {k: int(v) if isinstance(v, (int, np.integer)) else v for k, v in inter.counts.items()}}


def progress_bar(total: int, quiet: bool, desc: str):
    """A tqdm bar on stderr (disabled when quiet) and a callback advancing it per finished task."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, disable=quiet, file=sys.stderr, unit="task")

    def tick(r: runner.TaskResult) -> None:
        bar.set_postfix_str(f"{r.task.arm.name} s{r.task.seed}{' (cached)' if r.cached else ''}", refresh=False)
        bar.update(1)

    return bar, tick


def popularity_reference(p: Prepared) -> dict:
    """Popularity's mean primary metric per variant and segment: a floor every trained arm should clear."""
    from harness.arms.popularity import fit as fit_pop

    from harness.arms.scorer import FactorScorer

    out: dict = {}
    for v, d in p.data.items():
        if d.unit == "items":  # the item direction's "popularity": rank users by training activity
            act = np.diff(d.train.seen.indptr).astype(np.float32)[:, None]
            pop = FactorScorer(act, np.ones((d.train.n_items, 1), np.float32))
        else:
            pop = fit_pop(d.train, 0)
        vals = item_eval.evaluate_data(pop, d, (p.hyp.primary,)).values[p.hyp.primary]
        out[v] = {seg.name: (float(vals[p.masks[(v, seg.name)]].mean()) if p.masks[(v, seg.name)].any() else None)
                  for seg in p.hyp.segments}
    return out


def below_reference(cells, reference: dict, hyp: Hypothesis) -> list[str]:
    """Notes for arms whose mean primary metric is below popularity's (undertrained or misconfigured?)."""
    notes = []
    for c in cells:
        ref = reference.get(c.variant, {}).get(c.segment)
        if c.metric != hyp.primary or c.empty or ref is None:
            continue
        for arm, mean in ((hyp.baseline, c.mean_base), (hyp.treatment, c.mean_treat)):
            if arm.kind != "popularity" and mean < ref:
                notes.append(f"WARNING: arm {arm.name!r} ({c.variant}, segment {c.segment!r}) has mean {c.metric} "
                             f"{mean:.4f}, below popularity's {ref:.4f}: undertrained or misconfigured?")
    return notes


def coverage(res: list[runner.TaskResult]) -> dict:
    """Catalogue coverage: variant -> arm -> coverage@k -> mean over seeds."""
    acc: dict = {}
    for r in res:
        for name, v in r.scores.coverage.items():
            acc.setdefault(r.task.variant, {}).setdefault(r.task.arm.name, {}).setdefault(name, []).append(v)
    return {v: {a: {k: float(np.mean(x)) for k, x in d.items()} for a, d in arms.items()} for v, arms in acc.items()}


def curves(res: list[runner.TaskResult], metric: str) -> dict:
    """Learning curves: variant -> arm -> {metric, per-seed curves, mean over seeds} (epoch-trained arms)."""
    out: dict = {}
    for r in res:
        if r.curve is None:
            continue
        arm = out.setdefault(r.task.variant, {}).setdefault(r.task.arm.name, {"metric": metric, "seeds": {}})
        arm["seeds"][str(r.task.seed)] = [float(x) for x in r.curve]
    for arms in out.values():
        for a in arms.values():  # epochs="auto" stops seeds at different epochs: mean over those still running
            runs = list(a["seeds"].values())
            grid = np.full((len(runs), max(len(c) for c in runs)), np.nan)
            for i, c in enumerate(runs):
                grid[i, :len(c)] = c
            a["mean"] = [float(x) for x in np.nanmean(grid, axis=0)]
    return out


def _search_desc(t: dict | None) -> str:
    if not t:
        return ""
    per = "per seed" if t["per"] == "seed" else "once, with seed 0, reused for every seed"
    return f"; {t['sampler']} search, {len(t['trials'])} trials, {per}"


def tuning_summary(res: list[runner.TaskResult]) -> dict:
    """Searches on the validation window: variant -> arm -> {sampler, per, metric, n_trials, seeds: seed ->
    {params (chosen), scores (per trial), best_so_far (the tuning curve), test (the refitted arm's mean of
    the same metric on the test window, for comparison with the best validation score)}}."""
    out: dict = {}
    for r in res:
        t = r.tuning
        if t is None:
            continue
        arm = out.setdefault(r.task.variant, {}).setdefault(r.task.arm.name, {
            "sampler": t["sampler"], "per": t["per"], "metric": t["metric"], "n_trials": len(t["trials"]),
            "seeds": {}})
        test = r.scores.values.get(t["metric"]) if r.scores is not None else None
        arm["seeds"][str(r.task.seed)] = {"params": t["params"], "scores": [x["score"] for x in t["trials"]],
                                          "best_so_far": t["best_so_far"],
                                          "test": None if test is None or not len(test) else float(np.nanmean(test))}
    return out


def ann_summary(res: list[runner.TaskResult], hyp: Hypothesis) -> dict | None:
    """ANN arms' quality against exact search (:func:`harness.evaluation.ann.quality.summarize`), or None."""
    records = [(r.task.variant, r.task.arm.name, r.task.seed, r.ann) for r in res if r.ann]
    if not records:
        return None
    from harness.evaluation.ann.quality import summarize

    out = summarize(records, round(1 - hyp.alpha, 6))
    for exact, approx in (hyp.arms, hyp.arms[::-1]):  # an arm and its ANN twin: the hypothesis measures it all
        same = {k: v for k, v in approx.kwargs.items() if k != "ann"} == exact.kwargs
        if "ann" in approx.kwargs and approx.kind == exact.kind and same:
            for arms in out.values():
                if approx.name in arms:
                    arms[approx.name]["exact_twin"] = exact.name
    return out


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


def arm_sources(hyp: Hypothesis) -> dict:
    """arm name -> where its ``fit`` came from and the hash of that source file (in the run id and
    provenance: editing a model gives a new run id)."""
    from harness.arms.registry import resolve

    out = {}
    for arm in hyp.arms:
        src = resolve(arm.kind)
        out[arm.name] = {"ref": src.ref, "origin": src.origin, "source_sha256": src.source_hash}
    return out


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


def open_log(directory: Path, hyp_id: str) -> tuple[Path, logging.Handler]:
    """Attach a file handler for the ``harness`` loggers; returns its path and the handler."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{hyp_id}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("harness")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    return path, handler


def run(hyp: Hypothesis, *, dataset: str | None = None, data_dir: Path | None = None,
        results_dir: Path = Path("results"), cache_dir: Path | None = Path(".cache/harness"), n_jobs: int = 1,
        quiet: bool = False, backend: str = "loky", scheduler: str | None = None,
        inter: Interactions | None = None, columns: dict[str, str] | None = None,
        save_runs: str | None = None, load_options: dict | None = None) -> RunOutcome:
    """Run ``hyp`` (optionally on another dataset, or on already loaded ``inter``) and write its run
    folder; returns the outcome.

    ``save_runs`` (``parquet``, ``csv`` or ``trec``) also writes every task's evaluated top-k lists to
    ``runs/<positives>/<arm>_seed<seed>.<ext>`` in the run folder (raw ids; readable by the ``runs``
    arm and by ranx / trec_eval). For ``direction="item_to_users"`` each evaluated item's top-k users
    (columns ``item, user, rank``; TREC qid = item). ``load_options`` are passed to :func:`harness.data.load_dataset`.
    """
    t0 = time.perf_counter()
    for arm in hyp.arms:
        check_params(arm.kind, arm.kwargs, arm.name, preflight=True)
    dataset = dataset or (inter.name if inter is not None else hyp.dataset)
    hyp = hyp.replace(dataset=dataset)
    if inter is None:
        inter = load_dataset(dataset, data_dir, cache_dir, columns=columns, positives=hyp.positives,
                             **(load_options or {}))
    check_content(hyp, inter)
    p = prepare_hypothesis(hyp, inter)
    check_arm_data(p)
    plan = adaptive.levels(hyp)
    save_top = max(int(m.split("@")[1]) for m in p.metrics) if save_runs else 0
    n_tasks = len(tasks_for(p))  # every seed the plan may use
    bar, tick = progress_bar(n_tasks, quiet, f"{hyp.id} on {dataset}")
    # Logs never go into results/ (which holds only complete run folders).
    log_path, handler = open_log(Path(cache_dir or ".cache/harness") / "logs", hyp.id)
    logging.getLogger("harness").info("run %s on %s: %d tasks, n_jobs=%d, backend=%s", hyp.id, dataset,
                                      n_tasks, n_jobs, backend)
    res: list[runner.TaskResult] = []
    looks: list[adaptive.Look] = []
    decision_hyp, per_user, cells, verdict = hyp, None, None, None
    try:
        with backends.backend(backend, n_jobs, scheduler) as active:
            done = 0
            for n_seeds, alpha in plan:  # one round for fixed seeds; rounds until decided for adaptive ones
                res += runner.execute(tasks_for(p, hyp.seeds[done:n_seeds]), p.data, p.metrics, p.context,
                                      n_jobs=n_jobs, cache_dir=None if cache_dir is None else Path(cache_dir) / "tasks",
                                      backend=active, progress=tick, save_top=save_top)
                done = n_seeds
                decision_hyp = hyp if hyp.adaptive is None else adaptive.at_level(hyp, alpha)
                per_user = runner.per_user_table(res, p.data, inter.item_ids if hyp.unit == "items"
                                                 else inter.user_ids, p.masks)
                if hyp.unit == "items":  # the unit columns hold items: say so under their own names too
                    per_user = per_user.assign(item_id=per_user["user_id"], item_index=per_user["user_index"])
                cells = analysis.compare(decision_hyp, per_user, p.variants)
                verdict = decide(decision_hyp, cells)
                looks.append(adaptive.Look(n_seeds, alpha, verdict.status, adaptive.decided(verdict)))
                if hyp.adaptive is not None:
                    logging.getLogger("harness").info("look %d: %d seeds, nominal alpha %.3g: %s", len(looks),
                                                      n_seeds, alpha, verdict.status)
                if looks[-1].decided:
                    break
    except HarnessError as e:
        raise HarnessError(f"{e} (log: {log_path})") from None
    finally:
        bar.close()
        logging.getLogger("harness").removeHandler(handler)
        handler.close()
    notes = list(p.notes) + [f"{r.task.label()}: {r.scores.nan_scores} {hyp.unit} got NaN scores (the model may have "
                             "diverged); NaN was ranked last" for r in res if r.scores.nan_scores]
    notes += [n for r in res for n in r.notes]
    per = " per item" if hyp.unit == "items" else ""
    notes += [f"{r.task.label()}: tuned on the validation window (last {int(100 * VALIDATION_SHARE)} % of each "
              f"user's training interactions, {hyp.primary}{per}{_search_desc(r.tuning)}): {r.tuned}"
              for r in res if r.tuned]
    reference = popularity_reference(p)
    notes += below_reference(cells, reference, hyp)
    sequential = adaptive.describe(hyp, looks) if hyp.adaptive is not None else None
    if sequential:
        notes.append(f"adaptive seeds: {sequential['stopped']}")
    spec = hyp.to_dict()
    spec["positives_run"] = list(p.variants)
    spec["split_run"] = p.split_desc
    spec["arm_sources"] = arm_sources(hyp)
    rid = results.run_id(hyp.id, dataset, spec, inter.fingerprint)
    prov = results.provenance(spec, inter.fingerprint, dataset)
    curves_doc = curves(res, hyp.primary)
    notes += convergence_notes(curves_doc, auto_patience(hyp))
    doc = summary.build(decision_hyp, rid, dataset, cells, verdict, data_summary(p), prov, notes, curves_doc,
                        reference, coverage(res), sequential, tuning_summary(res), ann=ann_summary(res, hyp))
    # Timings vary run to run: they go to provenance.json only, so summary.json is reproducible.
    prov_full = {**prov, "log": str(log_path), "n_jobs": n_jobs, "backend": backend, "wall_seconds": round(time.perf_counter() - t0, 1),
                 "tasks": [{"task": r.task.label(), "seconds": round(r.seconds, 3), "cached": r.cached} for r in res]}
    prov_full["finished"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")  # the index sorts runs by it

    def fill(tmp: Path) -> None:
        figs = report.figures(doc, per_user, tmp / "figures")
        results.write_parquet(tmp / "per_user.parquet", per_user)
        results.write_json(tmp / "summary.json", doc)
        results.write_json(tmp / "provenance.json", prov_full)
        (tmp / "report.md").write_text(report.render(doc, figs))
        if save_runs:
            write_runs(tmp / "runs", res, p, save_runs)

    run_dir = results.write_run(Path(results_dir) / hyp.id / rid, fill)
    fitted = sum(not r.cached for r in res)
    return RunOutcome(run_dir, rid, verdict, doc, fitted, len(res) - fitted)
