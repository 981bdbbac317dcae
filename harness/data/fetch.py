"""Fetch public datasets by name into the data cache: download, verify, unpack atomically.

Cache layout (``root`` = ``--cache-dir`` of ``data fetch``, default :func:`cachedir.user_cache_dir`)::

    <root>/data/<name>/               the unpacked files (the archive's single top folder removed)
    <root>/data/<name>/.fetched.json  written last: source URL, size, SHA-256, how it was verified
    <root>/data/.partial/<file>.part  an unfinished download (resumed by the next fetch)
    <root>/data/vk-lsvd/              VK-LSVD in its own layout; .fetched-<subsample>.json per subsample

A dataset enters the cache only whole: the archive is verified, checked against its size budget and
for unsafe members (:mod:`harness.data.archive`), unpacked into a temporary sibling folder, checked for
the files its loader needs, and renamed into place in one step. A folder without ``.fetched.json`` is
never used, and nothing is written outside ``<root>/data``.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from harness.data import archive, cachedir, sources
from harness.data.archive import human
from harness.data.download import Pin, download, verify
from harness.data.safe_write import confined
from harness.data.sources import Source
from harness.errors import HarnessError

MARKER = ".fetched.json"


@dataclass(frozen=True)
class Fetched:
    """Result of :func:`fetch`.

    Attributes
    ----------
    name : dataset name as given (``vk-lsvd:up0.001_ip0.001``).
    path : the folder to pass as ``--data-dir``.
    downloaded : False when the dataset was already cached (nothing was done).
    verified : how the download was verified (:attr:`Source.verification`).
    """

    name: str
    path: Path
    downloaded: bool
    verified: str


def _marker(root: Path, name: str) -> Path:
    base, sub = sources.split_name(name)
    d = cachedir.dataset_dir(root, base)
    return d / (f".fetched-{sub}.json" if sub else MARKER)


def cached(name: str, root: Path | None = None) -> Path | None:
    """The cached folder of ``name`` if it was fetched whole, else None. Never touches the network."""
    root = cachedir.user_cache_dir() if root is None else Path(root)
    return cachedir.dataset_dir(root, name) if _marker(root, name).is_file() else None


def url_of(src: Source, mirror: str | None) -> str:
    """The archive URL: the canonical one, or ``<mirror>/<filename>``."""
    return f"{mirror.rstrip('/')}/{src.filename}" if mirror else src.url


def hub_files(subsample: str) -> list[str]:
    """The VK-LSVD repo files a hypothesis needs: the 26 weekly files of ``subsample``, metadata, embeddings."""
    from harness.data import vk_lsvd

    return vk_lsvd._files_for(subsample, range(vk_lsvd.N_WEEKS))


def _manual(name: str, src: Source) -> str:
    """The one-line advice for getting ``name`` by hand (from its home URL, whatever the mirror): download
    it and give ``run --data-dir`` its folder. Never "put it into the cache": a folder there without the
    marker :func:`fetch` writes after verifying is not used (:func:`cached`)."""
    if src.kind == "hf":
        return (f"download {', '.join(hub_files(sources.split_name(name)[1])[-3:])} and the weekly files from "
                f"https://huggingface.co/datasets/{src.url} keeping the repository's layout, and pass --data-dir "
                "with that folder")
    return (f"download {src.url} by hand, unzip it and pass --data-dir with the unzipped folder (the one holding "
            f"{', '.join(src.expect)})")


def _unpack(archive_path: Path, target: Path, src: Source, record: dict, what: str) -> None:
    """Check the archive (:func:`archive.plan`: budget, ratio, paths, links, clashes) before writing anything,
    unpack it into a temporary sibling of ``target``, check ``src.expect``, write the marker, rename."""
    limits = archive.Limits(src.name, src.max_unpacked_bytes, src.max_ratio)
    members = archive.plan(archive_path, limits, what)
    tmp = target.parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        archive.unpack(archive_path, tmp, members, limits, what)
        missing = [f for f in src.expect if not (tmp / f).is_file()]
        if missing:
            raise HarnessError(f"{src.name}: the archive lacks {', '.join(missing)}; it is not the expected "
                               "dataset (check --mirror), nothing was cached")
        (tmp / MARKER).write_text(json.dumps(record, indent=1) + "\n")
        if target.exists():  # a folder without a marker: never used, replaced
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetch_zip(name: str, src: Source, root: Path, mirror: str | None, quiet: bool, timeout: float,
               out: TextIO) -> Path:
    target = confined(Path(root) / "data", cachedir.dataset_dir(root, name), f"dataset {name!r}")
    url = url_of(src, mirror)
    partial = target.parent / ".partial"
    part = confined(partial, partial / f"{src.filename}.part", f"registry field 'filename' of {name!r}")
    print(f"{name}: {src.terms}", file=out)
    if src.sha256 is None:
        print(f"{name}: note: {src.verification}; {src.pinned_from}", file=out)
    try:
        # an interrupted download keeps its .part (the next call resumes it); past this point, used or
        # refused, the download goes, whatever fails
        download(url, part, size=src.size, manual=_manual(name, src), quiet=quiet, timeout=timeout)
        try:
            verify(part, Pin(src.size, src.sha256, src.md5), f"{name} ({url})", zip_archive=False)
            record = {"name": src.name, "url": url, "size": part.stat().st_size, "sha256": src.sha256,
                      "verified": src.verification, "pinned_from": src.pinned_from}
            _unpack(part, target, src, record, name)
        finally:
            part.unlink(missing_ok=True)
    finally:
        for d in (partial, target.parent):
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
    return target


def _fetch_hub(name: str, src: Source, root: Path, out: TextIO) -> Path:
    sub = sources.split_name(name)[1]
    target = cachedir.dataset_dir(root, name)
    if importlib.util.find_spec("huggingface_hub") is None:
        raise HarnessError(f"{name}: fetching VK-LSVD needs huggingface_hub: pip install -e \".[hub]\" "
                           "(or pip install huggingface_hub)")
    from harness.data import vk_lsvd

    print(f"{name}: {src.terms}", file=out)
    marker = confined(target, _marker(root, name), f"dataset {name!r}")
    vk_lsvd.download(target, sub)
    marker.write_text(json.dumps({"name": name, "repo": src.url, "files": hub_files(sub),
                                  "verified": src.verification}, indent=1) + "\n")
    return target


def fetch(name: str, root: Path | None = None, *, mirror: str | None = None, offline: bool = False,
          quiet: bool = False, registry: dict[str, Source] | None = None, timeout: float = 60.0,
          out: TextIO | None = None) -> Fetched:
    """Make dataset ``name`` available in the cache and return where it is.

    Parameters
    ----------
    name : a :data:`sources.SOURCES` name, or ``vk-lsvd:<subsample>``.
    root : cache root (default :func:`cachedir.user_cache_dir`).
    mirror : base URL serving the archives by file name (replaces the canonical host).
    offline : never download; a dataset not yet cached is a one-line error saying what to get by hand.
    quiet : no progress bar.
    registry : sources to use (default the built-in ones; see :func:`sources.load_registry`).
    timeout : seconds a connection may stall.
    out : where the terms line and notes go (default stderr).
    """
    out = sys.stderr if out is None else out
    root = cachedir.user_cache_dir() if root is None else Path(root)
    src = sources.get(name, registry)
    found = cached(name, root)
    if found is not None:
        return Fetched(name, found, False, src.verification)
    if offline:
        raise HarnessError(f"{name} is not in the data cache and --offline / HARNESS_OFFLINE=1 is set: "
                           + _manual(name, src))
    path = _fetch_hub(name, src, root, out) if src.kind == "hf" else \
        _fetch_zip(name, src, root, mirror, quiet, timeout, out)
    return Fetched(name, path, True, src.verification)


def resolve(dataset: str, data_dir: Path | None, *, root: Path | None = None, mirror: str | None = None,
            offline: bool = False, quiet: bool = False, registry: dict[str, Source] | None = None) -> Path | None:
    """The folder to read ``dataset`` from: ``data_dir`` when given, else the cached copy of a fetchable
    dataset (fetched on first use unless ``offline``); None for datasets that need no folder."""
    if data_dir is not None or not sources.is_fetchable(dataset):
        return data_dir
    return fetch(dataset, root, mirror=mirror, offline=offline, quiet=quiet, registry=registry).path


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def listing(root: Path | None = None, registry: dict[str, Source] | None = None) -> list[str]:
    """One line per known dataset: cached (size on disk, folder) or not (download size, verification)."""
    root = cachedir.user_cache_dir() if root is None else Path(root)
    lines = []
    for src in (registry or sources.SOURCES).values():
        d = cachedir.dataset_dir(root, src.name)
        subs = sorted(p.name[len(".fetched-"):-len(".json")] for p in d.glob(".fetched-*.json")) \
            if src.kind == "hf" else []
        if (d / MARKER).is_file() or subs:
            what = f" ({', '.join(subs)})" if subs else ""
            lines.append(f"{src.name:<16} cached      {human(_du(d)):>10}  {d}{what}")
        else:
            size = human(src.size) if src.size else "size ?"
            lines.append(f"{src.name:<16} not cached  {size:>10}  verification: {src.verification}")
    return lines
