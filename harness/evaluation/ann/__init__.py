"""Approximate nearest-neighbour retrieval for factor arms (the ``ann=`` arm option).

The option itself is parsed and validated in :mod:`harness.spec.ann` (no heavy imports: the
hypothesis loader uses it); :mod:`.index` builds the index and serves ``top_k`` (the evaluator's
top-k protocol), and :mod:`.quality` measures what the approximation costs (recall@k and exact - ANN
on a unit sample). May import: the evaluation stage and everything below it (arms, design, data, spec,
stats, errors).
"""
