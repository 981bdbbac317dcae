"""The declared decision rule of a hypothesis (:class:`Decision`)."""
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
    """

    rule: str
    margin: float
    alpha: float = 0.05
    attribute: str | None = None
    groups: tuple | None = None

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

    @classmethod
    def no_disparity(cls, attribute: str, margin: float, groups: tuple | None = None,
                     alpha: float = 0.05) -> "Decision":
        """The treatment - baseline delta of the primary metric differs between the two groups of user
        metadata column ``attribute`` by less than ``margin`` (e.g. ``attribute="gender", margin=0.01``)."""
        return cls("no_disparity", margin, alpha, attribute, groups)

    def to_dict(self) -> dict:
        """As summary.json and the run id record it (``attribute`` / ``groups`` only for no_disparity)."""
        out = {"rule": self.rule, "margin": self.margin, "alpha": self.alpha}
        if self.rule == "no_disparity":
            out.update(attribute=self.attribute, groups=None if self.groups is None else list(self.groups))
        return out
