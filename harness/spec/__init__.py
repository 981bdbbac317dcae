"""The spec stage: frozen, validated specifications of a hypothesis and its parts.

Every constructor validates its input and raises :class:`~harness.errors.HarnessError` naming the
field and the fix, so a broken hypothesis file is reported by ``python -m harness list``.

One module per concept: :mod:`~harness.spec.arm` (:class:`Arm`), :mod:`~harness.spec.segment`
(:class:`Segment`), :mod:`~harness.spec.decision` (:class:`Decision`), :mod:`~harness.spec.split`
(:class:`Split`), :mod:`~harness.spec.seeds` (:class:`Seeds`), :mod:`~harness.spec.metric`
(``name@k`` metrics) and :mod:`~harness.spec.hypothesis` (:class:`Hypothesis`, which validates them
together); :mod:`~harness.spec.ann` and :mod:`~harness.spec.tune` parse an arm's ``ann=`` and ``tune=``
options. Everything is re-exported here: write ``from harness.spec import Arm, Hypothesis``.

May import: :mod:`harness.errors` only (the layers would allow :mod:`harness.stats`; spec needs none of it).
"""
from harness.spec.arm import Arm
from harness.spec.decision import RULES, Decision
from harness.spec.hypothesis import CORRECTIONS, DIRECTIONS, Hypothesis
from harness.spec.metric import METRICS, parse_metric
from harness.spec.seeds import Seeds
from harness.spec.segment import ITEM_SEGMENT_KINDS, SEGMENT_KINDS, TIE_RULES, Segment
from harness.spec.split import ROLLING_KINDS, SPLIT_KINDS, Split

__all__ = ["CORRECTIONS", "DIRECTIONS", "ITEM_SEGMENT_KINDS", "METRICS", "RULES", "SEGMENT_KINDS", "SPLIT_KINDS",
           "TIE_RULES", "ROLLING_KINDS", "Arm", "Decision", "Hypothesis", "Seeds", "Segment", "Split", "parse_metric"]
