"""The data's identity: one hash over everything that can change a number before any arm runs.

A dataset's identity covers the full contents of every file a loader read (hashed in full, never a
sample of the bytes), the reader options (``--sep``, ``--names``, ``--column``, ``--split``,
``--positives``), the side files (``--item-features``) and the dataset name (which carries the
generator's parameters, e.g. ``synthetic-vk:x4+cold``). The task cache key, the run id, provenance
and the gate's "same data" check all use it (:attr:`harness.data.base.Interactions.fingerprint`).

Hashing streams the file (sha256, ~1 GB/s); for files of :data:`MEMO_MIN_BYTES` and more the digest is
remembered under ``<user cache>/filehash/`` keyed by (absolute path, size, mtime_ns, inode), so a
multi-GB file is read once per change, not once per run.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Mapping

from harness.data.safe_write import make_temp_file

#: Files at least this large get their digest memoised (smaller ones are cheaper to hash than to look up).
MEMO_MIN_BYTES = 64 << 20
_CHUNK = 1 << 20


def _memo_root() -> Path | None:
    from harness.data.cachedir import user_cache_dir

    try:
        return user_cache_dir() / "filehash"
    except (OSError, RuntimeError):  # no home directory: hash every time
        return None


def file_digest(path: Path, memo_root: Path | None = None) -> str:
    """sha256 (hex) of the whole file; memoised by (path, size, mtime_ns, inode) for large files."""
    path = Path(path)
    st = path.stat()
    memo = None
    if st.st_size >= MEMO_MIN_BYTES:
        root = memo_root if memo_root is not None else _memo_root()
        if root is not None:
            key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
            memo = root / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".sha256")
            try:
                stored = memo.read_text().split("\n")
                if len(stored) >= 2 and stored[0] == key and len(stored[1]) == 64:
                    return stored[1]
            except (OSError, UnicodeDecodeError):
                pass
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    digest = h.hexdigest()
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = make_temp_file(memo.parent, ".tmp-")
            with os.fdopen(fd, "w") as f:
                f.write(f"{key}\n{digest}\n")
            os.replace(tmp, memo)
        except OSError:  # a read-only cache: the digest is still right, only not remembered
            pass
    return digest


def fingerprint_files(paths: Iterable[Path]) -> str:
    """Hash (16 hex) of the files' names, sizes and full contents, in sorted path order."""
    h = hashlib.sha256()
    for p in sorted(Path(x) for x in paths):
        h.update(f"{p.name}:{p.stat().st_size}:{file_digest(p)}\n".encode())
    return h.hexdigest()[:16]


def combine(files_fingerprint: str, options: Mapping[str, object]) -> str:
    """Hash (16 hex) of the loaders' file fingerprint and every option that shapes the loaded data."""
    blob = json.dumps({"files": files_fingerprint, "options": dict(options)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
