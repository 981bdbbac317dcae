"""From a run's per-user table to a verdict: the statistics of every cell (:mod:`.analysis`), the
decision rules with alpha and margins (:mod:`.verdict`), and the adaptive seed plan (:mod:`.adaptive`).

May import: :mod:`harness.evaluation` (metric names) and everything below it; never the runner or outputs.
"""
