"""``python -m harness gate``: CI gate, exit 0 if a run is non-inferior to a baseline run, 1 if not."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import _data_dir, _load_hypothesis, _load_options, _reindex, with_seeds
from harness.cli.options import _common, _data_args, _finite_float


def add_parser(sub) -> None:
    p = sub.add_parser("gate", help="CI gate: exit 0 if a run is non-inferior to a baseline run, 1 if not")
    p.add_argument("hypothesis", help="hypothesis id, e.g. H1")
    p.add_argument("--baseline", type=Path, required=True, help="baseline run folder or its summary.json")
    p.add_argument("--run", type=Path, default=None, help="compare this existing run instead of re-running")
    p.add_argument("--metric", default=None, help="metric to gate on (default: the hypothesis' primary)")
    p.add_argument("--margin", type=_finite_float, required=True,
                   help="tolerated drop in metric units, a finite number >= 0, e.g. 0.002")
    p.add_argument("--arm", default=None, help="arm to compare (default: the hypothesis' treatment)")
    p.add_argument("--segment", default=None, help="segment (default: the hypothesis' target)")
    _common(p)
    _data_args(p)


def cmd_gate(args: argparse.Namespace) -> int:
    """Compare, rebuild the index, then print the PASS/FAIL line: its exit code is the command's last act,
    so no path returns 0 without the PASS line (errors raise; ``main`` turns them into exit 2)."""
    from harness.outputs import gate

    res = _compare(args)
    _reindex(args)
    return gate.finish(res)


def _compare(args: argparse.Namespace):
    """The gate's :class:`~harness.outputs.gate.GateResult`: the baseline against ``--run`` or a fresh run."""
    from harness.runner import experiment
    from harness.outputs import gate

    hyp = _load_hypothesis(args)
    base_doc, base = gate.load_run(args.baseline)
    if args.run is not None:
        new_doc, new = gate.load_run(args.run)
    else:
        hyp = with_seeds(hyp, args.seeds)
        dataset = args.dataset or base_doc["dataset"]
        out = experiment.run(hyp, dataset=dataset, data_dir=_data_dir(args, dataset),
                             results_dir=args.results_dir, cache_dir=None if args.no_cache else args.cache_dir,
                             n_jobs=args.n_jobs, quiet=args.quiet, columns=dict(args.column),
                             load_options=_load_options(args))
        new_doc, new = gate.load_run(out.run_dir)
    return gate.compare_runs(base_doc, base, new_doc, new, metric=args.metric or hyp.primary, margin=args.margin,
                             arm=args.arm, segment=args.segment, alpha=hyp.alpha)
