"""``python -m harness show``: print the verdict table of a run."""
from __future__ import annotations

import argparse

from harness.cli.options import _common
from harness.errors import HarnessError


def add_parser(sub) -> None:
    p = sub.add_parser("show", help="print the verdict table of a run")
    p.add_argument("run", nargs="?", default="latest", help="run id, run folder, or 'latest'")
    p.add_argument("hypothesis", nargs="?", default=None, help="with 'latest': the hypothesis id")
    _common(p)


def cmd_show(args: argparse.Namespace) -> int:
    from harness.outputs import report, run_files, run_folder as results

    if args.run == "latest":
        target = results.latest(args.results_dir, args.hypothesis)
        if target is None:
            raise HarnessError(f"no runs under {args.results_dir}; run one with: python -m harness run H1")
    else:
        target = results.find(args.run, args.results_dir)
        if target is None:
            raise HarnessError(f"run {args.run!r} not found under {args.results_dir}; use a run id, a folder, "
                               "or 'latest'")
    path = target / "summary.json"
    if not path.is_file():
        raise HarnessError(f"{path}: not found; is {target} a run folder?")
    doc = run_files.read_summary(path)
    try:
        text = report.terminal(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as e:  # a field of the wrong shape inside the file
        raise run_files.rendering_error(path, e) from None
    print(text)
    return 0
