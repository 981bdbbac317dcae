"""``python -m harness data {fetch,list}``: public datasets by name (download, verify and cache; list)."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import _fetch_options
from harness.cli.options import _fetch_args


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="public datasets by name: fetch, list")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download, verify and cache datasets (ml-100k, ml-1m, ml-latest-small, "
                        "ml-latest, kion, vk-lsvd:<subsample>)")
    f.add_argument("names", nargs="+", metavar="NAME", help="dataset name(s), e.g. ml-100k")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    lst = dsub.add_parser("list", help="known datasets: cached ones with their size and folder")
    for q in (f, lst):
        q.add_argument("--cache-dir", type=Path, default=None, help="data cache root (default HARNESS_CACHE_DIR "
                       "or the per-user cache, e.g. ~/.cache/recsys-harness); datasets go to <root>/data/<name>")
        q.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="tracebacks for user errors")
    _fetch_args(f)
    lst.add_argument("--registry", type=Path, default=None, metavar="FILE", help="JSON overriding dataset sources")


def cmd_data(args: argparse.Namespace) -> int:
    from harness.data import fetch

    if args.data_command == "list":
        from harness.data import sources

        for line in fetch.listing(args.cache_dir, sources.load_registry(args.registry)):
            print(line)
        return 0
    for name in args.names:
        got = fetch.fetch(name, args.cache_dir, quiet=args.quiet, **_fetch_options(args))
        state = "downloaded and verified" if got.downloaded else "already cached"
        print(f"{name}: {state} ({got.verified}): {got.path}")
    return 0
