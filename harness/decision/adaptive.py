"""Adaptive seeds: train seeds in rounds until the seed x user interval decides every target cell.

``Seeds.adaptive(start=3, step=2, max=15)`` (or ``--seeds auto``) looks at the data after 3, 5, ...,
15 seeds. Look ``j`` decides with the seed x user interval at the group-sequential nominal level of
:func:`harness.stats.sequential.nominal_alphas` (O'Brien-Fleming alpha spending over the information
fractions ``n_j / max``), so the verdict's error rate stays at the declared alpha although the run
may stop at any look. The run stops at the first look where no target cell is INCONCLUSIVE, or at
``max`` seeds. Target cells without evaluable users cannot be decided by seeds and do not count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.spec import Hypothesis
from harness.stats.sequential import nominal_alphas
from harness.decision.verdict import INCONCLUSIVE, Verdict


@dataclass(frozen=True)
class Look:
    """One interim analysis: seeds trained so far, the nominal two-sided level used, the verdict."""

    n_seeds: int
    alpha: float
    status: str
    decided: bool


def levels(hyp: Hypothesis) -> list[tuple[int, float]]:
    """(seeds trained, nominal alpha) per look; one look at the declared alpha for fixed seeds."""
    if hyp.adaptive is None:
        return [(len(hyp.seeds), hyp.alpha)]
    rounds = np.asarray(hyp.adaptive.rounds(), dtype=np.float64)
    return [(int(n), float(a)) for n, a in zip(rounds, nominal_alphas(rounds / rounds[-1], hyp.alpha))]


def at_level(hyp: Hypothesis, alpha: float) -> Hypothesis:
    """``hyp`` with every decision (and so every reported interval) at the two-sided level ``alpha``."""
    if isinstance(hyp.decision, tuple):
        return hyp.replace(decision=tuple((seg, d.with_alpha(alpha)) for seg, d in hyp.decision))
    return hyp.replace(decision=hyp.decision.with_alpha(alpha))


def decided(verdict: Verdict) -> bool:
    """Every target cell that more seeds could decide is CONFIRMED or REJECTED (a cell without
    evaluable users stays INCONCLUSIVE whatever the seeds, so it does not keep the run going)."""
    return all(v.status != INCONCLUSIVE or v.cell.empty for v in verdict.variants)


def describe(hyp: Hypothesis, looks: list[Look]) -> dict:
    """The ``sequential`` block of summary.json: the plan, each look, and why the run stopped."""
    last = looks[-1]
    if last.decided:
        why = (f"every target cell was decided after {last.n_seeds} seeds (look {len(looks)}, nominal two-sided "
               f"level {last.alpha:.3g})")
    else:
        why = (f"reached the maximum of {last.n_seeds} seeds without deciding every target cell (last look's nominal "
               f"level {last.alpha:.3g}); the verdict stays INCONCLUSIVE for those cells")
    return {"plan": hyp.adaptive.to_dict(), "alpha": hyp.alpha, "spending": "Lan-DeMets O'Brien-Fleming",
            "looks": [{"n_seeds": k.n_seeds, "alpha": k.alpha, "status": k.status, "decided": k.decided}
                      for k in looks],
            "stopped": why}
