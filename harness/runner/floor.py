"""Popularity as a floor: its mean primary metric per variant and segment (summary.json's ``reference``)
and a warning for every arm that scores below it."""
from __future__ import annotations

import numpy as np

from harness.runner.prepared import Prepared
from harness.evaluation import items as item_eval
from harness.spec import Hypothesis


def popularity_reference(p: Prepared) -> dict:
    """Popularity's mean primary metric per variant and segment: a floor every trained arm should clear."""
    from harness.arms.popularity import fit as fit_pop

    from harness.arms.scorer import FactorScorer

    out: dict = {}
    for v, d in p.data.items():
        if d.unit == "items":  # the item direction's "popularity": rank users by training activity
            act = np.diff(d.train.seen.indptr).astype(np.float32)[:, None]
            pop = FactorScorer(act, np.ones((d.train.n_items, 1), np.float32))
        else:
            pop = fit_pop(d.train, 0)
        vals = item_eval.evaluate_data(pop, d, (p.hyp.primary,)).values[p.hyp.primary]
        out[v] = {seg.name: (float(vals[p.masks[(v, seg.name)]].mean()) if p.masks[(v, seg.name)].any() else None)
                  for seg in p.hyp.segments}
    return out


def below_reference(cells, reference: dict, hyp: Hypothesis) -> list[str]:
    """Notes for arms whose mean primary metric is below popularity's (undertrained or misconfigured?)."""
    notes = []
    for c in cells:
        ref = reference.get(c.variant, {}).get(c.segment)
        if c.metric != hyp.primary or c.empty or ref is None:
            continue
        for arm, mean in ((hyp.baseline, c.mean_base), (hyp.treatment, c.mean_treat)):
            if arm.kind != "popularity" and mean < ref:
                notes.append(f"WARNING: arm {arm.name!r} ({c.variant}, segment {c.segment!r}) has mean {c.metric} "
                             f"{mean:.4f}, below popularity's {ref:.4f}: undertrained or misconfigured?")
    return notes
