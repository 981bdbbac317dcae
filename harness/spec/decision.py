"""The declared decision rule of a hypothesis (:class:`Decision`), or several that must all hold (:class:`AllOf`)."""
from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError, suggest
from harness.spec import _numbers as num

#: Decision rules understood by :mod:`harness.decision.verdict`.
RULES = ("better", "not_better", "not_worse", "equivalent", "no_disparity")


@dataclass(frozen=True)
class Decision:
    """The declared decision rule; evaluated in :mod:`harness.decision.verdict`.

    Attributes
    ----------
    rule : ``better`` (treatment - baseline > margin), ``not_better`` (non-superiority: effect < margin),
        ``not_worse`` (non-inferiority: effect > -margin), ``equivalent`` (|effect| < margin, TOST),
        ``no_disparity`` (the effect differs between two user groups by less than margin:
        |delta in group A - delta in group B| < margin, with the seed x user interval of that difference,
        :func:`harness.stats.disparity.group_difference_interval`).
    margin : non-negative, in metric units (e.g. 0.002 NDCG).
    alpha : the decision uses the two-sided ``1 - alpha`` seed x user interval of the effect
        (conservative for the one-sided rules); see :mod:`harness.decision.verdict`.
    attribute : ``no_disparity`` only: the user metadata column that defines the groups (e.g. ``"gender"``).
    groups : ``no_disparity`` only: the two values of ``attribute`` to compare, (A, B); None when the column has
        exactly two values among the evaluated users (then in sorted order). Users with other values are left out.
    metric : the metric the rule is about (one of the hypothesis' metrics); None: its primary metric. Used with
        :meth:`all_of` for claims over several metrics.
    """

    rule: str
    margin: float
    alpha: float = 0.05
    attribute: str | None = None
    groups: tuple | None = None
    metric: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise HarnessError("decision: " + suggest(self.rule, RULES, "decision rule"))
        margin = num.real(self.margin, "decision.margin", example="0.01 (in metric units)")
        if margin < 0:
            raise HarnessError(f"decision.margin={self.margin} is negative; margins are magnitudes in metric "
                               f"units (the rule sets the direction): use {abs(self.margin)}")
        if self.rule == "equivalent" and margin == 0:
            raise HarnessError("decision: equivalent(margin) needs margin > 0")
        num.real(self.alpha, "decision.alpha", low=0.0, high=0.5, low_open=True, high_open=True, example="0.05")
        if self.rule == "no_disparity":
            if not isinstance(self.attribute, str) or not self.attribute.strip():
                raise HarnessError("decision: no_disparity needs attribute=, a user metadata column, e.g. "
                                   "Decision.no_disparity(attribute='gender', margin=0.01)")
            if margin == 0:
                raise HarnessError("decision: no_disparity(margin) needs margin > 0 (the largest difference "
                                   "between the groups' deltas that counts as none)")
            if self.groups is not None:
                groups = tuple(self.groups) if isinstance(self.groups, (list, tuple)) else None
                if groups is None or len(groups) != 2 or groups[0] == groups[1]:
                    raise HarnessError(f"decision: groups={self.groups!r} must be two different values of "
                                       f"{self.attribute!r}, e.g. groups=('F', 'M')")
                object.__setattr__(self, "groups", groups)
        elif self.attribute is not None or self.groups is not None:
            raise HarnessError(f"decision: attribute/groups only go with Decision.no_disparity, not {self.rule}")
        if self.metric is not None and (not isinstance(self.metric, str) or "@" not in self.metric):
            raise HarnessError(f"decision: metric={self.metric!r} must be one of the hypothesis' metrics, e.g. "
                               "metric='recall@10'")

    @classmethod
    def better(cls, margin: float = 0.0, alpha: float = 0.05, metric: str | None = None) -> "Decision":
        return cls("better", margin, alpha, metric=metric)

    @classmethod
    def not_better(cls, margin: float, alpha: float = 0.05, metric: str | None = None) -> "Decision":
        return cls("not_better", margin, alpha, metric=metric)

    @classmethod
    def not_worse(cls, margin: float, alpha: float = 0.05, metric: str | None = None) -> "Decision":
        return cls("not_worse", margin, alpha, metric=metric)

    @classmethod
    def equivalent(cls, margin: float, alpha: float = 0.05, metric: str | None = None) -> "Decision":
        return cls("equivalent", margin, alpha, metric=metric)

    @classmethod
    def no_disparity(cls, attribute: str, margin: float, groups: tuple | None = None,
                     alpha: float = 0.05, metric: str | None = None) -> "Decision":
        """The treatment - baseline delta of the primary metric differs between the two groups of user
        metadata column ``attribute`` by less than ``margin`` (e.g. ``attribute="gender", margin=0.01``)."""
        return cls("no_disparity", margin, alpha, attribute, groups, metric)

    @staticmethod
    def all_of(*decisions: "Decision") -> "AllOf":
        """Every one of ``decisions`` must hold, e.g. ``Decision.all_of(Decision.better(0, metric="aplt@10"),
        Decision.not_worse(0.002, metric="ndcg@10"))``: "better on A AND not worse on B" (see :class:`AllOf`)."""
        return AllOf(tuple(decisions))

    @property
    def parts(self) -> tuple["Decision", ...]:
        return (self,)

    def with_alpha(self, alpha: float) -> "Decision":
        from dataclasses import replace

        return replace(self, alpha=alpha)

    def to_dict(self) -> dict:
        """As summary.json and the run id record it (``attribute`` / ``groups`` only for no_disparity, ``metric``
        only when set)."""
        out = {"rule": self.rule, "margin": self.margin, "alpha": self.alpha}
        if self.rule == "no_disparity":
            out.update(attribute=self.attribute, groups=None if self.groups is None else list(self.groups))
        if self.metric is not None:
            out["metric"] = self.metric
        return out


@dataclass(frozen=True)
class AllOf:
    """Several decisions that must all hold (``Decision.all_of``), typically on different metrics.

    The verdict is CONFIRMED only when every part is, REJECTED when any part is, else INCONCLUSIVE: an
    intersection-union test (Berger 1982). Each part is decided on its own two-sided ``1 - alpha`` interval and the
    claim is the AND of the parts, so the chance of confirming a false claim stays <= alpha without any
    multiplicity correction (a false AND needs a false part, and that part alone is confirmed with probability
    <= alpha). OR claims would need a correction; they are not offered.
    """

    parts: tuple[Decision, ...]

    def __post_init__(self) -> None:
        if len(self.parts) < 2:
            raise HarnessError("decision: all_of needs at least two decisions, e.g. Decision.all_of("
                               "Decision.better(0, metric='aplt@10'), Decision.not_worse(0.002, metric='ndcg@10'))")
        for d in self.parts:
            if not isinstance(d, Decision):
                raise HarnessError(f"decision: all_of takes Decisions (not nested all_of), got {type(d).__name__}")
        keys = [(d.metric, d.rule, d.attribute) for d in self.parts]
        if len(set(keys)) != len(keys):
            raise HarnessError("decision: all_of has the same rule on the same metric twice; give each part its "
                               "own metric=")

    @property
    def alpha(self) -> float:
        return min(d.alpha for d in self.parts)

    def with_alpha(self, alpha: float) -> "AllOf":
        return AllOf(tuple(d.with_alpha(alpha) for d in self.parts))
