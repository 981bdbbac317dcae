"""``python -m harness run``: run one hypothesis (or ``--all``, or ``--reference`` runs) and write its report."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.common import _check_dirs, _load_hypothesis, _reindex, print_warnings, with_seeds
from harness.cli.options import _common, _data_args
from harness.errors import HarnessError


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a hypothesis and write its verdict report")
    p.add_argument("hypothesis", nargs="?", default=None, help="hypothesis id, e.g. H1 (or --all)")
    p.add_argument("--all", action="store_true", help="run every hypothesis in --hypotheses, one after another")
    p.add_argument("--reference", action="store_true", help="write reference runs on synthetic data (synthetic-vk, "
                   "or synthetic-kion when the hypothesis declares it) into "
                   "<results-dir>/reference (one per hypothesis, committed to the repository)")
    p.add_argument("--plan", action="store_true", help="print what the run would do (tasks, each arm's epoch "
                   "budget, training rows and positives, cores, estimated wall time) and exit: loads the data, "
                   "fits nothing, writes no run folder")
    _common(p)
    _data_args(p)
    p.add_argument("--save-runs", nargs="?", const="parquet", default=None, choices=("parquet", "csv", "trec"),
                   help="also write every arm's evaluated top-k lists to <run>/runs/ (default format parquet; "
                   "trec for ranx / trec_eval)")


def cmd_run(args: argparse.Namespace) -> int:
    from harness.runner import api
    from harness.runner.options import RunOptions

    if args.plan and (args.all or args.reference):
        raise HarnessError("run --plan shows one hypothesis' plan: name it (e.g. python -m harness run H1 --plan) "
                           "instead of --all or --reference")
    if args.all or args.reference:
        return _run_many(args)
    if args.hypothesis is None:
        raise HarnessError("run: name a hypothesis (e.g. python -m harness run H1) or pass --all")
    hyp = _load_hypothesis(args)
    if args.plan:
        from harness.runner.plan import render

        print("\n".join(render(api.plan(hyp, RunOptions.from_args(args)))))
        return 0
    out = api.execute(hyp, RunOptions.from_args(args))
    print(f"report: {out.run_dir / 'report.md'}")
    print(out.verdict.line(hyp.id))
    print_warnings(out.summary)
    _reindex(args)
    return 0


def _run_many(args: argparse.Namespace) -> int:
    """``run --all`` and/or ``--reference``: each hypothesis in turn; one line per failure, exit 2 if any."""
    from dataclasses import replace

    from harness.outputs import reference_runs as ref
    from harness.runner import api, discover as registry
    from harness.runner.options import RunOptions

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
    opts = replace(RunOptions.from_args(args), results_dir=results_dir)
    failed = 0
    for e in entries:
        if e.hypothesis is None:
            failed += 1
            print(f"error: {e.error}", file=sys.stderr)
            continue
        hyp = with_seeds(e.hypothesis, args.seeds)
        dataset = ref.check_dataset(args.dataset, hyp.dataset) if args.reference else args.dataset
        try:
            out = api.execute(hyp, replace(opts, dataset=dataset))
        except HarnessError as err:
            failed += 1
            print(f"error: {hyp.id}: {err}", file=sys.stderr)
            continue
        print(f"report: {out.run_dir / 'report.md'}")
        print(out.verdict.line(hyp.id))
        print_warnings(out.summary)
        for line in ref.finish(out.run_dir) if args.reference else ():
            print(f"  {line}")
    _reindex(args)
    return 2 if failed else 0
