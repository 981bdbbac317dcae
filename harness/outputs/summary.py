"""summary.json: every number in the report, in a documented, versioned schema.

The schema lives in ``harness/schema/summary.schema.json``; ``SCHEMA_VERSION`` is bumped on any
incompatible change and ``migrate`` upgrades older files.
"""
from __future__ import annotations

import math
from typing import Any

from harness.decision.analysis import Cell
from harness.spec import Hypothesis
from harness.decision.verdict import Verdict

SCHEMA_VERSION = 1


def _num(x: Any) -> float | None:
    """JSON-safe float: NaN/inf become null."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _interval(r) -> dict | None:
    if r is None:
        return None
    return {"estimate": _num(r.estimate), "low": _num(r.ci.low), "high": _num(r.ci.high),
            "se": _num(r.standard_error), "method": r.method, "level": _num(r.confidence_level),
            "n_resamples": int(r.n_resamples)}


def _test(t) -> dict:
    return {"statistic": _num(t.statistic), "p": _num(t.pvalue), "n": int(t.n), "method": t.method,
            "min_attainable_p": _num(t.min_attainable_p), "n_zero": int(t.n_zero),
            "zero_share": _num(t.zero_share), "defined": bool(t.defined)}


def cell_dict(c: Cell) -> dict:
    """One (variant, segment, metric) cell as JSON."""
    out: dict[str, Any] = {"variant": c.variant, "segment": c.segment, "metric": c.metric,
                           "n_users": int(c.n_users), "n_seeds": int(c.n_seeds)}
    if c.empty:
        out["empty"] = True
        return out
    out.update({
        "empty": False,
        "mean_baseline": _num(c.mean_base), "mean_treatment": _num(c.mean_treat),
        "seed_means_baseline": [_num(x) for x in c.seed_means_base],
        "seed_means_treatment": [_num(x) for x in c.seed_means_treat],
        "delta": _interval(c.primary), "p_primary": _num(c.primary_p),
        "delta_user_only": _interval(c.user_ci), "relative_pct": _interval(c.relative),
        "tests": {k: _test(t) for k, t in c.tests.items()},
        "effects": {"mean_delta": _num(c.effects.mean_delta), "relative_delta_pct": _num(c.effects.relative_delta_pct),
                    "cohens_dz": _num(c.effects.cohens_dz), "rank_biserial": _num(c.effects.rank_biserial)},
        "seeds_agree": [int(c.seeds_agree[0]), int(c.seeds_agree[1])],
        "mde": _num(c.mde),
        "adjusted_p": {k: _num(v) for k, v in c.adjusted.items()},
        **({} if c.disparity is None else {"disparity": {
            "attribute": c.disparity.attribute, "groups": list(c.disparity.groups),
            "n_users": [int(x) for x in c.disparity.n_users], "mean_delta": [_num(x) for x in c.disparity.mean_delta],
            "difference": _interval(c.disparity.difference), "left_out": int(c.disparity.left_out)}}),
        "noise_floor": None if c.noise is None else {
            "seed_sd": _num(c.noise.seed_sd), "max_abs_mean": _num(c.noise.max_abs_mean),
            "share_ci_excludes_0": _num(c.noise.share_ci_excludes_0),
            "pairs": [{"seed_a": a, "seed_b": b, "mean_delta": _num(m), "low": _num(lo), "high": _num(hi),
                       "wilcoxon_p": _num(p)} for a, b, m, lo, hi, p in c.noise.pairs]},
    })
    if c.folds:
        out["folds"] = folds_dict(c)
    return out


def folds_dict(c: Cell) -> dict:
    """A rolling-origin cell's folds: tau (fold-to-fold SD) beside the seed SD, and per fold its label, users,
    mean delta and its own seed x user interval (``delta`` of the fold's cell) and weight in the combination."""
    r = c.primary
    weights = dict(zip([label for label, fc in c.folds if not fc.empty], r.weights))
    return {"tau": _num(r.tau), "tau2": _num(r.tau2), "seed_sd": _num(r.seed_sd),
            "agreement_p": _num(getattr(r, "agreement_p", float("nan"))),
            "per_fold": [{"fold": label, "n_users": int(fc.n_users), "empty": bool(fc.empty),
                          "mean_delta": None if fc.empty else _num(fc.primary.estimate),
                          "delta": None if fc.empty else _interval(fc.primary), "weight": _num(weights.get(label))}
                         for label, fc in c.folds]}


def build(hyp: Hypothesis, run_id: str, dataset: str, cells: list[Cell], verdict: Verdict, data: dict,
          provenance: dict, notes: list[str], curves: dict | None = None, reference: dict | None = None,
          coverage: dict | None = None, sequential: dict | None = None, tuning: dict | None = None,
          ann: dict | None = None, warnings: list[str] | None = None, exposure: dict | None = None,
          group_exposure: dict | None = None) -> dict:
    """The whole summary.json document (``sequential``: the adaptive-seeds looks, when seeds were adaptive;
    ``tuning``: the searches on the validation window, when an arm has ``grid=`` or ``tune=``; ``ann``:
    approximate-search quality, when an arm has ``ann=``; ``exposure``: catalogue exposure per (arm, seed) with
    a t interval over seeds, when the hypothesis names a beyond-accuracy metric; ``group_exposure``: each
    item group's share of exposure, with ``exposure_groups``; ``warnings``: what undercuts the verdict, one
    line each, shown beside it)."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "hypothesis": {"id": hyp.id, "claim": hyp.claim, "primary": hyp.primary, "target": hyp.target_segment,
                       "decisions": [{"segment": s, **d.to_dict()}
                                     for s, d in hyp.decisions],
                       "alpha": hyp.alpha,
                       "baseline": hyp.baseline.name, "treatment": hyp.treatment.name,
                       "correction": hyp.correction,
                       # only for items, so user-direction summaries stay byte-identical
                       **({"unit": hyp.unit, "direction": hyp.direction} if hyp.unit != "users" else {})},
        "dataset": dataset,
        "verdict": {"status": verdict.status, "reason": verdict.reason,
                    "variants": [{"variant": v.variant, "segment": v.cell.segment, "status": v.status, "reason": v.reason,
                                  # only for decisions on another metric than the primary (Decision.all_of)
                                  **({"metric": v.cell.metric} if v.cell.metric != hyp.primary else {}),
                                  # only with rolling-origin folds: the decision applied to each fold's interval
                                  **({"folds": {"holds": v.holds[0], "of": v.holds[1],
                                                "statuses": list(v.fold_statuses)}} if v.fold_statuses else {})}
                                 for v in verdict.variants]},
        "warnings": list(warnings or []),
        "cells": [cell_dict(c) for c in cells],
        "data": data,
        "notes": list(notes),
        "curves": curves or {},
        "reference": reference or {},
        "coverage": coverage or {},
        "provenance": provenance,
    }
    if sequential is not None:
        doc["sequential"] = sequential
    if tuning:
        doc["tuning"] = _json_safe(tuning)
    if ann:
        doc["ann"] = _json_safe(ann)
    if exposure:
        doc["exposure"] = _json_safe(exposure)
    if group_exposure:
        doc["group_exposure"] = _json_safe(group_exposure)
    return doc


def _json_safe(x: Any) -> Any:
    """Nested dict/list with NaN/inf floats as null."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return _num(x) if isinstance(x, float) else x


def migrate(doc: dict) -> dict:
    """Upgrade an older summary.json to ``SCHEMA_VERSION`` (version 1 is the first)."""
    v = doc.get("schema_version")
    if v == SCHEMA_VERSION:
        return doc
    from harness.errors import HarnessError

    raise HarnessError(f"summary.json schema_version {v!r} is not supported (this harness writes "
                       f"{SCHEMA_VERSION}); re-run the hypothesis to regenerate it")
