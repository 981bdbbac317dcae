"""What a run leaves behind and reads back: the run folder and provenance (:mod:`.run_folder`),
summary.json (:mod:`.summary`), the markdown report (:mod:`.report`, with its sections in
:mod:`.report_evidence` and :mod:`.report_setup`, number formatting in :mod:`.formatting`), its figures
(:mod:`.figures`), the results index (:mod:`.index`), run-to-run diffs (:mod:`.diff`), the CI gate
(:mod:`.gate`) and the committed reference runs (:mod:`.reference_runs`).

May import: :mod:`harness.decision` and everything below it; never the runner or the CLI.
"""
