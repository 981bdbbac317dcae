"""Steps several sub-commands share once the flags are parsed: the hypothesis with its flag overrides,
the dataset's folder and load options, and rebuilding the results index after a run."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import HarnessError


def with_seeds(hyp, seeds: int | str | None):
    """``hyp`` with ``--seeds`` applied: N fixed seeds 0..N-1, or ``"auto"`` (an adaptive plan)."""
    from harness.runner.options import RunOptions

    return RunOptions(seeds=seeds).apply(hyp)


def _fetch_options(args: argparse.Namespace) -> dict:
    """offline / mirror / registry from the flags, else HARNESS_OFFLINE / HARNESS_DATA_MIRROR / _REGISTRY."""
    from harness.runner.options import fetch_options

    return fetch_options(args.offline, args.mirror, args.registry)


def _data_dir(args: argparse.Namespace, dataset: str) -> Path | None:
    """``--data-dir``, or the cached copy of a fetchable public dataset (fetched on first use)."""
    from harness.data import fetch

    return fetch.resolve(dataset, args.data_dir, quiet=args.quiet, **_fetch_options(args))


def _check_dirs(args: argparse.Namespace, results: bool = True) -> None:
    """``--results-dir`` (when ``results``: the command writes runs) and ``--cache-dir`` (unless
    ``--no-cache``) must be folders this process can write into; one line naming the flag if not."""
    from harness.data.safe_write import writable_dir

    if results and getattr(args, "results_dir", None) is not None:
        writable_dir(args.results_dir, "--results-dir")
    if getattr(args, "cache_dir", None) is not None and not getattr(args, "no_cache", False):
        writable_dir(args.cache_dir, "--cache-dir")


def _load_hypothesis(args: argparse.Namespace):
    from dataclasses import replace

    from harness.runner import discover as registry
    from harness.runner.options import RunOptions

    _check_dirs(args, results=args.command == "run" or (args.command == "gate" and args.run is None))
    hyp = registry.get(args.hypothesis, args.hypotheses)
    opts = RunOptions.from_args(args)  # the same overrides harness.run applies
    hyp = replace(opts, seeds=opts.seeds if args.command == "run" else None).apply(hyp)
    if getattr(args, "no_header", False) and not args.names:
        raise HarnessError("--no-header needs the column names: add --names, e.g. --names user,item,rating")
    if getattr(args, "names", None) and not args.no_header:
        raise HarnessError("--names names the columns of a file without a header row: add --no-header")
    return hyp


def _load_options(args: argparse.Namespace) -> dict:
    """Tabular-file options of the data flags (``load_dataset`` keywords)."""
    from harness.runner.options import RunOptions

    return RunOptions.from_args(args).load_options()


def _reindex(args: argparse.Namespace) -> None:
    """Rebuild the results index after a command that writes runs (the committed reference index only
    after ``run --reference``); a problem is one warning line."""
    from harness.outputs import reference_runs
    from harness.runner import discover

    if not Path(args.results_dir).is_dir():
        return
    try:
        reference_runs.reindex(args.results_dir, lambda: discover.registered_ids(args.hypotheses),
                               reference=bool(getattr(args, "reference", False)))
    except (HarnessError, OSError) as e:
        print(f"warning: results index not rebuilt: {e}", file=sys.stderr)


def print_warnings(doc: dict) -> None:
    """Each warning of a run's summary.json, one ``warning: ...`` line on stderr after the verdict line
    (stdout flushed first, so they follow it)."""
    from harness.outputs import report

    sys.stdout.flush()
    for w in report.warnings(doc):
        print(f"warning: {w}", file=sys.stderr)
