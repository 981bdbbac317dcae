"""``python -m harness calibrate``: A/A false-positive rate of the deciding interval and of naive tests."""
from __future__ import annotations

import argparse

from harness.cli.common import _data_dir, _load_hypothesis, _load_options, _reindex
from harness.cli.options import _common, _data_args
from harness.errors import HarnessError


def add_parser(sub) -> None:
    p = sub.add_parser("calibrate", help="A/A false-positive rate of the deciding interval and of naive tests "
                       "on this data (--seeds N trains the baseline N times; default max(10, 4 x the "
                       "hypothesis' seeds))")
    p.add_argument("hypothesis", help="hypothesis id, e.g. H1")
    _common(p)
    _data_args(p)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from harness.runner import calibrate, experiment
    from harness.data import load_dataset

    hyp = _load_hypothesis(args)
    dataset = args.dataset or hyp.dataset
    if args.seeds == "auto":
        raise HarnessError("calibrate --seeds takes a number of seeds (the budget), e.g. --seeds 40")
    n_seeds = args.seeds if args.seeds is not None else max(10, 4 * len(hyp.seeds))
    if n_seeds < 2:
        raise HarnessError("--seeds must be at least 2 for an A/A pair")
    inter = load_dataset(dataset, _data_dir(args, dataset), args.cache_dir, columns=dict(args.column), positives=hyp.positives,
                         **_load_options(args))
    p = experiment.prepare_hypothesis(hyp.replace(dataset=dataset), inter)
    cal = calibrate.calibrate(p, n_seeds, n_jobs=args.n_jobs, quiet=args.quiet, backend=args.backend,
                              scheduler=args.scheduler, cache_dir=None if args.no_cache else args.cache_dir / "tasks")
    print(calibrate.render(cal))
    _reindex(args)
    return 0
