"""``python -m harness new``: scaffold a hypothesis file that runs as is (the file itself: :mod:`.scaffold`)."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("new", help="scaffold a hypothesis file that runs as is")
    p.add_argument("id", help="new hypothesis id, e.g. H6")
    p.add_argument("--claim", required=True, help="the claim in one sentence")
    p.add_argument("--hypotheses", type=Path, default=None, help="directory to write into (default ./hypotheses)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def cmd_new(args: argparse.Namespace) -> int:
    from harness.runner import discover as registry
    from harness.cli import scaffold

    directory = args.hypotheses or registry.default_dir()
    path = scaffold.write(directory, args.id, args.claim, force=args.force)
    print(f"wrote {path}; run it with: python -m harness run {args.id}")
    return 0
