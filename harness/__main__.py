import os
import sys

from harness import cli

code = cli.main()
if code == 2:
    # A user error was already reported in one line and nothing was written. Skip interpreter
    # teardown: once in a CI run under load, pyarrow's C++ thread pool aborted at exit ("terminate
    # called without an active exception", SIGABRT) after such an error, turning exit 2 into -6.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
raise SystemExit(code)
