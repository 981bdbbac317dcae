"""``python -m harness run``: run one hypothesis (or ``--all``, or ``--reference`` runs) and write its report."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.common import _check_dirs, _data_dir, _load_hypothesis, _load_options, _reindex, with_seeds
from harness.cli.options import _common, _data_args
from harness.errors import HarnessError


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a hypothesis and write its verdict report")
    p.add_argument("hypothesis", nargs="?", default=None, help="hypothesis id, e.g. H1 (or --all)")
    p.add_argument("--all", action="store_true", help="run every hypothesis in --hypotheses, one after another")
    p.add_argument("--reference", action="store_true", help="write reference runs on synthetic data (synthetic-vk, "
                   "or synthetic-kion when the hypothesis declares it) into "
                   "<results-dir>/reference (one per hypothesis, committed to the repository)")
    _common(p)
    _data_args(p)
    p.add_argument("--save-runs", nargs="?", const="parquet", default=None, choices=("parquet", "csv", "trec"),
                   help="also write every arm's evaluated top-k lists to <run>/runs/ (default format parquet; "
                   "trec for ranx / trec_eval)")


def cmd_run(args: argparse.Namespace) -> int:
    from harness.runner import experiment

    if args.all or args.reference:
        return _run_many(args)
    if args.hypothesis is None:
        raise HarnessError("run: name a hypothesis (e.g. python -m harness run H1) or pass --all")
    hyp = _load_hypothesis(args)
    out = experiment.run(hyp, dataset=args.dataset, data_dir=_data_dir(args, args.dataset or hyp.dataset),
                         results_dir=args.results_dir,
                         cache_dir=None if args.no_cache else args.cache_dir, n_jobs=args.n_jobs, quiet=args.quiet,
                         backend=args.backend, scheduler=args.scheduler, columns=dict(args.column),
                         save_runs=args.save_runs, load_options=_load_options(args))
    print(f"report: {out.run_dir / 'report.md'}")
    print(out.verdict.line(hyp.id))
    _reindex(args)
    return 0


def _run_many(args: argparse.Namespace) -> int:
    """``run --all`` and/or ``--reference``: each hypothesis in turn; one line per failure, exit 2 if any."""
    from harness.runner import experiment, discover as registry
    from harness.outputs import reference_runs as ref

    if args.all and args.hypothesis is not None:
        raise HarnessError(f"run: pass either a hypothesis id ({args.hypothesis}) or --all, not both")
    if args.all:
        _check_dirs(args)
        entries = registry.load_all(args.hypotheses)
        if not entries:
            raise HarnessError(f"run --all: no hypothesis files in {args.hypotheses or registry.default_dir()}")
    elif args.hypothesis is None:
        raise HarnessError("run --reference: name a hypothesis (e.g. H1) or pass --all")
    else:
        entries = [registry.Entry(Path(args.hypothesis), _load_hypothesis(args), None)]
    if args.reference:
        ref.check_dataset(args.dataset)  # a bad --dataset fails before any run
    results_dir = args.results_dir / ref.REFERENCE_DIR if args.reference else args.results_dir
    failed = 0
    for e in entries:
        if e.hypothesis is None:
            failed += 1
            print(f"error: {e.error}", file=sys.stderr)
            continue
        hyp = with_seeds(e.hypothesis, args.seeds)
        dataset = ref.check_dataset(args.dataset, hyp.dataset) if args.reference else args.dataset
        try:
            out = experiment.run(hyp, dataset=dataset, data_dir=_data_dir(args, dataset or hyp.dataset), results_dir=results_dir,
                                 cache_dir=None if args.no_cache else args.cache_dir, n_jobs=args.n_jobs,
                                 quiet=args.quiet, backend=args.backend, scheduler=args.scheduler,
                                 columns=dict(args.column), save_runs=args.save_runs,
                                 load_options=_load_options(args))
        except HarnessError as err:
            failed += 1
            print(f"error: {hyp.id}: {err}", file=sys.stderr)
            continue
        print(f"report: {out.run_dir / 'report.md'}")
        print(out.verdict.line(hyp.id))
        for line in ref.finish(out.run_dir) if args.reference else ():
            print(f"  {line}")
    _reindex(args)
    return 2 if failed else 0
