"""A hypothesis resolved against a loaded dataset, ready to run (:class:`Prepared`): the preflight checks
that fail before any training, each positive definition's evaluation data and segment memberships, the
(variant, arm, seed) tasks, and the ``data`` block of summary.json that describes them."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from harness.runner import tasks as runner
from harness.design import features, feedback, leakage, segments
from harness.evaluation import items as item_eval
from harness.data.base import Interactions
from harness.errors import HarnessError
from harness.design.prepare import EvalData, prepare
from harness.spec import ROLLING_KINDS, Hypothesis, Split
from harness.design.split import fold_windows, split


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
    warnings: tuple[str, ...] = ()
    leakage: dict = field(default_factory=dict)
    folds: tuple["Prepared", ...] = ()
    fold_labels: tuple[str, ...] = ()
    fold_windows: tuple[tuple[float, float], ...] = ()

    @property
    def metrics(self) -> tuple[str, ...]:
        """The hypothesis' metrics, primary first (the learning-curve metric)."""
        return (self.hyp.primary,) + tuple(m for m in self.hyp.metrics if m != self.hyp.primary)

    @property
    def task_data(self) -> dict:
        """What :func:`harness.runner.tasks.execute` looks tasks up in (by :attr:`Task.key`): variant -> data,
        or for rolling folds (variant, fold) -> that fold's data."""
        if not self.folds:
            return self.data
        return {(v, f): d for f, fp in enumerate(self.folds) for v, d in fp.data.items()}

    @property
    def context(self) -> str:
        """Text hashed into every task's cache key: the data, split, metrics and evaluated-unit policy
        (the direction and cold users only when not the default, so existing cache keys stay as they were)."""
        direction = "|item_to_users" if self.hyp.direction == "item_to_users" else ""
        cold = "|cold_users" if self.hyp.cold_users else ""  # other users are evaluated: other per-user results
        return f"{self.inter.fingerprint}|{self.split_desc}|{','.join(self.metrics)}{direction}{cold}"


def prepare_hypothesis(hyp: Hypothesis, inter: Interactions) -> Prepared:
    """Resolve positives and split, build each variant's data and the segment memberships; ``warnings``
    holds what undercuts the verdict: replaced positives, a leakage-prone split, a segment whose
    threshold ties moved its share far from the one asked for.

    A ``rolling`` split is prepared once per fold (segments from that fold's training data); the result
    describes the last fold (its ``data``, ``masks``, leakage audit) and holds every fold in ``folds``."""
    variants, note = feedback.resolve(hyp.positives, inter.events, inter.default_positives,
                                      explicit=hyp.explicit_positives)
    if hyp.direction == "item_to_users" and note:
        lacking = sorted(set().union(*(feedback.columns(e) for e in hyp.positives)) - set(inter.events.columns))
        raise HarnessError(f"hypothesis {hyp.id}: direction='item_to_users' needs the engagement column(s) "
                           f"{', '.join(lacking)} of its positives {list(hyp.positives)}, which dataset "
                           f"{inter.name!r} lacks; use a VK-LSVD-layout dataset (e.g. --dataset synthetic-vk)")
    spec = hyp.split or inter.default_split
    if spec.kind not in ROLLING_KINDS:
        return _prepare_split(hyp, inter, variants, note, spec, None)
    for arm in hyp.arms:
        if arm.kind == "runs":
            raise HarnessError(f"arm {arm.name!r} (kind 'runs'): precomputed run files rank one test window, not "
                               "the test windows of rolling-origin folds; set split=Split.global_time(...) in the "
                               "hypothesis (or drop --split rolling)")
    folds = tuple(_prepare_split(hyp, inter, variants, note, spec, f) for f in range(spec.folds))
    windows = tuple(fold_windows(inter, spec))
    labels = tuple(spec.fold_label(f, w) for f, w in enumerate(windows))
    return replace(folds[-1], split_desc=spec.describe(), folds=folds, fold_labels=labels, fold_windows=windows,
                   notes=_merge([fp.notes for fp in folds], labels),
                   warnings=_merge([fp.warnings for fp in folds], labels))


def _merge(lines: list[tuple[str, ...]], labels: tuple[str, ...]) -> tuple[str, ...]:
    """Per-fold notes or warnings as one list: a line every fold has once, the others prefixed by their fold."""
    out: list[str] = []
    for label, fold in zip(labels, lines):
        for line in fold:
            text = line if all(line in other for other in lines) else f"fold {label}: {line}"
            if text not in out:
                out.append(text)
    return tuple(out)


def _prepare_split(hyp: Hypothesis, inter: Interactions, variants: list[str], note: str | None, spec: Split,
                   fold: int | None) -> Prepared:
    """:func:`prepare_hypothesis` for one split (``fold``: one fold of a ``rolling`` split, else None)."""
    notes: list[str] = feedback.missing_notes(variants, inter.events)
    warnings = [note] if note else []
    sp = split(inter, spec, fold)
    if sp.warning:
        warnings.append(sp.warning)
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
                warnings.append(f"positives {v!r}: {info[(v, seg.name)].warning}")
    if any("item_features" in a.kwargs for a in hyp.arms) and inter.item_content is not None:
        notes.append(f"item content: {inter.content_desc}")
    audit = leakage.audit(inter, sp.train, sp.test, data)
    if leakage.warning(audit, spec):
        warnings.append(leakage.warning(audit, spec))
    for m in hyp.metrics:
        if m.startswith("ild@"):
            notes.append(f"{m}: mean pairwise cosine distance of " +
                         (f"the item content ({inter.content_desc}), the same vectors for every arm"
                          if inter.item_content is not None else
                          "each arm's own item factors (the data has no item content), so arms are not on a common scale"))
    return Prepared(hyp, inter, tuple(variants), data, masks, tuple(notes), sp.description, sp.counts, info,
                    tuple(warnings), audit.to_dict())


def check_content(hyp: Hypothesis, inter: Interactions) -> None:
    """Fail before any training when an arm asks for item content the data does not have, or a metric
    needs item categories (``calibration``) the data does not have."""
    from harness.evaluation.users import is_categories

    for m in hyp.metrics:
        if m.startswith("calibration@") and not is_categories(inter.item_content):
            raise HarnessError(f"metric {m}: dataset {inter.name!r} has no item categories (calibration needs 0/1 "
                               f"multi-hot item content such as MovieLens genres; it has "
                               f"{inter.content_desc or 'no item content'}); drop {m} or give --item-features FILE "
                               "with a '|'-separated category column")
    for arm in hyp.arms:
        if features.uses_content(arm.kwargs.get("item_features")) and inter.item_content is None:
            raise HarnessError(f"arm {arm.name!r} uses item_features={arm.kwargs['item_features']!r}, but dataset "
                               f"{inter.name!r} has no item content; for a tabular file give --item-features FILE "
                               "(the item column plus numeric or '|'-separated columns, e.g. MovieLens movies.csv)")


def check_attributes(hyp: Hypothesis, inter: Interactions) -> None:
    """Fail before any training when a ``Decision.no_disparity`` names a user metadata column the data lacks,
    or the hypothesis ranks users for items (the groups are user groups)."""
    for _, d in hyp.decisions:
        if d.rule != "no_disparity":
            continue
        if hyp.unit == "items":
            raise HarnessError("decision no_disparity compares user groups; it does not apply to "
                               "direction='item_to_users'")
        meta = inter.user_meta
        if meta is None or d.attribute not in meta.columns:
            have = [] if meta is None else [str(c) for c in meta.columns]
            raise HarnessError(f"decision no_disparity: dataset {inter.name!r} has no user metadata column "
                               f"{d.attribute!r} (available: {', '.join(have) or 'none'}); fix attribute=")


def check_exposure_groups(hyp: Hypothesis, inter: Interactions) -> None:
    """Fail before any training when ``exposure_groups`` names an item column the data lacks."""
    col = hyp.exposure_groups
    if col is None:
        return
    if col == "categories":
        if inter.item_content is None or not np.isin(inter.item_content, (0.0, 1.0)).all():
            raise HarnessError(f"exposure_groups='categories' needs 0/1 multi-hot item content (genres); dataset "
                               f"{inter.name!r} has {inter.content_desc or 'no item content'}; name an item "
                               "metadata column instead, e.g. exposure_groups='author_id'")
        return
    meta = inter.item_meta
    if meta is None or col not in meta.columns:
        have = [] if meta is None else [str(c) for c in meta.columns]
        raise HarnessError(f"exposure_groups: dataset {inter.name!r} has no item metadata column {col!r} "
                           f"(available: {', '.join(have + ['categories'] if inter.item_content is not None else have) or 'none'}); "
                           "fix exposure_groups=")


def user_attributes(hyp: Hypothesis, inter: Interactions, per_user: pd.DataFrame) -> pd.DataFrame:
    """``per_user`` with an ``attr_<column>`` column per no_disparity decision's user metadata column."""
    from harness.decision.analysis import attribute_column

    cols = {}
    for _, d in hyp.decisions:
        if d.rule == "no_disparity":
            cols[attribute_column(d.attribute)] = inter.user_meta[d.attribute].to_numpy()[
                per_user["user_index"].to_numpy()]
    return per_user.assign(**cols) if cols else per_user


def check_arm_data(p: Prepared) -> None:
    """Fail before any training when an arm module's optional ``check_data(params, train)`` rejects a
    variant's training data (e.g. more mixture components than training items)."""
    from harness.arms.registry import resolve

    for arm in p.hyp.arms:
        check = getattr(resolve(arm.kind).module, "check_data", None)
        if check is None:
            continue
        for d in p.task_data.values():
            try:
                check(arm.kwargs, d.train)
            except HarnessError as e:
                raise HarnessError(f"Arm {arm.name!r}: {e}") from None


def tasks_for(p: Prepared, seeds: tuple[int, ...] | None = None, threads: int = 1) -> list[runner.Task]:
    """Every (positives, arm, seed) task, for the hypothesis' seeds or ``seeds``, each fit with ``threads``
    (``--threads-per-task``); with rolling folds every (fold, positives, arm, seed)."""
    seeds = p.hyp.seeds if seeds is None else seeds
    if p.folds:
        return [runner.Task(v, arm, s, threads, fold=f) for f in range(len(p.folds)) for v in p.variants
                for arm in p.hyp.arms for s in seeds]
    return [runner.Task(v, arm, s, threads) for v in p.variants for arm in p.hyp.arms for s in seeds]


def data_summary(p: Prepared) -> dict:
    """summary.json's ``data`` block: sizes, split, content, each variant's counts and segments."""
    inter = p.inter
    if p.folds:  # the last fold's blocks, plus each fold's
        out = data_summary(replace(p, folds=()))
        out["folds"] = [{"fold": label, "test_window": [float(lo), float(hi) if np.isfinite(hi) else None], **{k: data_summary(fp)[k] for k in
                         ("split", "split_counts", "leakage", "variants", "segments")}}
                        for label, (lo, hi), fp in zip(p.fold_labels, p.fold_windows, p.folds)]
        return out
    segs = {v: {seg.name: int(p.masks[(v, seg.name)].sum()) for seg in p.hyp.segments} for v in p.variants}
    return {"n_users": inter.n_users, "n_items": inter.n_items, "n_events": int(len(inter.events)),
            "split": p.split_desc, "split_counts": p.split_counts, "content": inter.content_desc,
            "leakage": p.leakage,
            "variants": {v: dict(d.counts) for v, d in p.data.items()}, "segments": segs,
            "segment_info": {v: {seg.name: p.segment_info[(v, seg.name)].to_dict() for seg in p.hyp.segments}
                             for v in p.variants},
            "counts": {k: int(v) if isinstance(v, (int, np.integer)) else v for k, v in inter.counts.items()}}
