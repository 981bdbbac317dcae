"""Resumable HTTP(S) download into a ``.part`` file, and verification against pinned size and hashes.

Standard library only (``urllib``). A download that stops early keeps its ``.part`` file and the next
call asks the server for the rest (``Range: bytes=N-``); a server that ignores the range gets a fresh
download. Every failure is a one-line :class:`HarnessError` that says what to do.
"""
from __future__ import annotations

import hashlib
import http.client
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from harness.errors import HarnessError

CHUNK = 1 << 16
USER_AGENT = "recsys-harness (python urllib)"


@dataclass(frozen=True)
class Pin:
    """What a finished download must match. ``None`` fields are not checked."""

    size: int | None = None
    sha256: str | None = None
    md5: str | None = None


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _open(url: str, start: int, timeout: float):
    headers = {"User-Agent": USER_AGENT}
    if start:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)  # noqa: S310


def download(url: str, part: Path, *, size: int | None = None, manual: str = "", quiet: bool = False,
             timeout: float = 60.0, progress_file: TextIO | None = None) -> Path:
    """Download ``url`` into ``part`` (resuming a partial file) and return ``part``.

    Parameters
    ----------
    url : http(s) URL.
    part : the partial file (created with its parent directory).
    size : expected size in bytes when pinned; a larger partial file is discarded.
    manual : the "download it by hand" advice appended to network errors.
    quiet : no progress bar (otherwise a tqdm bar with bytes on ``progress_file``, default stderr).
    timeout : seconds a connect or a read may stall before the download counts as interrupted.
    """
    part = Path(part)
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.is_file() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    if size is not None and have == size:
        return part
    tail = f"; {manual}" if manual else ""
    try:
        resp = _open(url, have, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the range starts at or past the end: start again from zero
            part.unlink()
            return download(url, part, size=size, manual=manual, quiet=quiet, timeout=timeout,
                            progress_file=progress_file)
        raise HarnessError(f"{url}: HTTP {exc.code} {exc.reason}{tail}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise HarnessError(f"cannot reach {_host(url)} ({reason}){tail}") from None
    with resp:
        resumed = have > 0 and resp.status == 206
        if not resumed:
            have = 0
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length is not None and length.isdigit() else size
        from tqdm import tqdm

        bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024, desc=part.name[:-5],
                   disable=quiet, file=progress_file or sys.stderr)
        got = have
        try:
            with open(part, "ab" if resumed else "wb") as f:
                while True:
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    f.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as exc:  # reset, timeout, IncompleteRead
            raise HarnessError(f"download of {url} interrupted after {got} of {total or '?'} bytes "
                               f"({type(exc).__name__}); rerun the same command to resume") from None
        finally:
            bar.close()
    if total is not None and got < total:
        raise HarnessError(f"download of {url} interrupted after {got} of {total} bytes (the connection closed "
                           "early); rerun the same command to resume")
    return part


def digests(path: Path) -> tuple[str, str]:
    """(SHA-256, MD5) hex digests of a file, read in chunks."""
    sha, md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324 - MD5 only as GroupLens' published check
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def verify(path: Path, pin: Pin, what: str, *, zip_archive: bool = True) -> None:
    """Check ``path`` against ``pin`` (and that it is a sound zip); on failure delete it and raise one line."""
    path = Path(path)
    problem = None
    n = path.stat().st_size
    if pin.size is not None and n != pin.size:
        problem = f"is {n} bytes, expected {pin.size}"
    if problem is None and (pin.sha256 or pin.md5):
        sha, md5 = digests(path)
        if pin.sha256 and sha != pin.sha256.lower():
            problem = f"has SHA-256 {sha[:16]}..., expected {pin.sha256[:16]}..."
        elif pin.md5 and md5 != pin.md5.lower():
            problem = f"has MD5 {md5}, expected {pin.md5}"
    if problem is None and zip_archive:
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
            if bad is not None:
                problem = f"is a damaged zip (member {bad!r} fails its CRC)"
        except zipfile.BadZipFile:
            problem = "is not a zip archive"
    if problem is not None:
        path.unlink()
        raise HarnessError(f"{what}: the download {problem}; deleted it, nothing was cached (a corrupted or "
                           "changed file: rerun to download again, or check --mirror)")
