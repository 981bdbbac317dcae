"""The Python API: ``harness.run(hypothesis, **options) -> Result``.

The options are the ``run`` flags as keywords (:class:`~harness.runner.options.RunOptions`); the CLI's
``run`` goes through :func:`execute` too, so a notebook and the command line compute the same run::

    import harness
    r = harness.run("H1", dataset="synthetic-vk", seeds=3, results_dir=None)
    r.cells            # one row per (positives, segment, metric)
    r.per_user         # the per-user, per-seed table
    str(r.verdict)     # the verdict line
"""
from __future__ import annotations

from pathlib import Path

from harness.data.safe_write import writable_dir
from harness.errors import HarnessError
from harness.outputs.result import Result
from harness.runner import discover
from harness.runner.experiment import RunOutcome
from harness.runner.options import RunOptions
from harness.runner.plan import Plan
from harness.spec import Hypothesis


def resolve(hypothesis: Hypothesis | str | Path, directory: Path | None = None) -> Hypothesis:
    """A Hypothesis object (its arms checked; relative arm paths resolved against the working folder), a
    hypothesis file (``.py``), or an id looked up in ``directory`` (default ``./hypotheses``)."""
    if isinstance(hypothesis, Hypothesis):
        base = Path.cwd()
        return hypothesis.replace(baseline=discover.resolve_arm(hypothesis.baseline, base),
                                  treatment=discover.resolve_arm(hypothesis.treatment, base))
    if isinstance(hypothesis, Path) or (isinstance(hypothesis, str) and hypothesis.endswith(".py")):
        path = Path(hypothesis)
        if not path.is_file():
            raise HarnessError(f"hypothesis file {path} not found; give a Hypothesis, a .py file or an id like 'H1'")
        return discover.load_file(path)
    if isinstance(hypothesis, str):
        return discover.get(hypothesis, directory)
    raise HarnessError(f"hypothesis is a {type(hypothesis).__name__}; give a Hypothesis, a .py file or an id like 'H1'")


def execute(hyp: Hypothesis, options: RunOptions) -> RunOutcome:
    """Run ``hyp`` (overrides already applied) with ``options``: fetch the dataset if needed, run, write."""
    from harness.data import fetch
    from harness.runner import experiment

    data_dir = fetch.resolve(options.dataset or hyp.dataset, options.data_dir, quiet=options.quiet,
                             **options.fetch_options())
    return experiment.run(hyp, dataset=options.dataset, data_dir=data_dir, results_dir=options.results_dir,
                          cache_dir=options.cache_dir, n_jobs=options.n_jobs, quiet=options.quiet,
                          threads_per_task=options.threads_per_task,
                          backend=options.backend, scheduler=options.scheduler, columns=options.columns or None,
                          save_runs=options.save_runs, load_options=options.load_options())


def plan(hyp: Hypothesis, options: RunOptions) -> Plan:
    """What :func:`execute` with the same ``options`` would do (:mod:`harness.runner.plan`): fetches and loads
    the data and prepares the split, but fits nothing and writes no run folder, cache entry or log."""
    from harness.data import fetch
    from harness.runner import experiment

    data_dir = fetch.resolve(options.dataset or hyp.dataset, options.data_dir, quiet=options.quiet,
                             **options.fetch_options())
    return experiment.make_plan(hyp, dataset=options.dataset, data_dir=data_dir, cache_dir=options.cache_dir,
                                n_jobs=options.n_jobs, backend=options.backend, columns=options.columns or None,
                                threads_per_task=options.threads_per_task,
                                save_runs=options.save_runs, load_options=options.load_options())


def run(hypothesis: Hypothesis | str | Path, **options) -> Result:
    """Run a hypothesis and return its :class:`~harness.outputs.result.Result`.

    Parameters
    ----------
    hypothesis : a :class:`~harness.spec.Hypothesis`, a hypothesis file, or an id (``"H1"``).
    **options : the ``run`` flags as keywords (:class:`~harness.runner.options.RunOptions`), e.g.
        ``dataset="synthetic-vk"``, ``data_dir=...``, ``seeds=3``, ``n_jobs=2``, ``backend="dask"``,
        ``cache_dir=None`` (no task cache), ``results_dir=None`` (write no run folder), ``positives=[...]``,
        ``item_features=...``. The numbers are those of ``python -m harness run`` with the same flags.
    """
    opts = RunOptions.create(**options)
    for name in ("results_dir", "cache_dir"):  # the checks of the CLI's --results-dir / --cache-dir
        if getattr(opts, name) is not None:
            writable_dir(getattr(opts, name), name)
    hyp = opts.apply(resolve(hypothesis, opts.hypotheses))
    out = execute(hyp, opts)
    return Result(out.summary, out.per_user, out.run_dir, out.provenance)


__all__ = ["run", "execute", "resolve", "RunOptions", "Result"]
