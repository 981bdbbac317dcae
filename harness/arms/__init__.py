"""Models: the contract every arm follows (:mod:`.scorer`: ``fit(train, seed, **params) -> Scorer``), one
registry that resolves built-in and user arms alike (:mod:`.registry`: names from the ``harness.arms``
entry points, ``module:function``, ``file.py:function``), the contract check (:mod:`.check`), and one
module per model.

May import: :mod:`harness.design` (the arm's input, features) and everything below it (data, spec,
stats, errors); never evaluation or anything above.
"""
