"""Metric names and their ``name@k`` form (used by hypotheses, evaluation and reports)."""
from __future__ import annotations

import re

from harness.errors import HarnessError, suggest

#: Per-user metrics understood by :mod:`harness.evaluation.metrics` (used as ``name@k``): accuracy metrics, plus
#: ``novelty`` (mean self-information of the top-k) and ``avgpop`` (mean training popularity of the top-k).
#: Beyond accuracy (:mod:`harness.evaluation.beyond`): ``ild`` (intra-list diversity), ``calibration`` (Steck's
#: miscalibration KL), ``serendipity`` (relevant long-tail share) and ``aplt`` (long-tail share).
#: Catalogue coverage@k of every arm is always reported beside them.
#: ``map`` divides by min(|relevant|, k); ``map_trec`` by |relevant| (trec_eval's and ranx's AP@k).
METRICS = ("ndcg", "recall", "precision", "map", "map_trec", "mrr", "hitrate", "novelty", "avgpop",
           "ild", "calibration", "serendipity", "aplt")
#: Metrics that describe users' lists beyond accuracy: their own multiple-comparison family, and not defined
#: for direction='item_to_users'.
BEYOND_ACCURACY = ("novelty", "avgpop", "ild", "calibration", "serendipity", "aplt")
_METRIC_RE = re.compile(r"^([a-z][a-z_]*)@(-?\d+)$")


def parse_metric(text: str, where: str = "metrics") -> tuple[str, int]:
    """Split ``"ndcg@10"`` into ``("ndcg", 10)``; raise a one-line error for anything else."""
    m = _METRIC_RE.match(str(text).strip().lower())
    if not m:
        raise HarnessError(f"{where}: bad metric {text!r}; write it as name@k, e.g. 'ndcg@10' "
                           f"(names: {', '.join(METRICS)})")
    name, k = m.group(1), int(m.group(2))
    if name not in METRICS:
        raise HarnessError(f"{where}: " + suggest(name, METRICS, "metric"))
    if k <= 0:
        raise HarnessError(f"{where}: metric {text!r} has k={k}; k must be a positive integer")
    return name, k
