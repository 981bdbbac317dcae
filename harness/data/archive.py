"""Unpacking a downloaded zip without trusting it: a size budget, a compression-ratio cap, plain paths only.

:func:`plan` reads the central directory and refuses, before anything is written, an archive that is not a
zip, a member that points outside the folder, a symlink entry, two members that would land on the same
path (``a`` and ``a/b``, or ``a`` twice), a declared total over the source's ``max_unpacked_bytes``, or a
member larger than :data:`RATIO_FLOOR` that expands more than ``max_ratio``:1. :func:`unpack` then
extracts while counting bytes (the header can lie) and checks each output path stays in the folder.
"""
from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harness.data.safe_write import confined
from harness.errors import HarnessError

#: Members smaller than this are never refused for their compression ratio (a small, repetitive file is harmless).
RATIO_FLOOR = 1 << 20
_CHUNK = _MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """How far an archive of dataset ``name`` may expand: ``max_unpacked_bytes`` in all, ``max_ratio``:1
    per member. Both are registry fields (:mod:`harness.data.sources`)."""

    name: str
    max_unpacked_bytes: int
    max_ratio: float

    def raise_it(self, field: str, value: int) -> str:
        """The fix: a registry entry raising ``field`` to ``value``."""
        return (f"if the archive is trusted, raise it with a registry file (--registry FILE or HARNESS_DATA_REGISTRY) "
                f'holding {{"{self.name}": {{"{field}": {int(value)}}}}}; nothing was cached')


def human(n: float) -> str:
    """Bytes as ``4.7 MiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _relative(infos: list[zipfile.ZipInfo], what: str) -> list[PurePosixPath]:
    """Each member's path (``\\`` read as ``/``, as on Windows); absolute or ``..`` paths raise."""
    paths = [PurePosixPath(i.filename.replace("\\", "/")) for i in infos]
    for p in paths:
        if p.is_absolute() or ".." in p.parts or ":" in p.parts[0] or "\0" in str(p):
            raise HarnessError(f"{what}: archive member {str(p)!r} points outside the folder; refusing to unpack, "
                               "nothing was cached")
    return paths


def _clash(paths: list[PurePosixPath]) -> tuple[str, str] | None:
    """Two members that would land on the same path (case-insensitively: as on macOS and Windows)."""
    files: dict[str, str] = {}
    for p in paths:
        key = str(p).casefold()
        if key in files:
            return files[key], str(p)
        files[key] = str(p)
    for p in paths:
        for parent in p.parents:
            if str(parent) != "." and str(parent).casefold() in files:
                return files[str(parent).casefold()], str(p)
    return None


def plan(archive: Path, limits: Limits, what: str) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """(member, relative path) of each file to unpack, the archive's single top folder stripped; raise one
    line (see the module docstring) when the archive must not be unpacked. Writes nothing."""
    try:
        with zipfile.ZipFile(archive) as z:
            all_infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise HarnessError(f"{what}: the download is not a zip archive ({exc}); nothing was cached") from None
    links = [i.filename for i in all_infos if _is_symlink(i)]
    if links:
        raise HarnessError(f"{what}: archive member {links[0]!r} is a symbolic link; refusing to unpack, "
                           "nothing was cached")
    infos = [i for i in all_infos if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    paths = _relative(infos, what)
    tops = {p.parts[0] for p in paths if len(p.parts) > 1}
    strip = len(tops) == 1 and all(len(p.parts) > 1 for p in paths)
    rel = [PurePosixPath(*p.parts[1:]) if strip else p for p in paths]
    clash = _clash(rel)
    if clash is not None:
        raise HarnessError(f"{what}: archive members {clash[0]!r} and {clash[1]!r} would land on the same path "
                           "(a file and a folder, or one name twice); refusing to unpack, nothing was cached")
    total = sum(i.file_size for i in infos)
    if total > limits.max_unpacked_bytes:
        raise HarnessError(f"{what}: the archive declares {human(total)} unpacked, over the budget of "
                           f"{human(limits.max_unpacked_bytes)} (registry field max_unpacked_bytes); "
                           + limits.raise_it("max_unpacked_bytes", -(-total // _MiB) * _MiB))
    for i in infos:
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
            raise HarnessError(f"{what}: archive member {i.filename!r} expands {ratio:.0f}:1 ({human(i.file_size)} "
                               f"from {human(i.compress_size)}), over the limit of {limits.max_ratio:g}:1 (registry "
                               f"field max_ratio); " + limits.raise_it("max_ratio", int(ratio) + 1))
    return list(zip(infos, rel))


def unpack(archive: Path, dest: Path, members: list[tuple[zipfile.ZipInfo, PurePosixPath]], limits: Limits,
           what: str) -> int:
    """Extract ``members`` (from :func:`plan`) into the folder ``dest``, counting bytes: a member that
    yields more than its header declares, or a total over the budget, stops it with one line (the caller
    removes ``dest``). Returns the bytes written."""
    total = 0
    try:
        with zipfile.ZipFile(archive) as z:
            for info, rel in members:
                out = confined(dest, dest.joinpath(*rel.parts), f"{what}: archive member {info.filename!r}")
                out.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with z.open(info) as fin, open(out, "xb") as fout:
                    for chunk in iter(lambda: fin.read(_CHUNK), b""):
                        written += len(chunk)
                        total += len(chunk)
                        if written > info.file_size:
                            raise HarnessError(f"{what}: archive member {info.filename!r} unpacks to more than the "
                                               f"{info.file_size} bytes its header declares; refusing it, nothing "
                                               "was cached")
                        if total > limits.max_unpacked_bytes:
                            raise HarnessError(f"{what}: the archive unpacks to more than its budget of "
                                               f"{human(limits.max_unpacked_bytes)} (registry field "
                                               "max_unpacked_bytes); " + limits.raise_it(
                                                   "max_unpacked_bytes", 2 * limits.max_unpacked_bytes))
                        fout.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise HarnessError(f"{what}: the download is a damaged zip ({exc}); nothing was cached (a corrupted or "
                           "changed file: rerun to download again, or check --mirror)") from None
    return total

