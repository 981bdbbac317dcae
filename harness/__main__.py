import os
import sys

from harness import cli

code = cli.main()
if code == 2:
    # A user error was already reported in one line and nothing was written. Skip interpreter
    # teardown: once in a CI run under load, pyarrow's C++ thread pool aborted at exit ("terminate
    # called without an active exception", SIGABRT) after such an error, turning exit 2 into -6.
    # os._exit skips what normal exit does for the worker processes: stop them here, or they outlive this
    # process for their idle timeout (holding a caller's stderr pipe open), and run the exit handlers
    # (joblib's shared-memory folders), or loky's resource tracker warns about leaks on stderr.
    import atexit

    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    if loky is not None and loky._executor is not None:
        loky._executor.shutdown(wait=True)  # workers end normally (killed ones could leave a registration)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
raise SystemExit(code)
