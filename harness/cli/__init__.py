"""Command line: ``python -m harness {run,list,show,new,gate,calibrate,index,diff,check-arm,data}``.

User errors (:class:`HarnessError`) print one line and exit 2; real bugs show a traceback.

One module per sub-command, each with ``add_parser(sub)`` (its flags) and its ``cmd_*`` function:
:mod:`.run` (run, run --all / --reference), :mod:`.listing` (list), :mod:`.show`, :mod:`.gate`,
:mod:`.calibrate`, :mod:`.index`, :mod:`.diff`, :mod:`.new` (writing the file: :mod:`.scaffold`),
:mod:`.check_arm` (check-arm) and :mod:`.data` (data fetch, data list). Shared by them:
:mod:`.options` (argument types and flag groups) and :mod:`.common` (steps after parsing: the
hypothesis with its flag overrides, the data folder, the results index). Heavy modules are imported
inside the ``cmd_*`` functions, so building the parser stays fast.
"""
from __future__ import annotations

import argparse
import sys

from harness.cli import calibrate, check_arm, data, diff, gate, index, listing, new, run, show
from harness.cli.calibrate import cmd_calibrate
from harness.cli.check_arm import cmd_check_arm
from harness.cli.common import with_seeds
from harness.cli.data import cmd_data
from harness.cli.diff import cmd_diff
from harness.cli.gate import cmd_gate
from harness.cli.index import cmd_index
from harness.cli.listing import cmd_list
from harness.cli.new import cmd_new
from harness.cli.run import cmd_run
from harness.cli.show import cmd_show
from harness.errors import HarnessError

__all__ = ["COMMANDS", "build_parser", "main", "with_seeds", "cmd_run", "cmd_list", "cmd_show", "cmd_gate",
           "cmd_calibrate", "cmd_new", "cmd_index", "cmd_diff", "cmd_check_arm", "cmd_data"]

# The sub-parsers, in the order ``python -m harness --help`` lists them.
_PARSERS = (run, listing, show, gate, calibrate, index, diff, new, check_arm, data)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    ap.add_argument("--debug", action="store_true", help="show tracebacks for user errors too")
    sub = ap.add_subparsers(dest="command", required=True)
    for module in _PARSERS:
        module.add_parser(sub)
    return ap


COMMANDS = {"run": cmd_run, "list": cmd_list, "show": cmd_show, "gate": cmd_gate, "calibrate": cmd_calibrate,
            "new": cmd_new, "index": cmd_index, "diff": cmd_diff, "check-arm": cmd_check_arm, "data": cmd_data}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except HarnessError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished tasks are cached; rerun the same command to resume", file=sys.stderr)
        return 130
