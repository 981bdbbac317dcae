"""An adaptive seed plan (:class:`Seeds`)."""
from __future__ import annotations

import numbers
from dataclasses import dataclass

from harness.errors import HarnessError


#: The most seeds an adaptive plan may use (seeds ``0 .. max - 1``; each look's group-sequential boundary
#: is a numerical integration, and no comparison needs more).
MAX_SEEDS = 1000


def _int(value: object) -> object:
    """An integral number as int (5.0 -> 5); anything else unchanged, for the checks to name."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    return value


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
        if self.max > MAX_SEEDS:
            raise HarnessError(f"Seeds.adaptive: max={self.max} is more seeds than a plan may train (at most "
                               f"{MAX_SEEDS}); use e.g. max=15")
        if self.start < 2:
            raise HarnessError(f"Seeds.adaptive: start={self.start} must be at least 2 (seed variance needs two seeds)")
        if self.max < self.start:
            raise HarnessError(f"Seeds.adaptive: max={self.max} must be at least start={self.start}")

    @classmethod
    def adaptive(cls, start: int = 3, step: int = 2, max: int = 15) -> "Seeds":  # noqa: A002 - the plan's word
        return cls(*(_int(v) for v in (start, step, max)))

    def rounds(self) -> tuple[int, ...]:
        """Seeds trained after each round (cumulative), e.g. (3, 5, 7, ..., 15)."""
        out = list(range(self.start, self.max, self.step))
        return tuple(out + [self.max])

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "step": self.step, "max": self.max}
