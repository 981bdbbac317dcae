"""Where and how the harness writes files: paths confined to their root, temp files under the umask.

Names that become paths (arm names, a registry's ``filename``) are validated where they are read; this
module is the second line of defence every writer uses before it creates a file (:func:`confined`), and
the temp-file maker that gives a temp folder or file the permissions a plain ``mkdir`` / ``open`` would
under the process umask (``tempfile.mkdtemp`` / ``mkstemp`` make them 0700 / 0600, so a run folder
renamed into a shared results folder would be unreadable for the team).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from harness.errors import HarnessError

#: Characters a plain file name may not contain (:func:`plain_name_problem`).
_BAD_IN_NAME = ("/", "\\", ":", "\0")


def plain_name_problem(name: object) -> str | None:
    """Why ``name`` is not one plain file-name component (a string with no ``/``, ``\\``, ``:`` or NUL,
    not ``.`` / ``..``; so never absolute), or None when it is one."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    bad = next((c for c in _BAD_IN_NAME if c in name), None)
    if bad is not None:
        return f"contains {bad!r}"
    if name in (".", ".."):
        return f"is {name!r}"
    return None


def is_within(root: Path, path: Path) -> bool:
    """True when ``path`` lies inside ``root`` (or is it) once both are resolved: ``..`` and symlinks of
    the existing part of ``path`` followed."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    return real == real_root or real.is_relative_to(real_root)


def confined(root: Path, path: Path, what: str) -> Path:
    """``path`` unchanged when it lies under ``root`` (see :func:`is_within`); else a one-line
    :class:`HarnessError` naming ``what`` (the input the path came from) and nothing is written."""
    if not is_within(root, path):
        raise HarnessError(f"{what}: refusing to write {path}: it resolves to {os.path.realpath(path)}, outside "
                           f"{root} (a '..', an absolute path or a symlinked folder in the name); nothing was written")
    return Path(path)


def _candidate(parent: Path, prefix: str, suffix: str) -> Path:
    return Path(parent) / f"{prefix}{secrets.token_hex(6)}{suffix}"


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new, uniquely named folder in ``parent`` with the mode ``mkdir`` gives (0o777 minus the umask)."""
    for _ in range(100):
        p = _candidate(parent, prefix, "")
        try:
            os.mkdir(p, 0o777)
            return p
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary folder name {prefix}* in {parent}")  # pragma: no cover


def make_temp_file(parent: Path, prefix: str = ".tmp-", suffix: str = "") -> tuple[int, Path]:
    """(open descriptor, path) of a new, uniquely named file in ``parent`` with the mode ``open`` gives
    (0o666 minus the umask); like :func:`tempfile.mkstemp` otherwise."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        p = _candidate(parent, prefix, suffix)
        try:
            return os.open(p, flags, 0o666), p
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name {prefix}*{suffix} in {parent}")  # pragma: no cover


def writable_dir(path: Path, flag: str) -> None:
    """Refuse ``path`` (the value of ``flag``) as a folder to write into, before any work: a file, a path
    under a file, or (not created yet) under a folder that cannot take new entries. Creates nothing."""
    d = Path(path)
    if d.exists() and not d.is_dir():
        raise HarnessError(f"{flag} {d} is a file, not a directory; give a directory (it is created if missing)")
    probe = d.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise HarnessError(f"{flag} {d}: {probe} is a file, so no folder can be created under it; give a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise HarnessError(f"{flag} {d}: {probe} is not writable (read-only or no permission); give a folder you "
                           "can write to")
