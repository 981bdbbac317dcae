"""Decision + statistics -> Verdict (CONFIRMED / REJECTED / INCONCLUSIVE) with a one-sentence reason.

The decision rests on the primary (seed x user) ``1 - alpha`` interval of the mean delta
(treatment - baseline) of the primary metric in each target segment, never on "p > alpha":

============  ===========================  ============================  =====================
rule          CONFIRMED when               REJECTED when                 otherwise
============  ===========================  ============================  =====================
better        low > margin                 high < margin                 INCONCLUSIVE
not_better    high < margin                low > margin                  INCONCLUSIVE
not_worse     low > -margin                high < -margin                INCONCLUSIVE
equivalent    -margin < low, high < margin low > margin or high < -margin INCONCLUSIVE
no_disparity  as equivalent, on the interval of delta(group A) - delta(group B)
============  ===========================  ============================  =====================

``no_disparity`` uses :func:`harness.stats.disparity.group_difference_interval`, the seed x user interval of
the difference between two user groups' mean deltas (the cell's :class:`~harness.decision.analysis.Disparity`).

With several positive definitions (variants), target segments or metrics (``Decision.all_of``) the claim
must hold in each: the hypothesis is CONFIRMED when every (variant, segment, metric) is (an
intersection-union test: no multiplicity penalty), REJECTED when any is, else INCONCLUSIVE. A verdict is UNDERPOWERED-inconclusive when the interval
cannot be narrow enough: its reason then says by how much the experiment would need to grow.
"""
from __future__ import annotations

from dataclasses import dataclass

from harness.decision.analysis import Cell
from harness.spec import Decision, Hypothesis

CONFIRMED, REJECTED, INCONCLUSIVE = "CONFIRMED", "REJECTED", "INCONCLUSIVE"


@dataclass(frozen=True)
class VariantVerdict:
    """The decision for one variant: status, one-sentence reason, and the cell it rests on; with rolling-origin
    folds, ``fold_statuses``: the decision applied to each fold's own interval, in fold order."""

    variant: str
    status: str
    reason: str
    cell: Cell
    fold_statuses: tuple[str, ...] = ()

    @property
    def holds(self) -> tuple[int, int]:
        """``(k, F)``: the folds whose own status is the verdict's (rolling-origin folds; (0, 0) otherwise)."""
        return sum(s == self.status for s in self.fold_statuses), len(self.fold_statuses)


@dataclass(frozen=True)
class Verdict:
    """The hypothesis' verdict: overall status, one-line reason, and per-variant decisions."""

    status: str
    reason: str
    variants: tuple[VariantVerdict, ...]

    def line(self, hyp_id: str) -> str:
        return f"{hyp_id}: {self.status} - {self.reason}"


def _fmt(x: float) -> str:
    return f"{x:+.4f}"


def decide_cell(decision: Decision, cell: Cell, unit: str = "users") -> tuple[str, str]:
    """Status and reason for one cell under ``decision`` (``unit``: ``"users"`` or ``"items"``)."""
    if cell.empty or cell.primary is None:
        return INCONCLUSIVE, f"segment {cell.segment!r} has no evaluable {unit}"
    if decision.rule == "no_disparity":
        return _decide_disparity(decision, cell)
    lo, hi, m = cell.primary.ci.low, cell.primary.ci.high, decision.margin
    level = f"{100 * (1 - decision.alpha):.6g} %"
    windows = f"{len(cell.folds)} test window{'s' if len(cell.folds) > 1 else ''}"
    over = f"{level} CI over {windows} (seed x {unit[:-1]} within each)" if cell.folds \
        else f"{level} seed x {unit[:-1]} CI"
    ci = f"the {over} of the {cell.metric} delta is [{_fmt(lo)}, {_fmt(hi)}]"
    rule = decision.rule
    if rule == "better":
        status = CONFIRMED if lo > m else REJECTED if hi < m else INCONCLUSIVE
        what = {CONFIRMED: f"lies above the margin {m:g}", REJECTED: f"lies below the margin {m:g}",
                INCONCLUSIVE: f"contains the margin {m:g}"}[status]
    elif rule == "not_better":
        status = CONFIRMED if hi < m else REJECTED if lo > m else INCONCLUSIVE
        what = {CONFIRMED: f"lies below the margin +{m:g} (non-superiority shown)",
                REJECTED: f"lies above the margin +{m:g} (the treatment is better)",
                INCONCLUSIVE: f"crosses the margin +{m:g}"}[status]
    elif rule == "not_worse":
        status = CONFIRMED if lo > -m else REJECTED if hi < -m else INCONCLUSIVE
        what = {CONFIRMED: f"lies above -{m:g} (non-inferiority shown)",
                REJECTED: f"lies below -{m:g} (the treatment is worse)",
                INCONCLUSIVE: f"crosses -{m:g}"}[status]
    else:
        status = CONFIRMED if (-m < lo and hi < m) else REJECTED if (lo > m or hi < -m) else INCONCLUSIVE
        what = {CONFIRMED: f"lies inside (-{m:g}, +{m:g}) (equivalence shown)",
                REJECTED: f"lies outside (-{m:g}, +{m:g})",
                INCONCLUSIVE: f"is not inside (-{m:g}, +{m:g})"}[status]
    reason = f"{ci}, which {what}"
    if status == INCONCLUSIVE:
        width = hi - lo
        needed = 2 * m if rule == "equivalent" else None
        if cell.n_seeds < 2:
            reason += "; with one seed, seed variance is not measured - add seeds"
        elif needed and width > needed:
            grow = (width / needed) ** 2
            reason += f"; the interval is {width:.4f} wide, ~{grow:.1f}x more {unit}/seeds needed to fit the margin"
        elif cell.mde == cell.mde:
            reason += f"; minimum detectable effect at 80 % power is {cell.mde:.4f}"
    return status, reason


def _decide_disparity(decision: Decision, cell: Cell) -> tuple[str, str]:
    """no_disparity: the interval of delta(A) - delta(B) inside (-margin, +margin), or outside it."""
    dis = cell.disparity
    lo, hi, m = dis.difference.ci.low, dis.difference.ci.high, decision.margin
    a, b = dis.groups
    level = f"{100 * (1 - decision.alpha):.6g} %"
    status = CONFIRMED if (-m < lo and hi < m) else REJECTED if (lo > m or hi < -m) else INCONCLUSIVE
    what = {CONFIRMED: f"lies inside (-{m:g}, +{m:g}) (no disparity beyond the margin)",
            REJECTED: f"lies outside (-{m:g}, +{m:g}) (the treatment helps one group more)",
            INCONCLUSIVE: f"is not inside (-{m:g}, +{m:g})"}[status]
    reason = (f"the {level} seed x user CI of the {cell.metric} delta in {dis.attribute}={a} ({_fmt(dis.mean_delta[0])}, "
              f"{dis.n_users[0]} users) minus that in {dis.attribute}={b} ({_fmt(dis.mean_delta[1])}, "
              f"{dis.n_users[1]} users) is [{_fmt(lo)}, {_fmt(hi)}], which {what}")
    if status == INCONCLUSIVE and hi - lo > 2 * m:
        reason += f"; the interval is {hi - lo:.4f} wide, ~{((hi - lo) / (2 * m)) ** 2:.1f}x more users/seeds needed"
    return status, reason


def decide(hyp: Hypothesis, cells: list[Cell]) -> Verdict:
    """The hypothesis' verdict from its cells (primary metric, target segment, every variant)."""
    per = []
    for segment, decision in hyp.decisions:
        metric = decision.metric or hyp.primary
        for c in cells:
            if c.segment == segment and c.metric == metric:
                status, reason = decide_cell(decision, c, hyp.unit)
                folds = tuple(decide_cell(decision, fc, hyp.unit)[0] for _, fc in c.folds)
                if folds:
                    reason += f"; the verdict holds in {sum(f == status for f in folds)} of {len(folds)} folds"
                per.append(VariantVerdict(c.variant, status, reason, c, folds))
    several = len({(d.metric or hyp.primary) for _, d in hyp.decisions}) > 1
    statuses = [v.status for v in per]
    if statuses and all(s == CONFIRMED for s in statuses):
        status = CONFIRMED
    elif REJECTED in statuses:
        status = REJECTED
    else:
        status = INCONCLUSIVE
    pick = next((v for v in per if v.status == status), per[0])
    if len(per) == 1:
        reason = f"in segment {pick.cell.segment!r}, {pick.reason}"
    else:
        parts = ", ".join(f"{v.variant} / {v.cell.segment}{' / ' + v.cell.metric if several else ''}: {v.status}"
                          for v in per)
        reason = f"{parts}; e.g. for {pick.variant} in segment {pick.cell.segment!r}, {pick.reason}"
    return Verdict(status, reason, tuple(per))
