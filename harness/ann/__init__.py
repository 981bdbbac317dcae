"""Approximate nearest-neighbour retrieval for factor arms (the ``ann=`` arm option).

:mod:`.spec` parses and validates the option (no heavy imports: the hypothesis loader uses it),
:mod:`.index` builds the index and serves ``top_k`` (the evaluator's top-k protocol), and
:mod:`.quality` measures what the approximation costs (recall@k and exact - ANN on a user sample).
"""
