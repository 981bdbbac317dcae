"""Scoring and metrics: top-k selection (:mod:`.topk`, the fused score+top-k kernel :mod:`.fused`),
per-user evaluation (:mod:`.users`), the items -> users direction (:mod:`.items`), precomputed lists
(:mod:`.lists`), the metric formulas (:mod:`.metrics`), approximate search (:mod:`.ann`) and the slow,
obvious loops our vectorised code must equal (:mod:`.naive`, for tests and benchmarks).

May import: :mod:`harness.arms` (the scorer protocol) and everything below it (design, data, spec,
stats, errors).
"""
