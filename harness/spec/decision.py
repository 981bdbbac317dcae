"""The declared decision rule of a hypothesis (:class:`Decision`)."""
from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError, suggest
from harness.spec import _numbers as num

#: Decision rules understood by :mod:`harness.decision.verdict`.
RULES = ("better", "not_better", "not_worse", "equivalent")


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
        margin = num.real(self.margin, "decision.margin", example="0.01 (in metric units)")
        if margin < 0:
            raise HarnessError(f"decision.margin={self.margin} is negative; margins are magnitudes in metric "
                               f"units (the rule sets the direction): use {abs(self.margin)}")
        if self.rule == "equivalent" and margin == 0:
            raise HarnessError("decision: equivalent(margin) needs margin > 0")
        num.real(self.alpha, "decision.alpha", low=0.0, high=0.5, low_open=True, high_open=True, example="0.05")

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
