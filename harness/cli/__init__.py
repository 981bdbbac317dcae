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


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the project's rule for bad input), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    ap = OneLineParser(prog="python -m harness", description=__doc__.splitlines()[0])
    ap.add_argument("--debug", action="store_true", help="show tracebacks for user errors too")
    sub = ap.add_subparsers(dest="command", required=True)
    for module in _PARSERS:
        module.add_parser(sub)
    return ap


COMMANDS = {"run": cmd_run, "list": cmd_list, "show": cmd_show, "gate": cmd_gate, "calibrate": cmd_calibrate,
            "new": cmd_new, "index": cmd_index, "diff": cmd_diff, "check-arm": cmd_check_arm, "data": cmd_data}


#: Exit code when stdout's reader went away (``| head``): 128 + SIGPIPE, what a shell reports for a Unix
#: tool killed by that signal (``cat big | head -1``); distinct from 1 (gate FAIL) and 2 (bad input).
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command and return its exit code.

    0 done (``gate``: PASS), 1 ``gate`` FAIL, 2 bad input (one ``error:`` line; also when a hypothesis or
    arm file calls ``sys.exit()`` inside a command: user code never chooses the exit code), 130
    interrupted, :data:`EXIT_BROKEN_PIPE` (141) when the reader of stdout closed it early (``list | head
    -1``): quietly, like a Unix tool, with stdout pointed at devnull so the interpreter's final flush
    cannot print a BrokenPipeError either (the recipe of Python's ``signal`` docs, with 141 instead of
    their 1, which here means a gate FAIL).
    """
    args = build_parser().parse_args(argv)
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # output that fit in the buffer meets a closed pipe here, not at exit
        return code
    except BrokenPipeError:
        if not _stdout_closed():  # some other pipe (e.g. to a worker) broke: a real failure
            raise
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except HarnessError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished tasks are cached; rerun the same command to resume", file=sys.stderr)
        return 130
    except SystemExit as e:  # parse_args is done: this is user code (an arm run in-process) exiting
        if args.debug:
            raise
        print(f"error: {args.command}: user code (an arm's fit or scorer?) called sys.exit({e.code!r}) while the "
              "command ran; remove the exit call", file=sys.stderr)
        return 2


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on it); True where poll is
    unavailable (Windows), as the BrokenPipeError then most likely came from printing."""
    import select

    if not hasattr(select, "poll"):
        return True
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (OSError, ValueError):
        return False


def _stdout_to_devnull() -> None:
    """Point file descriptor 1 at devnull, so that nothing more (nor the final flush) hits the closed pipe."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (captured in tests): nothing to silence
        pass
