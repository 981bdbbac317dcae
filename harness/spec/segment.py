"""Segments: named subsets of the evaluated users or items (:class:`Segment`)."""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Iterable

from harness.errors import HarnessError, suggest
from harness.spec import _numbers as num
from harness.spec._params import _jsonable
from harness.spec.names import check_name

SEGMENT_KINDS = ("all", "activity_quantile", "history_bucket", "meta", "new_returning",
                 "cold_items", "item_popularity", "item_meta")
#: Segment kinds over items (``direction="item_to_users"``); ``all`` fits both directions.
ITEM_SEGMENT_KINDS = ("cold_items", "item_popularity", "item_meta")
#: Where users exactly at an activity-quantile threshold go (see :meth:`Segment.activity_quantile`).
TIE_RULES = ("above", "below", "random")


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
        check_name(self.name, "Segment name", "Segment.history_bucket(0, 20, name='cold')")

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
        try:
            num.real(q, "q", low=0.0, high=1.0, low_open=True, high_open=True)
        except HarnessError:
            raise HarnessError(f"Segment {name!r}: quantile q={q!r} must be strictly between 0 and 1, e.g. 0.7") from None
        if ties not in TIE_RULES:
            raise HarnessError(f"Segment {name!r}: " + suggest(str(ties), TIE_RULES, "ties rule"))
        seed = num.seed(seed, f"Segment {name!r}: seed")
        extra = (("seed", seed),) if ties == "random" else ()
        extra += (("ties", ties),) if ties != "above" else ()
        return cls(name, "activity_quantile", (("above", bool(above)), ("q", float(q))) + extra)

    @classmethod
    def history_bucket(cls, low: int, high: int | None, name: str) -> "Segment":
        """Users with ``low <= n_train_positives < high`` (``high=None``: no upper bound)."""
        ints = all(x is None or (isinstance(x, numbers.Integral) and not isinstance(x, bool)) for x in (low, high))
        if not ints or low is None or low < 0 or (high is not None and high <= low):
            raise HarnessError(f"Segment {name!r}: need integers 0 <= low < high (high=None: no upper bound), "
                               f"got low={low!r}, high={high!r}")
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
        for bound, value in (("low", low), ("high", high)):
            if value is not None:
                num.real(value, f"Segment {name!r}: item_meta {bound}")
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
