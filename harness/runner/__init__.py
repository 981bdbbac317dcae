"""Orchestration: hypothesis discovery (:mod:`.discover`), (arm, seed) tasks (:mod:`.tasks`) and their
cache (:mod:`.cache`), backends (:mod:`.backends`: loky, Dask) and data sent to their workers once
(:mod:`.shipping`), tuning on the validation window
(:mod:`.tuning`), the experiment flow (:mod:`.experiment`, with its steps' helpers in :mod:`.prepared`,
:mod:`.monitor`, :mod:`.collect`, :mod:`.notes`, :mod:`.floor`, :mod:`.run_spec` and :mod:`.saved_runs`),
the plan before fitting (:mod:`.plan`, from earlier task seconds in :mod:`.timings`) and seed calibration
(:mod:`.calibrate`).

Named ``runner``, not ``run``: a subpackage ``harness.run`` would shadow the API function once imported.
May import every stage below it (outputs, decision, evaluation, arms, design, data, spec, stats, errors);
only :mod:`harness.cli` imports it.
"""
