"""``python -m harness index``: rebuild results/README.md (latest verdict per hypothesis, runs per hypothesis);
the committed results/reference/README.md is rebuilt only by ``run --reference``."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.options import _common


def add_parser(sub) -> None:
    p = sub.add_parser("index", help="rebuild results/README.md: latest verdict per hypothesis, runs per hypothesis")
    _common(p)


def cmd_index(args: argparse.Namespace) -> int:
    from harness.outputs import reference_runs
    from harness.runner import discover

    root = Path(args.results_dir)
    if not root.is_dir():
        print(f"no results folder {root}; run a hypothesis first (python -m harness run H1) or pass --results-dir")
        return 0
    idx = reference_runs.reindex(root, lambda: discover.registered_ids(args.hypotheses))[0]
    for line in idx.skipped:
        print(line)
    if idx.n_runs:
        print(f"wrote {root / 'README.md'}: {len(idx.runs)} hypotheses, {idx.n_runs} runs")
    else:
        print(f"no runs under {root}; run one with: python -m harness run H1 (wrote an empty {root / 'README.md'})")
    return 0
