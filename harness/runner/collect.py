"""summary.json's blocks gathered from the task results: catalogue coverage, learning curves, the
searches on the validation window and approximate-search quality."""
from __future__ import annotations

import numpy as np

from harness.runner import tasks as runner
from harness.runner.prepared import Prepared
from harness.spec import Hypothesis


def coverage(res: list[runner.TaskResult]) -> dict:
    """Catalogue coverage: variant -> arm -> coverage@k -> mean over seeds."""
    acc: dict = {}
    for r in res:
        for name, v in r.scores.coverage.items():
            acc.setdefault(r.task.variant, {}).setdefault(r.task.arm.name, {}).setdefault(name, []).append(v)
    return {v: {a: {k: float(np.mean(x)) for k, x in d.items()} for a, d in arms.items()} for v, arms in acc.items()}


def _over_seeds(seeds: dict, level: float) -> dict:
    """{seeds, mean, low, high, confidence_level}: the mean of per-seed values and its t interval over seeds
    on k - 1 df (:func:`harness.stats.over_seeds.seed_t_interval`; fewer than two finite values: no interval)."""
    from harness.stats.over_seeds import seed_t_interval

    x = np.array(list(seeds.values()), dtype=float)
    ok = np.isfinite(x)
    cell = {"seeds": seeds, "mean": float(x[ok].mean()) if ok.any() else float("nan"),
            "low": None, "high": None, "confidence_level": level}
    if ok.sum() >= 2:
        ci = seed_t_interval(x[ok], level).ci
        cell["low"], cell["high"] = ci.low, ci.high
    return cell


def _paired(by_arm: dict, hyp: Hypothesis) -> dict | None:
    """seed -> treatment - baseline for the seeds both arms have (None when either arm is missing)."""
    b, t = by_arm.get(hyp.baseline.name), by_arm.get(hyp.treatment.name)
    if b is None or t is None:
        return None
    return {s: t[s] - b[s] for s in t if s in b}


def exposure(res: list[runner.TaskResult], hyp: Hypothesis) -> dict:
    """Catalogue exposure: variant -> arm -> gini@k / entropy@k / poplift@k -> per-seed values, their mean and
    its t interval over seeds on k - 1 df (:func:`harness.stats.over_seeds.seed_t_interval`; one seed: no
    interval); the treatment's cells also hold ``delta``: treatment - baseline per seed (same seed) with its
    t interval over seeds. Empty when no task computed them (:func:`harness.runner.tasks.needs_exposure`)."""
    level = round(1 - hyp.alpha, 6)
    acc: dict = {}
    for r in sorted(res, key=lambda r: r.task.seed):
        for name, v in r.scores.exposure.items():
            acc.setdefault(r.task.variant, {}).setdefault(name, {}).setdefault(r.task.arm.name, {})[str(r.task.seed)] = v
    out: dict = {}
    for var, metrics in acc.items():
        for name, by_arm in metrics.items():
            for arm, seeds in by_arm.items():
                out.setdefault(var, {}).setdefault(arm, {})[name] = _over_seeds(seeds, level)
            d = _paired(by_arm, hyp)
            if d:
                out[var][hyp.treatment.name][name]["delta"] = _over_seeds(d, level)
    return out


def group_exposure(res: list[runner.TaskResult], p: Prepared) -> dict:
    """Group exposure shares (``Hypothesis.exposure_groups``): each item group's share of the rank-discounted
    exposure of every arm's top-k, per seed, mean and t interval over seeds, and the treatment - baseline
    difference of each share (same seed), t over seeds. Empty without ``exposure_groups``.

    ``{column, description, groups, confidence_level, rows: [{variant, arm, metric, group, seeds, mean, low,
    high}], deltas: [same, arm = "treatment - baseline"]}`` (:func:`harness.evaluation.exposure.item_groups`).
    """
    from harness.evaluation.exposure import group_shares, item_groups

    hyp, inter = p.hyp, p.inter
    col = hyp.exposure_groups
    if col is None:
        return {}
    level = round(1 - hyp.alpha, 6)
    weights: dict = {}
    acc: dict = {}
    for r in sorted(res, key=lambda r: r.task.seed):
        var = r.task.variant
        if var not in weights:
            seen = p.data[var].train.seen
            item_users = np.bincount(seen.indices, minlength=seen.shape[1])
            weights[var] = (item_groups(None, item_users, categories=inter.item_content,
                                        category_names=inter.content_names) if col == "categories"
                            else item_groups(inter.item_meta[col].to_numpy(), item_users))
        w, labels, desc = weights[var]
        for name, e in r.scores.item_exposure.items():
            shares = group_shares(e, w)
            for g, share in zip(labels, shares):
                acc.setdefault((var, name, g), {}).setdefault(r.task.arm.name, {})[str(r.task.seed)] = float(share)
    if not weights:
        return {}
    _, labels, desc = next(iter(weights.values()))
    rows, deltas = [], []
    for (var, name, g), by_arm in acc.items():
        for arm, seeds in by_arm.items():
            rows.append({"variant": var, "arm": arm, "metric": name, "group": g, **_over_seeds(seeds, level)})
        d = _paired(by_arm, hyp)
        if d:
            deltas.append({"variant": var, "arm": "treatment - baseline", "metric": name, "group": g,
                           **_over_seeds(d, level)})
    return {"column": col, "description": desc, "groups": list(labels), "confidence_level": level,
            "rows": rows, "deltas": deltas}


def curves(res: list[runner.TaskResult], metric: str) -> dict:
    """Learning curves: variant -> arm -> {metric, per-seed curves, mean over seeds, and for an
    ``epochs="auto"`` arm ``refit``: ``"full"`` (refitted on the whole training window) or ``"none"``
    (the inner model kept)} (epoch-trained arms)."""
    out: dict = {}
    for r in res:
        if r.curve is None:
            continue
        arm = out.setdefault(r.task.variant, {}).setdefault(r.task.arm.name, {"metric": metric, "seeds": {}})
        if r.task.arm.kwargs.get("epochs") == "auto":
            arm["refit"] = r.task.arm.kwargs.get("refit", "full")
        arm["seeds"][str(r.task.seed)] = [float(x) for x in r.curve]
    for arms in out.values():
        for a in arms.values():  # epochs="auto" stops seeds at different epochs: mean over those still running
            runs = list(a["seeds"].values())
            grid = np.full((len(runs), max(len(c) for c in runs)), np.nan)
            for i, c in enumerate(runs):
                grid[i, :len(c)] = c
            a["mean"] = [float(x) for x in np.nanmean(grid, axis=0)]
    return out


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
