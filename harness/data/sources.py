"""Public datasets the harness can fetch by name: where each comes from, how it is pinned, its terms.

Every archive source is pinned by its size in bytes and SHA-256 where a trustworthy published value
exists (the comment on each entry says where it came from); where none exists, ``sha256`` is None and
a fetch is verified by size (when pinned) and zip integrity only, and says so. Nothing here downloads.

A JSON file (``--registry FILE`` or ``HARNESS_DATA_REGISTRY``) can override entries, e.g. for an
internal mirror holding re-packed archives::

    {"ml-100k": {"filename": "ml-100k.zip", "size": 4924029, "sha256": "50d2a9..."}}

Keys are :class:`Source` field names; unknown names or fields, and fields of the wrong type (checked
when the file is read, before any download), are a one-line error. An entry that sets ``sha256`` or
``size`` pins another archive: the built-in ``md5`` (GroupLens' MD5 of its own archive) is dropped
unless the entry gives ``md5`` too. ``filename`` must be one plain file name (it becomes a path in the
data cache). ``max_unpacked_bytes`` / ``max_ratio`` raise an archive's
size budget (:mod:`harness.data.archive`) for a trusted archive that exceeds it.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from harness.data.safe_write import plain_name_problem
from harness.errors import HarnessError, suggest

_ML_TERMS = ("MovieLens (GroupLens Research, University of Minnesota): research use, acknowledge the data set "
             "in publications, do not redistribute it; see https://grouplens.org/datasets/movielens/ and the "
             "archive's README")
_TFDS = ("size and SHA-256 from tensorflow/datasets tensorflow_datasets/url_checksums/movielens.txt "
         "(commit 1c076ac3c19c8ea83e1d1a75e0623c9a699e0d7c)")
_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"
# MD5s as GroupLens publishes them next to each frozen zip (ml-100k.zip.md5, ml-1m.zip.md5), copied from
# eli-osherovich/papers_with_code datasets/movielens/dl_config.py (ml-100k also in torchtext's MovieLens100K)
_MD5_100K = "0e33842e24a9c977be4e0107933c0723"
_MD5_1M = "c4d9eecfca2ab87c1945afe126590906"
_SUBSAMPLE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_MiB, _GiB = 1 << 20, 1 << 30
#: Archive budget of a source that sets none: total unpacked bytes, and expansion per member (x:1).
DEFAULT_MAX_UNPACKED = 1 * _GiB
DEFAULT_MAX_RATIO = 100.0


@dataclass(frozen=True)
class Source:
    """One fetchable dataset.

    Attributes
    ----------
    name : the ``--dataset`` name (``ml-100k``); for ``kind == "hf"`` the prefix before ``:``.
    kind : ``"zip"`` (one archive over HTTP(S)) or ``"hf"`` (files from a Hugging Face dataset repo).
    url : canonical download URL (``zip``) or the Hugging Face repo id (``hf``).
    filename : archive name; with a mirror the URL is ``<mirror>/<filename>``.
    size : archive size in bytes, or None when no trustworthy value is published.
    sha256 : lower-case hex SHA-256 of the archive, or None (then: size and zip integrity only).
    pinned_from : where ``size`` / ``sha256`` came from, or why there are none.
    terms : the licence / terms line printed once when the data is downloaded.
    expect : files that must exist in the unpacked folder (checked before it enters the cache).
    md5 : GroupLens' published MD5 of the archive (its ``.md5`` files), checked as well when set.
    max_unpacked_bytes : the archive may unpack to at most this many bytes (a few times the dataset's
        known size; a zip bomb is refused before anything is written).
    max_ratio : no member larger than 1 MiB may expand more than ``max_ratio``:1.
    """

    name: str
    kind: str
    url: str
    filename: str
    size: int | None
    sha256: str | None
    pinned_from: str
    terms: str
    expect: tuple[str, ...] = ()
    md5: str | None = None
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED
    max_ratio: float = DEFAULT_MAX_RATIO

    @property
    def verification(self) -> str:
        """How a download is verified, in words (printed on fetch, shown by ``data list``)."""
        if self.kind == "hf":
            return "huggingface_hub's own checks (no revision pinned)"
        if self.sha256:
            return "size and SHA-256"
        return "size and zip integrity only (no published SHA-256)" if self.size else \
            "zip integrity only (no published size or SHA-256)"


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("ml-100k", "zip", _GROUPLENS + "ml-100k.zip", "ml-100k.zip", 4924029,
           "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229", _TFDS, _ML_TERMS,
           ("u.data", "u.item", "u.user"), _MD5_100K, 64 * _MiB),  # ~16 MB unpacked
    Source("ml-1m", "zip", _GROUPLENS + "ml-1m.zip", "ml-1m.zip", 5917549,
           "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", _TFDS, _ML_TERMS,
           ("ratings.dat", "movies.dat", "users.dat"), _MD5_1M, 128 * _MiB),  # ~25 MB unpacked
    # GroupLens regenerates ml-latest-small from time to time; this pin is the build tfds recorded. A newer
    # build fails verification (one line; fetch it by hand and pass --data-dir).
    Source("ml-latest-small", "zip", _GROUPLENS + "ml-latest-small.zip", "ml-latest-small.zip", 978202,
           "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436", _TFDS, _ML_TERMS,
           ("ratings.csv", "movies.csv"), max_unpacked_bytes=32 * _MiB),  # ~3.3 MB unpacked
    # ml-latest is rebuilt periodically and no size or checksum is published for it (tfds does not pin it;
    # GroupLens' .md5 files cover the frozen releases only).
    Source("ml-latest", "zip", _GROUPLENS + "ml-latest.zip", "ml-latest.zip", None, None,
           "none published: ml-latest is rebuilt periodically", _ML_TERMS, ("ratings.csv", "movies.csv"),
           max_unpacked_bytes=6 * _GiB),  # ~1.2-1.4 GB unpacked, growing with each rebuild
    # The archive RecTools' and the MTS Teta course's examples download, at a fixed commit of the
    # dataset repository; no size or checksum is published for it.
    Source("kion", "zip", "https://github.com/irsafilo/KION_DATASET/raw/f69775be31fa5779907cf0a92ddedb70037fb5ae/"
           "data_original.zip", "data_original.zip", None, None,
           "none published (URL pinned to commit f69775be of irsafilo/KION_DATASET)",
           "MTS KION (MTS Digital): see the licence in https://github.com/irsafilo/KION_DATASET before use",
           ("interactions.csv", "items.csv"), max_unpacked_bytes=4 * _GiB),  # ~1 GB unpacked
    Source("vk-lsvd", "hf", "deepvk/VK-LSVD", "", None, None,
           "huggingface_hub checks each file against the hub's own LFS SHA-256; no revision pinned",
           "VK-LSVD (deepvk/VK-LSVD): see the licence on https://huggingface.co/datasets/deepvk/VK-LSVD before use"),
)}


def split_name(name: str) -> tuple[str, str]:
    """``"vk-lsvd:up0.001_ip0.001"`` -> (``"vk-lsvd"``, ``"up0.001_ip0.001"``); ``"ml-100k"`` -> (name, "")."""
    base, _, arg = str(name).partition(":")
    return base, arg


def is_fetchable(name: str) -> bool:
    """True when ``name`` (as typed for ``--dataset``) can be fetched."""
    return split_name(name)[0] in SOURCES


def get(name: str, registry: dict[str, Source] | None = None) -> Source:
    """The source of ``name`` (``vk-lsvd:<subsample>`` -> the vk-lsvd source); unknown names raise."""
    reg = SOURCES if registry is None else registry
    base, arg = split_name(name)
    if base not in reg:
        raise HarnessError(suggest(name, sorted(reg), "dataset to fetch"))
    src = reg[base]
    if src.kind == "hf" and not arg:
        raise HarnessError(f"dataset {base!r} needs a subsample: {base}:<name>, e.g. {base}:up0.001_ip0.001")
    if src.kind == "hf" and not _SUBSAMPLE.match(arg):
        raise HarnessError(f"dataset {name!r}: the subsample {arg!r} must be one folder name (letters, digits, "
                           f"'.', '_', '-'; not starting with '.'), e.g. {base}:up0.001_ip0.001")
    if src.kind != "hf" and arg:
        raise HarnessError(f"dataset {base!r} takes no ':{arg}' part; write {base}")
    return src


def _hex(n: int) -> Callable[[Any], str | None]:
    return lambda v: None if v is None or (isinstance(v, str) and re.fullmatch(f"[0-9a-fA-F]{{{n}}}", v)) \
        else f"must be {n} hex digits or null"


def _text(v: Any) -> str | None:
    return None if isinstance(v, str) else "must be a string"


def _positive_int(v: Any, null: bool) -> str | None:
    if v is None and null:
        return None
    ok = isinstance(v, int) and not isinstance(v, bool) and v > 0
    return None if ok else "must be a positive whole number of bytes" + (" or null" if null else "")


def _ratio(v: Any) -> str | None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 1
    return None if ok else "must be a number >= 1 (the x of x:1)"


def _filename(v: Any) -> str | None:
    problem = plain_name_problem(v)
    return None if problem is None else f"must be one plain file name (no '/', '\\', ':', '..'; {problem})"


def _expect(v: Any) -> str | None:
    if not isinstance(v, list) or not all(isinstance(f, str) and f and all(
            plain_name_problem(part) is None for part in f.split("/")) for f in v):
        return "must be a list of relative file paths inside the archive folder, e.g. [\"u.data\"]"
    return None


#: Registry field -> check returning why a value is wrong (None: fine).
_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "url": lambda v: None if isinstance(v, str) and v else "must be a non-empty string",
    "filename": _filename, "size": lambda v: _positive_int(v, True), "sha256": _hex(64), "md5": _hex(32),
    "pinned_from": _text, "terms": _text, "expect": _expect,
    "max_unpacked_bytes": lambda v: _positive_int(v, False), "max_ratio": _ratio,
}


def load_registry(path: Path | None) -> dict[str, Source]:
    """The built-in sources with the overrides of the JSON file ``path`` applied (None: built-in only).
    Every field's type is checked here, before anything is downloaded."""
    if path is None:
        return dict(SOURCES)
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"--registry {path}: file not found") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise HarnessError(f"--registry {path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise HarnessError(f"--registry {path}: expected an object of dataset name -> fields")
    out = dict(SOURCES)
    allowed = set(_CHECKS)
    for name, over in doc.items():
        if name not in out:
            raise HarnessError(f"--registry {path}: " + suggest(name, sorted(out), "dataset"))
        if not isinstance(over, dict) or set(over) - allowed:
            bad = sorted(set(over) - allowed) if isinstance(over, dict) else [name]
            raise HarnessError(f"--registry {path}: entry {name!r} has unknown field {bad[0]!r}; "
                               f"allowed: {', '.join(sorted(allowed))}")
        for field, value in over.items():
            problem = _CHECKS[field](value)
            if problem is not None:
                raise HarnessError(f"--registry {path}: entry {name!r} field {field!r} {problem}, got {value!r}")
        if "expect" in over:
            over = dict(over, expect=tuple(over["expect"]))
        if ("sha256" in over or "size" in over) and "md5" not in over:
            over = dict(over, md5=None)  # the built-in MD5 pins the built-in archive, not the one pinned here
        out[name] = replace(out[name], **over)
    return out
