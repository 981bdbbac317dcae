"""The experimental design: what counts as a positive (:mod:`.feedback`), the train/test split and its
leakage checks (:mod:`.split`) and measured audit (:mod:`.leakage`), user and item segments (:mod:`.segments`), side features
(:mod:`.features`, the one feature builder of LightFM, the two-tower and the re-ranker), the validation
window inside training (:mod:`.validation`) and the matrices every arm and the evaluation read
(:mod:`.prepare`, with :class:`~harness.design.prepare.TrainData`, the arm's input).

May import: :mod:`harness.data`, :mod:`harness.spec`, :mod:`harness.stats`, :mod:`harness.errors`.
"""
