"""The one user-facing error type.

Anything a user can fix (a bad hypothesis file, a missing data file, a wrong flag) raises
:class:`HarnessError` with a one-line message that names the file/field and the fix. The CLI turns
it into that line on stderr and exit code 2; every other exception is a bug and shows a traceback.
"""
from __future__ import annotations


class HarnessError(Exception):
    """A problem with the user's input, reported as one line and exit code 2."""


def suggest(name: str, choices: list[str] | tuple[str, ...], what: str) -> str:
    """Return ``"Unknown <what> 'name'. Did you mean: x? Available: a, b"``.

    Parameters
    ----------
    name : the value the user gave.
    choices : the accepted values.
    what : noun for the message, e.g. ``"hypothesis"``.
    """
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"Unknown {what} {name!r}.{hint} Available: {', '.join(str(c) for c in choices)}"
