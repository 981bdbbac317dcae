"""``python -m harness check-arm``: check an arm against the contract (shape, float32, determinism, ...)."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.options import _mapping


def add_parser(sub) -> None:
    p = sub.add_parser("check-arm", help="check an arm against the contract (shape, float32, determinism, ...)")
    p.add_argument("arm", help="arm kind: a name, module:function or path/file.py:function")
    p.add_argument("--param", action="append", default=[], type=_mapping, metavar="KEY=VALUE",
                   help="a parameter passed to fit (a Python literal, e.g. --param factors=8)")
    p.add_argument("--seed", type=int, default=3, help="seed used for the fits (default 3)")


def cmd_check_arm(args: argparse.Namespace) -> int:
    import ast

    from harness.arms.check import check_arm
    from harness.arms.registry import absolute_kind

    params = {}
    for key, text in args.param:
        try:
            params[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            params[key] = text  # a bare word is a string
    res = check_arm(absolute_kind(args.arm, Path.cwd()), params, seed=args.seed)
    print(res.line())
    return 0 if res.ok else 1
