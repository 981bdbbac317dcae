"""The rule for names that can become file names: arm names (``--save-runs`` writes
``runs/<positives>/<arm>_seed<seed>.<ext>``) and segment names.

A name is 1 to :data:`MAX_LEN` characters: letters, digits, spaces and ``_ - + . @ ( )``, not starting
with ``.`` or a space and not ending with a space. So it is always one plain path component: never
``.`` / ``..``, never holding ``/``, ``\\``, ``:`` or NUL, never hidden.
"""
from __future__ import annotations

from harness.errors import HarnessError

MAX_LEN = 64
#: Characters allowed besides letters and digits.
PUNCTUATION = "_-+.@() "
RULE = (f"use 1-{MAX_LEN} letters, digits, spaces and _ - + . @ ( ), not starting with '.' or a space "
        "(names become file names)")


def name_problem(name: object) -> str | None:
    """Why ``name`` breaks the rule (see the module docstring), or None when it follows it."""
    if not isinstance(name, str) or not name:
        return "is empty" if name == "" else f"is not a string ({type(name).__name__})"
    if len(name) > MAX_LEN:
        return f"has {len(name)} characters (at most {MAX_LEN})"
    bad = sorted({c for c in name if not (c.isalnum() or c in PUNCTUATION)})
    if bad:
        return "contains " + " ".join(repr(c) for c in bad)
    if name[0] in ". ":
        return f"starts with {name[0]!r}"
    if name.endswith(" "):
        return "ends with a space"
    return None


def check_name(name: object, field: str, example: str) -> str:
    """``name`` when it follows the rule; else a one-line :class:`HarnessError` naming ``field`` (e.g.
    ``"Arm.name"``), what is wrong and the fix (``example`` is a valid call, e.g. ``"Arm('cf', 'lightfm')"``)."""
    problem = name_problem(name)
    if problem is not None:
        raise HarnessError(f"{field} {name!r} {problem}; {RULE}, e.g. {example}")
    return name  # type: ignore[return-value]
