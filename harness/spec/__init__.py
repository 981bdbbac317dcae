"""Frozen, validated specifications: a hypothesis and its parts.

Every constructor validates its input and raises :class:`~harness.errors.HarnessError` naming the
field and the fix, so a broken hypothesis file is reported by ``python -m harness list``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from harness.errors import HarnessError, suggest

#: Per-user metrics understood by :mod:`harness.evaluation.metrics` (used as ``name@k``): accuracy metrics, plus
#: ``novelty`` (mean self-information of the top-k) and ``avgpop`` (mean training popularity of the top-k).
#: Catalogue coverage@k of every arm is always reported beside them.
METRICS = ("ndcg", "recall", "precision", "map", "mrr", "hitrate", "novelty", "avgpop")
#: Decision rules understood by :mod:`harness.decision.verdict`.
RULES = ("better", "not_better", "not_worse", "equivalent")
_ARM_REF = re.compile(r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$")
SEGMENT_KINDS = ("all", "activity_quantile", "history_bucket", "meta", "new_returning",
                 "cold_items", "item_popularity", "item_meta")
#: Segment kinds over items (``direction="item_to_users"``); ``all`` fits both directions.
ITEM_SEGMENT_KINDS = ("cold_items", "item_popularity", "item_meta")
#: Units of analysis: users ranking items (default) or items ranking users (cold-item audiences).
DIRECTIONS = ("user_to_items", "item_to_users")
#: Where users exactly at an activity-quantile threshold go (see :meth:`Segment.activity_quantile`).
TIE_RULES = ("above", "below", "random")
CORRECTIONS = ("holm", "fdr_bh", "bonferroni", "none")
SPLIT_KINDS = ("global_time", "leave_last", "order", "random", "cold_items")
_METRIC_RE = re.compile(r"^([a-z]+)@(-?\d+)$")


def parse_metric(text: str, where: str = "metrics") -> tuple[str, int]:
    """Split ``"ndcg@10"`` into ``("ndcg", 10)``; raise a one-line error for anything else."""
    m = _METRIC_RE.match(str(text).strip().lower())
    if not m:
        raise HarnessError(f"{where}: bad metric {text!r}; write it as name@k, e.g. 'ndcg@10' "
                           f"(names: {', '.join(METRICS)})")
    name, k = m.group(1), int(m.group(2))
    if name not in METRICS:
        raise HarnessError(f"{where}: " + suggest(name, METRICS, "metric"))
    if k <= 0:
        raise HarnessError(f"{where}: metric {text!r} has k={k}; k must be a positive integer")
    return name, k


class _FrozenList(tuple):
    """A list inside a dict parameter (a ``grid`` or ``tune`` spec), frozen: comes back as a list."""


class _FrozenDict(tuple):
    """A dict parameter (``grid``, ``tune``) frozen as sorted-by-declaration ``(key, value)`` pairs."""


def _deep_freeze(v: Any) -> Any:
    """Hashable form of a nested dict value: dicts keep declaration order, lists stay distinct from
    tuples (in a ``tune`` space a list is categorical, a tuple a range)."""
    if isinstance(v, dict):
        return _FrozenDict((k, _deep_freeze(x)) for k, x in v.items())
    if isinstance(v, list):
        return _FrozenList(_deep_freeze(x) for x in v)
    if isinstance(v, tuple):
        return tuple(_deep_freeze(x) for x in v)
    return v


def _thaw(v: Any) -> Any:
    if isinstance(v, _FrozenDict):
        return {k: _thaw(x) for k, x in v}
    if isinstance(v, _FrozenList):
        return [_thaw(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_thaw(x) for x in v)
    return v


def _freeze(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    out = []
    for k, v in sorted(params.items()):
        if isinstance(v, list):
            v = tuple(v)
        elif isinstance(v, dict):  # a tuning grid / tune spec: keep declaration order
            if k == "grid":  # grid values are lists of candidates, whatever they were written as
                v = {gk: list(gv) if isinstance(gv, tuple) else gv for gk, gv in v.items()}
            v = _deep_freeze(v)
        out.append((k, v))
    return tuple(out)


@dataclass(frozen=True)
class Arm:
    """One model configuration: ``Arm("cf", "lightfm", loss="bpr", no_components=64)``.

    Attributes
    ----------
    name : label used in reports and per_user.parquet.
    kind : model family: a registered name (built-in ``als``, ``lightfm``, ... or a package's
        ``harness.arms`` entry point), ``"module:function"`` or ``"path/file.py:function"`` (relative to
        the hypothesis file); resolved when the hypothesis loads (:mod:`harness.arms.registry`).
    params : hyper-parameters, passed to ``harness.arms.<kind>.fit`` (sorted, hashable). The reserved
        ``grid={"param": [values, ...]}`` and ``tune={"space": {...}, ...}`` (optuna) ask for tuning on
        a validation window inside the training data (see :mod:`harness.runner.tuning.window`).
    """

    name: str
    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    def __init__(self, name: str, kind: str, **params: Any) -> None:
        if not isinstance(name, str) or not name:
            raise HarnessError("Arm.name must be a non-empty string, e.g. Arm('cf', 'lightfm')")
        if not isinstance(kind, str) or not kind.strip() or (":" in kind and not _ARM_REF.match(kind)):
            raise HarnessError(f"Arm {name!r}: kind {kind!r} must be an arm name ('als'), 'module:function' "
                               "or 'file.py:function', e.g. './models/mine.py:fit'")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "params", _freeze(params))

    @property
    def kwargs(self) -> dict[str, Any]:
        """The parameters as a plain dict (a ``grid`` comes back as a dict of lists, a ``tune`` spec as
        written)."""
        return {k: _thaw(v) for k, v in self.params}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "params": {k: _jsonable(v) for k, v in self.kwargs.items()}}


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    return v


@dataclass(frozen=True)
class Segment:
    """A named subset of evaluated users, computed from training data only.

    Use the constructors: :meth:`all`, :meth:`activity_quantile`, :meth:`history_bucket`,
    :meth:`meta`, :meth:`new_returning`.
    """

    name: str
    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in SEGMENT_KINDS:
            raise HarnessError(f"Segment {self.name!r}: " + suggest(self.kind, SEGMENT_KINDS, "segment kind"))
        if not self.name:
            raise HarnessError("Segment name must be non-empty")

    @classmethod
    def all(cls, name: str = "all") -> "Segment":
        """Every evaluated user."""
        return cls(name, "all")

    @classmethod
    def activity_quantile(cls, q: float, name: str = "dense", above: bool = True, ties: str = "above",
                          seed: int = 0) -> "Segment":
        """Users above (``above=True``: the top ``1 - q`` share) or below the ``q`` quantile of
        training positives among active training users.

        ``ties`` says where users exactly at the threshold go (on data where many users share one
        activity count, e.g. a cap of 50 items, that decides the segment): ``"above"`` (the default:
        members of an ``above`` segment), ``"below"``, or ``"random"`` (a seeded random subset of them
        goes above, so that the share of active users above is as close to ``1 - q`` as ties allow).
        The report shows each segment's realised share and warns when it is far from the requested one.
        """
        if not 0.0 < float(q) < 1.0:
            raise HarnessError(f"Segment {name!r}: quantile q={q} must be strictly between 0 and 1, e.g. 0.7")
        if ties not in TIE_RULES:
            raise HarnessError(f"Segment {name!r}: " + suggest(str(ties), TIE_RULES, "ties rule"))
        extra = (("seed", int(seed)),) if ties == "random" else ()
        extra += (("ties", ties),) if ties != "above" else ()
        return cls(name, "activity_quantile", (("above", bool(above)), ("q", float(q))) + extra)

    @classmethod
    def history_bucket(cls, low: int, high: int | None, name: str) -> "Segment":
        """Users with ``low <= n_train_positives < high`` (``high=None``: no upper bound)."""
        if low < 0 or (high is not None and high <= low):
            raise HarnessError(f"Segment {name!r}: need 0 <= low < high, got low={low}, high={high}")
        return cls(name, "history_bucket", (("high", high), ("low", int(low))))

    @classmethod
    def meta(cls, column: str, values: Iterable[Any], name: str) -> "Segment":
        """Users whose metadata ``column`` takes one of ``values`` (e.g. gender, age band)."""
        return cls(name, "meta", (("column", column), ("values", tuple(values))))

    @classmethod
    def new_returning(cls, returning: bool, name: str) -> "Segment":
        """Users whose first training interaction is in the last training period (new) or not."""
        return cls(name, "new_returning", (("returning", bool(returning)),))

    @classmethod
    def cold_items(cls, name: str = "cold") -> "Segment":
        """Items with no training interaction (``direction="item_to_users"``)."""
        return cls(name, "cold_items")

    @classmethod
    def item_popularity(cls, low: int, high: int | None, name: str) -> "Segment":
        """Items with ``low <= training users < high`` (``high=None``: no upper bound; item direction)."""
        if isinstance(low, bool) or not isinstance(low, int) or low < 0 or \
                (high is not None and (not isinstance(high, int) or high <= low)):
            raise HarnessError(f"Segment {name!r}: item_popularity needs integers 0 <= low < high, "
                               f"got low={low!r}, high={high!r}")
        return cls(name, "item_popularity", (("high", high), ("low", int(low))))

    @classmethod
    def item_meta(cls, column: str, name: str, values: Iterable[Any] | None = None, low: float | None = None,
                  high: float | None = None) -> "Segment":
        """Items whose metadata ``column`` takes one of ``values`` (e.g. an author), or lies in
        ``[low, high)`` (e.g. a duration bucket; either bound may be None). Item direction."""
        if (values is None) == (low is None and high is None):
            raise HarnessError(f"Segment {name!r}: item_meta needs either values=[...] or low=/high= bounds "
                               "(e.g. Segment.item_meta('duration', 'short', high=15))")
        if values is not None:
            return cls(name, "item_meta", (("column", column), ("values", tuple(values))))
        if low is not None and high is not None and not float(high) > float(low):
            raise HarnessError(f"Segment {name!r}: item_meta needs low < high, got low={low}, high={high}")
        return cls(name, "item_meta", (("column", column), ("high", None if high is None else float(high)),
                                       ("low", None if low is None else float(low))))

    @property
    def over_items(self) -> bool:
        """True for item segments (``direction="item_to_users"``)."""
        return self.kind in ITEM_SEGMENT_KINDS

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "params": {k: _jsonable(v) for k, v in self.params}}


@dataclass(frozen=True)
class Decision:
    """The declared decision rule; evaluated in :mod:`harness.decision.verdict`.

    Attributes
    ----------
    rule : ``better`` (treatment - baseline > margin), ``not_better`` (non-superiority: effect < margin),
        ``not_worse`` (non-inferiority: effect > -margin), ``equivalent`` (|effect| < margin, TOST).
    margin : non-negative, in metric units (e.g. 0.002 NDCG).
    alpha : the decision uses the two-sided ``1 - alpha`` seed x user interval of the effect
        (conservative for the one-sided rules); see :mod:`harness.decision.verdict`.
    """

    rule: str
    margin: float
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise HarnessError("decision: " + suggest(self.rule, RULES, "decision rule"))
        if not isinstance(self.margin, (int, float)) or self.margin != self.margin:
            raise HarnessError(f"decision.margin must be a number, got {self.margin!r}")
        if self.margin < 0:
            raise HarnessError(f"decision.margin={self.margin} is negative; margins are magnitudes in metric "
                               f"units (the rule sets the direction): use {abs(self.margin)}")
        if self.rule == "equivalent" and self.margin == 0:
            raise HarnessError("decision: equivalent(margin) needs margin > 0")
        if not 0.0 < self.alpha < 0.5:
            raise HarnessError(f"decision.alpha={self.alpha} must be in (0, 0.5), e.g. 0.05")

    @classmethod
    def better(cls, margin: float = 0.0, alpha: float = 0.05) -> "Decision":
        return cls("better", margin, alpha)

    @classmethod
    def not_better(cls, margin: float, alpha: float = 0.05) -> "Decision":
        return cls("not_better", margin, alpha)

    @classmethod
    def not_worse(cls, margin: float, alpha: float = 0.05) -> "Decision":
        return cls("not_worse", margin, alpha)

    @classmethod
    def equivalent(cls, margin: float, alpha: float = 0.05) -> "Decision":
        return cls("equivalent", margin, alpha)


@dataclass(frozen=True)
class Split:
    """How interactions are divided into train and test.

    ``global_time``: train = ``time < test_from``, test = ``time >= test_from`` (VK-LSVD weeks, KION days).
    ``leave_last``: per user, the last ``n`` interactions by time are test; users need ``min_train``
    training interactions.
    ``order``: the same by file order, for data without a time column (the loader's ``time`` is then
    the row number; ``--split order``).
    ``random``: per user, ``n`` interactions drawn with ``seed`` are test (no time order; ``--split random``).
    ``cold_items``: ``global_time`` where items first seen at ``time >= test_from`` are cold, plus a
    seeded share ``sample`` of the test window's other items whose training rows are removed
    (:meth:`cold_items`), so only content can score them.
    """

    kind: str
    test_from: float | None = None
    n: int | None = None
    min_train: int = 1
    seed: int = 0
    sample: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in SPLIT_KINDS:
            raise HarnessError("split: " + suggest(self.kind, SPLIT_KINDS, "split kind"))
        timed = self.kind in ("global_time", "cold_items")
        if not timed and (self.n is None or self.n <= 0):
            raise HarnessError(f"split: {self.kind} needs n > 0, got {self.n}")
        if timed and self.test_from is None:
            raise HarnessError(f"split: {self.kind} needs test_from")
        if not 0.0 <= float(self.sample) < 1.0 or (self.sample and self.kind != "cold_items"):
            raise HarnessError(f"split: sample={self.sample} must be in [0, 1) and only goes with "
                               "Split.cold_items(test_from, sample=0.2)")

    @classmethod
    def global_time(cls, test_from: float) -> "Split":
        return cls("global_time", test_from=test_from)

    @classmethod
    def leave_last(cls, n: int, min_train: int = 1) -> "Split":
        return cls("leave_last", n=n, min_train=min_train)

    @classmethod
    def file_order(cls, n: int, min_train: int = 1) -> "Split":
        """Per user, the last ``n`` interactions in file order are test (data without times)."""
        return cls("order", n=n, min_train=min_train)

    @classmethod
    def random(cls, n: int, seed: int = 0, min_train: int = 1) -> "Split":
        """Per user, ``n`` interactions drawn with ``seed`` are test."""
        return cls("random", n=n, min_train=min_train, seed=int(seed))

    @classmethod
    def cold_items(cls, test_from: float, sample: float = 0.0, seed: int = 0) -> "Split":
        """A global time split whose cold items are those first seen at ``time >= test_from`` plus a
        share ``sample`` (seeded) of the other items with test rows, whose training rows are dropped."""
        return cls("cold_items", test_from=test_from, sample=float(sample), seed=int(seed))

    def describe(self) -> str:
        if self.kind == "cold_items":
            extra = f"; {100 * self.sample:g} % of the test window's warm items (seed {self.seed}) made cold by " \
                    "dropping their training rows" if self.sample else ""
            return f"cold-item time split: train time < {self.test_from:g}, test time >= {self.test_from:g}; " \
                   f"items first seen in the test window are cold{extra}"
        if self.kind == "global_time":
            return f"global time split: train time < {self.test_from:g}, test time >= {self.test_from:g}"
        if self.kind == "order":
            return f"per-user leave-last-{self.n} by file order (no time column; min {self.min_train} training " \
                   "interactions)"
        if self.kind == "random":
            return f"per-user random holdout of {self.n} (seed {self.seed}; no time order; min {self.min_train} " \
                   "training interactions)"
        return f"per-user leave-last-{self.n} by time (min {self.min_train} training interactions)"


@dataclass(frozen=True)
class Seeds:
    """An adaptive seed plan: train ``start`` seeds, then ``step`` more per round, until the seed x
    user interval decides every target cell or ``max`` seeds are trained. Each look uses a
    group-sequential (O'Brien-Fleming alpha-spending) level, so stopping early keeps the verdict's
    error rate at alpha (:mod:`harness.stats.sequential`). Use :meth:`adaptive`.
    """

    start: int = 3
    step: int = 2
    max: int = 15

    def __post_init__(self) -> None:
        for name in ("start", "step", "max"):
            val = getattr(self, name)
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise HarnessError(f"Seeds.adaptive: {name}={val!r} must be a positive integer")
        if self.start < 2:
            raise HarnessError(f"Seeds.adaptive: start={self.start} must be at least 2 (seed variance needs two seeds)")
        if self.max < self.start:
            raise HarnessError(f"Seeds.adaptive: max={self.max} must be at least start={self.start}")

    @classmethod
    def adaptive(cls, start: int = 3, step: int = 2, max: int = 15) -> "Seeds":  # noqa: A002 - the plan's word
        return cls(int(start), int(step), int(max))

    def rounds(self) -> tuple[int, ...]:
        """Seeds trained after each round (cumulative), e.g. (3, 5, 7, ..., 15)."""
        out = list(range(self.start, self.max, self.step))
        return tuple(out + [self.max])

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "step": self.step, "max": self.max}


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
    decision: Decision | Mapping[str, Decision]
    split: Split | None = None
    target: str | tuple[str, ...] | None = None
    correction: str = "holm"
    n_boot: int = 2000
    notes: str = ""
    adaptive: Seeds | None = None
    direction: str = "user_to_items"
    cold_users: bool = False

    def __post_init__(self) -> None:
        where = f"hypothesis {self.id!r}"
        if not isinstance(self.cold_users, bool):
            raise HarnessError(f"{where}: field 'cold_users' must be True or False, got {self.cold_users!r}")
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
        if items and any(parse_metric(m)[0] in ("novelty", "avgpop") for m in self.metrics):
            raise HarnessError(f"{where}: metrics novelty/avgpop are catalogue metrics of users' lists; with "
                               "direction='item_to_users' use accuracy metrics such as ndcg@100, recall@100")
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
        if any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in self.seeds):
            raise HarnessError(f"{where}: seeds must be non-negative integers, got {list(self.seeds)}")
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
                if not isinstance(dec, Decision):
                    raise HarnessError(f"{where}: decision for segment {seg!r} must be a Decision, e.g. "
                                       "Decision.not_worse(0.01)")
            if self.target is not None:
                raise HarnessError(f"{where}: give either 'target' or a per-segment 'decision' mapping, not both")
        elif not isinstance(self.decision, Decision):
            raise HarnessError(f"{where}: field 'decision' must be a Decision, e.g. Decision.not_better(0.002)")
        if isinstance(self.target, list):
            object.__setattr__(self, "target", tuple(self.target))
        for t in (self.target,) if isinstance(self.target, str) else (self.target or ()):
            if t not in names:
                raise HarnessError(f"{where}: target " + suggest(t, names, "segment"))
        if self.correction not in CORRECTIONS:
            raise HarnessError(f"{where}: correction " + suggest(self.correction, CORRECTIONS, "correction"))
        if self.split is not None and not isinstance(self.split, Split):
            raise HarnessError(f"{where}: field 'split' must be a Split, e.g. Split.leave_last(10)")
        if int(self.n_boot) < 100:
            raise HarnessError(f"{where}: n_boot={self.n_boot} is too small; use >= 1000")

    @property
    def decisions(self) -> tuple[tuple[str, Decision], ...]:
        """(target segment, decision) pairs the verdict is made of."""
        if isinstance(self.decision, tuple):
            return self.decision
        targets = (self.target,) if isinstance(self.target, str) else (self.target or (self.segments[0].name,))
        return tuple((t, self.decision) for t in targets)

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
            "decisions": [{"segment": seg, "rule": d.rule, "margin": d.margin, "alpha": d.alpha}
                          for seg, d in self.decisions],
            "split": None if self.split is None else {"kind": self.split.kind, "test_from": self.split.test_from,
                                                      "n": self.split.n, "min_train": self.split.min_train,
                                                      "seed": self.split.seed,
                                                      **({"sample": self.split.sample} if self.split.sample else {})},
            "correction": self.correction, "n_boot": int(self.n_boot),
            **({"adaptive": self.adaptive.to_dict()} if self.adaptive is not None else {}),
            # only when not the default, so the run ids of user-direction hypotheses stay as they were
            **({"direction": self.direction} if self.direction != "user_to_items" else {}),
            **({"cold_users": True} if self.cold_users else {}),
        }

    @property
    def unit(self) -> str:
        """The unit of analysis, plural: ``"users"`` or ``"items"``."""
        return "items" if self.direction == "item_to_users" else "users"
