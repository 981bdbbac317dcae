"""A hypothesis: two arms, data, segments, metrics and a decision, validated together (:class:`Hypothesis`)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from harness.errors import HarnessError, suggest
from harness.spec import _numbers as num
from harness.spec.arm import Arm
from harness.spec.decision import AllOf, Decision
from harness.spec.metric import BEYOND_ACCURACY, parse_metric
from harness.spec.seeds import Seeds
from harness.spec.segment import Segment
from harness.spec.split import ROLLING_KINDS, Split

#: Units of analysis: users ranking items (default) or items ranking users (cold-item audiences).
DIRECTIONS = ("user_to_items", "item_to_users")
CORRECTIONS = ("holm", "fdr_bh", "bonferroni", "none")
#: The most bootstrap / randomization resamples per cell (time grows linearly with them; 2000 is the default).
MAX_BOOT = 1_000_000


@dataclass(frozen=True)
class Hypothesis:
    """A declarative hypothesis: two arms, datasets, positives, segments, metrics and a decision.

    Attributes
    ----------
    id : short id like ``"H1"``; unique across ``hypotheses/``.
    claim : one sentence, shown at the top of the report.
    dataset : default dataset name (overridable with ``--dataset``).
    positives : positive definitions (see :mod:`harness.design.feedback`); each is its own variant.
    baseline, treatment : the two arms compared (delta = treatment - baseline).
    segments : user segments; ``target`` (default: the first) is the one the claim is about; a tuple of
        names means the claim must hold in each.
    metrics : ``name@k`` strings; ``primary`` is the one the decision uses.
    seeds : training seeds; every arm is trained once per seed. Or ``Seeds.adaptive(start, step, max)``:
        seeds ``0 .. max - 1`` trained in rounds until the verdict is decided (``adaptive`` holds the
        plan, ``seeds`` all seeds the plan may use).
    decision : the rule that turns statistics into a verdict, or a mapping ``{segment: Decision}``
        for claims that differ by segment (its keys are then the target segments).
    split : overrides the dataset's default split when given.
    correction : multiple-comparison correction across variants x segments x metrics.
    direction : ``"user_to_items"`` (default: units are users, each ranking items) or
        ``"item_to_users"`` (units are items, each ranking users: per-item metrics, item segments
        such as :meth:`Segment.cold_items`; see :mod:`harness.evaluation.items`).
    cold_users : False (default): users without training positives are not evaluated (the report
        counts them); True: users with no training interaction at all but a relevant test item are
        evaluated too (in ``Segment.history_bucket(0, 1)``), for arms that score users from metadata.
    explicit_positives : True when ``positives`` were given for this run (``--positives``): a definition
        that reads a column the data lacks is then an error, never replaced by the dataset's default.
        Not part of the resolved spec (the run id): it changes what fails, not what is computed.
    exposure_groups : an item group column for the group exposure shares (provider/group fairness): an
        item metadata column (``"author_id"``: more than 12 values are bucketed into popularity quintiles
        of the providers) or ``"categories"`` (the multi-hot item content, e.g. MovieLens genres; an item
        in several counts equally to each). Needs a beyond-accuracy metric in ``metrics`` (see
        :func:`harness.evaluation.exposure.item_groups`).
    """

    id: str
    claim: str
    dataset: str
    positives: tuple[str, ...]
    baseline: Arm
    treatment: Arm
    segments: tuple[Segment, ...]
    metrics: tuple[str, ...]
    primary: str
    seeds: tuple[int, ...]
    decision: Decision | AllOf | Mapping[str, Decision | AllOf]
    split: Split | None = None
    target: str | tuple[str, ...] | None = None
    correction: str = "holm"
    n_boot: int = 2000
    notes: str = ""
    adaptive: Seeds | None = None
    direction: str = "user_to_items"
    cold_users: bool = False
    explicit_positives: bool = False
    exposure_groups: str | None = None

    def __post_init__(self) -> None:
        where = f"hypothesis {self.id!r}"
        if not isinstance(self.cold_users, bool):
            raise HarnessError(f"{where}: field 'cold_users' must be True or False, got {self.cold_users!r}")
        if not isinstance(self.explicit_positives, bool):
            raise HarnessError(f"{where}: field 'explicit_positives' must be True or False, got "
                               f"{self.explicit_positives!r}")
        if isinstance(self.seeds, Seeds):
            object.__setattr__(self, "adaptive", self.seeds)
            object.__setattr__(self, "seeds", tuple(range(self.seeds.max)))
        if self.adaptive is not None and not isinstance(self.adaptive, Seeds):
            raise HarnessError(f"{where}: field 'adaptive' must be Seeds.adaptive(...)")
        if self.adaptive is not None and len(self.seeds) != self.adaptive.max:
            object.__setattr__(self, "seeds", tuple(range(self.adaptive.max)))
        if not isinstance(self.id, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", self.id):
            raise HarnessError(f"hypothesis id {self.id!r} must start with a letter, e.g. 'H1'")
        for fname in ("positives", "segments", "metrics", "seeds"):
            val = getattr(self, fname)
            if isinstance(val, (str, Segment)):
                val = (val,)
            try:
                val = tuple(val)
            except TypeError:
                raise HarnessError(f"{where}: field {fname!r} must be a list, got {type(val).__name__}") from None
            object.__setattr__(self, fname, val)
        if not self.claim:
            raise HarnessError(f"{where}: field 'claim' is empty; state the claim in one sentence")
        if not self.positives:
            raise HarnessError(f"{where}: field 'positives' is empty; give at least one, e.g. 'rating>=4'")
        for arm_field in ("baseline", "treatment"):
            if not isinstance(getattr(self, arm_field), Arm):
                raise HarnessError(f"{where}: field {arm_field!r} must be an Arm(...)")
        if self.baseline.name == self.treatment.name:
            raise HarnessError(f"{where}: baseline and treatment are both named {self.baseline.name!r}; "
                               "give them distinct names")
        if not self.segments:
            raise HarnessError(f"{where}: field 'segments' is empty; use [Segment.all()] at least")
        for s in self.segments:
            if not isinstance(s, Segment):
                raise HarnessError(f"{where}: unknown segment {s!r}; use Segment.all(), "
                                   "Segment.activity_quantile(0.7), Segment.history_bucket(...), ...")
        if self.direction not in DIRECTIONS:
            raise HarnessError(f"{where}: direction " + suggest(str(self.direction), DIRECTIONS, "direction"))
        items = self.direction == "item_to_users"
        if items and self.cold_users:
            raise HarnessError(f"{where}: cold_users=True evaluates users without training history, but "
                               "direction='item_to_users' ranks users by their history; drop cold_users")
        for s in self.segments:
            if s.kind != "all" and s.over_items != items:
                fix = ("use item segments (Segment.cold_items(), Segment.item_popularity(...), Segment.item_meta(...))"
                       if items else "set direction='item_to_users' or use user segments")
                raise HarnessError(f"{where}: segment {s.name!r} ({s.kind}) is over "
                                   f"{'items' if s.over_items else 'users'} but direction={self.direction!r}; {fix}")
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise HarnessError(f"{where}: duplicate segment names {names}")
        if not self.metrics:
            raise HarnessError(f"{where}: field 'metrics' is empty; e.g. ['ndcg@10']")
        for m in self.metrics:
            parse_metric(m, where=f"{where}: metrics")
        object.__setattr__(self, "metrics", tuple(str(m).strip().lower() for m in self.metrics))
        if items and any(parse_metric(m)[0] in BEYOND_ACCURACY for m in self.metrics):
            raise HarnessError(f"{where}: metrics {'/'.join(BEYOND_ACCURACY)} describe users' lists; with "
                               "direction='item_to_users' use accuracy metrics such as ndcg@100, recall@100")
        if self.exposure_groups is not None:
            if not isinstance(self.exposure_groups, str) or not self.exposure_groups.strip():
                raise HarnessError(f"{where}: field 'exposure_groups' must be an item column name, e.g. "
                                   f"'author_id' or 'categories', got {self.exposure_groups!r}")
            if items or not any(parse_metric(m)[0] in BEYOND_ACCURACY for m in self.metrics):
                raise HarnessError(f"{where}: exposure_groups={self.exposure_groups!r} needs a user-direction "
                                   f"hypothesis with a beyond-accuracy metric in metrics ({'/'.join(BEYOND_ACCURACY)}"
                                   "), e.g. aplt@10")
        primary = str(self.primary).strip().lower()
        parse_metric(primary, where=f"{where}: primary")
        if primary not in self.metrics:
            raise HarnessError(f"{where}: primary {primary!r} is not in metrics {list(self.metrics)}; add it")
        object.__setattr__(self, "primary", primary)
        for arm in (self.baseline, self.treatment):
            if "ann" in dict(arm.params):  # ef >= k needs the metrics (harness.spec.ann)
                from harness.spec.ann import parse as parse_ann

                parse_ann(arm.kwargs["ann"], arm.name, kmax=max(parse_metric(m)[1] for m in self.metrics))
        if not self.seeds:
            raise HarnessError(f"{where}: field 'seeds' is empty; give at least one seed, e.g. range(5)")
        object.__setattr__(self, "seeds", tuple(num.seed(s, f"{where}: seed") for s in self.seeds))
        if len(set(self.seeds)) != len(self.seeds):
            raise HarnessError(f"{where}: seeds contain duplicates: {list(self.seeds)}")
        if isinstance(self.decision, Mapping):
            if not self.decision:
                raise HarnessError(f"{where}: field 'decision' is an empty mapping; map segment names to Decisions")
            object.__setattr__(self, "decision", tuple(sorted(self.decision.items(), key=lambda kv: names.index(kv[0])
                                                              if kv[0] in names else -1)))
        if isinstance(self.decision, tuple):
            for seg, dec in self.decision:
                if seg not in names:
                    raise HarnessError(f"{where}: decision for " + suggest(seg, names, "segment"))
                if not isinstance(dec, (Decision, AllOf)):
                    raise HarnessError(f"{where}: decision for segment {seg!r} must be a Decision, e.g. "
                                       "Decision.not_worse(0.01)")
            if self.target is not None:
                raise HarnessError(f"{where}: give either 'target' or a per-segment 'decision' mapping, not both")
        elif not isinstance(self.decision, (Decision, AllOf)):
            raise HarnessError(f"{where}: field 'decision' must be a Decision, e.g. Decision.not_better(0.002)")
        for _, dec in self.decisions:
            if dec.metric is not None and dec.metric not in self.metrics:
                raise HarnessError(f"{where}: decision metric " + suggest(dec.metric, list(self.metrics), "metric")
                                   + " (a decision's metric must be one of the hypothesis' metrics)")
        if isinstance(self.target, list):
            object.__setattr__(self, "target", tuple(self.target))
        for t in (self.target,) if isinstance(self.target, str) else (self.target or ()):
            if t not in names:
                raise HarnessError(f"{where}: target " + suggest(t, names, "segment"))
        if self.correction not in CORRECTIONS:
            raise HarnessError(f"{where}: correction " + suggest(self.correction, CORRECTIONS, "correction"))
        if self.split is not None and not isinstance(self.split, Split):
            raise HarnessError(f"{where}: field 'split' must be a Split, e.g. Split.leave_last(10)")
        if isinstance(self.n_boot, (int, float)) and not isinstance(self.n_boot, bool) and self.n_boot < 100:
            raise HarnessError(f"{where}: n_boot={self.n_boot} is too small; use >= 1000")
        num.integer(self.n_boot, f"{where}: n_boot", low=100, high=MAX_BOOT, example="2000")

    @property
    def decisions(self) -> tuple[tuple[str, Decision], ...]:
        """(target segment, decision) pairs the verdict is made of; an :class:`AllOf` gives one pair per part."""
        if isinstance(self.decision, tuple):
            pairs = self.decision
        else:
            targets = (self.target,) if isinstance(self.target, str) else (self.target or (self.segments[0].name,))
            pairs = tuple((t, self.decision) for t in targets)
        return tuple((seg, part) for seg, d in pairs for part in d.parts)

    @property
    def target_segment(self) -> str:
        """The first segment the claim is about."""
        return self.decisions[0][0]

    @property
    def alpha(self) -> float:
        """The smallest alpha of the decisions (sets the level of every reported interval)."""
        return min(d.alpha for _, d in self.decisions)

    @property
    def arms(self) -> tuple[Arm, Arm]:
        return (self.baseline, self.treatment)

    def replace(self, **changes: Any) -> "Hypothesis":
        """A copy with fields changed (re-validated)."""
        from dataclasses import replace

        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain JSON-able data (hashed into the run id)."""
        return {
            "id": self.id, "claim": self.claim, "dataset": self.dataset,
            "positives": list(self.positives),
            "baseline": self.baseline.to_dict(), "treatment": self.treatment.to_dict(),
            "segments": [s.to_dict() for s in self.segments],
            "metrics": list(self.metrics), "primary": self.primary, "seeds": list(self.seeds),
            "decisions": [{"segment": seg, **d.to_dict()} for seg, d in self.decisions],
            "split": None if self.split is None else {"kind": self.split.kind, "test_from": self.split.test_from,
                                                      "n": self.split.n, "min_train": self.split.min_train,
                                                      "seed": self.split.seed,
                                                      **({"sample": self.split.sample} if self.split.sample else {}),
                                                      **({"folds": self.split.folds, "step": self.split.step,
                                                          "window": self.split.window}
                                                         if self.split.kind in ROLLING_KINDS else {})},
            "correction": self.correction, "n_boot": int(self.n_boot),
            **({"adaptive": self.adaptive.to_dict()} if self.adaptive is not None else {}),
            # only when not the default, so the run ids of user-direction hypotheses stay as they were
            **({"direction": self.direction} if self.direction != "user_to_items" else {}),
            **({"cold_users": True} if self.cold_users else {}),
            **({"exposure_groups": self.exposure_groups} if self.exposure_groups is not None else {}),
        }

    @property
    def unit(self) -> str:
        """The unit of analysis, plural: ``"users"`` or ``"items"``."""
        return "items" if self.direction == "item_to_users" else "users"
