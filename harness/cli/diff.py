"""``python -m harness diff``: compare two runs cell by cell (deltas, verdict changes, users who moved most)."""
from __future__ import annotations

import argparse

from harness.cli.options import _common, _positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("diff", help="compare two runs cell by cell: deltas, verdict changes, users who moved most")
    p.add_argument("run_a", help="older run: run id, run folder, or its summary.json")
    p.add_argument("run_b", help="newer run: run id, run folder, or its summary.json")
    p.add_argument("--metric", default=None, help="metric for the users who moved most (default: B's primary)")
    p.add_argument("--top", type=_positive_int, default=5, help="users who moved most to show per cell (default 5)")
    _common(p)


def cmd_diff(args: argparse.Namespace) -> int:
    from harness.outputs import diff

    folders = [diff.resolve(r, args.results_dir) for r in (args.run_a, args.run_b)]
    (doc_a, pu_a), (doc_b, pu_b) = (diff.load(f) for f in folders)
    print(diff.render(diff.compare(doc_a, pu_a, doc_b, pu_b, metric=args.metric, top=args.top)))
    return 0
