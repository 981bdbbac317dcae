"""What identifies a run: the resolved spec hashed into the run id and recorded in the provenance."""
from __future__ import annotations

from harness.runner.prepared import Prepared
from harness.spec import Hypothesis


def arm_sources(hyp: Hypothesis) -> dict:
    """arm name -> where its ``fit`` came from and the hash of that source file (in the run id and
    provenance: editing a model gives a new run id)."""
    from harness.arms.registry import resolve

    out = {}
    for arm in hyp.arms:
        src = resolve(arm.kind)
        out[arm.name] = {"ref": src.ref, "origin": src.origin, "source_sha256": src.source_hash}
    return out


def run_spec(p: Prepared) -> dict:
    """The resolved spec of a run: the hypothesis, the positive definitions and split it ran with, and
    the source of every arm (hashed into the run id; recorded in provenance.json)."""
    spec = p.hyp.to_dict()
    spec["positives_run"] = list(p.variants)
    spec["split_run"] = p.split_desc
    spec["arm_sources"] = arm_sources(p.hyp)
    return spec
