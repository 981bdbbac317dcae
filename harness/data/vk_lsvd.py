"""Reader for VK-LSVD (Hugging Face dataset ``deepvk/VK-LSVD``) in its on-disk layout.

Layout read (exactly as published)::

    <root>/subsamples/<name>/train/week_00.parquet ... week_24.parquet
    <root>/subsamples/<name>/validation/week_25.parquet
    <root>/metadata/items_metadata.parquet     item_id u32, author_id u32, duration u8 (s), ...
    <root>/metadata/users_metadata.parquet     user_id u32, age u8, gender u8, geo u8, ...
    <root>/metadata/item_embeddings.npz        item_id (n,) u32, embedding (n, 64) float16

Only ``user_id, item_id, timespent, like, dislike, share, bookmark`` (and ``click_on_author``,
``open_comments`` when every file has them) are read from the weekly files, batch by batch
(pyarrow.dataset column projection); the metadata tables and the embedding npz are read for the
users/items present by :mod:`harness.data.vk_metadata`, so memory stays bounded by the interactions kept.

Semantics
---------
* ``time`` is the week number taken from the file name (int64); the default split trains on weeks
  0-24 and tests on week 25 (:meth:`Split.global_time(25) <harness.spec.Split.global_time>`).
* Dense indices cover the users and items that appear in the interaction files read.
* Duplicates: rows with the same (user, item, week) are merged into one; ``timespent`` is the max
  and each flag is the OR of the merged rows (VK-LSVD promises no repeated exposure, so any such
  row is a duplicate). ``counts["duplicates_removed"]`` says how many rows were dropped.
* ``watch_ratio = timespent / duration`` clipped to [0, 10], NaN where the duration is 0 or the
  item is missing from items_metadata.
* Items without an embedding get a zero row and ``item_has_content == False``.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness.data.base import Interactions, encode_ids, require_columns, require_file
from harness.data.identity import fingerprint_files
from harness.data.vk_metadata import parquet_dataset, read_embeddings, read_meta, short_error
from harness.errors import HarnessError, suggest
from harness.spec import Split

HF_REPO = "deepvk/VK-LSVD"
N_WEEKS = 26
VALIDATION_WEEK = 25
DEFAULT_POSITIVES = ("watch_ratio>=0.5", "like|share|bookmark")
FLAGS = ("like", "dislike", "share", "bookmark")
#: Engagement flags read when every weekly file has them (the published files do); flag bits 4, 5.
OPTIONAL_FLAGS = ("click_on_author", "open_comments")
NEEDED = ("user_id", "item_id", "timespent") + FLAGS
_TARGET = {"user_id": pa.uint32(), "item_id": pa.uint32(), "timespent": pa.int32(),
           **{f: pa.bool_() for f in FLAGS + OPTIONAL_FLAGS}}
_BATCH_ROWS = 1 << 20
_LAYOUT = ("place the files as <root>/subsamples/<name>/train/week_00..24.parquet, "
           "<root>/subsamples/<name>/validation/week_25.parquet and <root>/metadata/"
           "{items_metadata.parquet,users_metadata.parquet,item_embeddings.npz}")
_GET = f"download them (pip install huggingface_hub; load(..., download=True)) or {_LAYOUT}"


# ----------------------------------------------------------------------------- locating files
def week_path(root: Path, subsample: str, week: int) -> Path:
    """Path of one weekly interaction file (weeks 0-24: ``train/``, week 25: ``validation/``)."""
    part = "validation" if week == VALIDATION_WEEK else "train"
    return Path(root) / "subsamples" / subsample / part / f"week_{week:02d}.parquet"


def metadata_paths(root: Path) -> dict[str, Path]:
    meta = Path(root) / "metadata"
    return {"items": meta / "items_metadata.parquet", "users": meta / "users_metadata.parquet",
            "embeddings": meta / "item_embeddings.npz"}


def _check_weeks(weeks: Iterable[int] | None) -> list[int]:
    if weeks is None:
        return list(range(N_WEEKS))
    out = sorted({int(w) for w in weeks})
    if not out or out[0] < 0 or out[-1] > VALIDATION_WEEK:
        raise HarnessError(f"vk-lsvd: weeks={weeks!r} must be a non-empty range within 0..{VALIDATION_WEEK} "
                           "(0-24 train, 25 validation), e.g. range(26)")
    return out


def available_subsamples(root: Path) -> list[str]:
    d = Path(root) / "subsamples"
    return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []


def _locate(root: Path, subsample: str, weeks: list[int]) -> tuple[list[Path], dict[str, Path]]:
    if not root.is_dir():
        raise HarnessError(f"VK-LSVD root {root} does not exist; {_GET}")
    sub = root / "subsamples" / subsample
    if not sub.is_dir():
        avail = available_subsamples(root)
        if avail:
            raise HarnessError(f"{sub}: no such VK-LSVD subsample. " + suggest(subsample, avail, "subsample"))
        raise HarnessError(f"{sub}: no such VK-LSVD subsample and {root / 'subsamples'} holds none; {_GET}")
    paths = [week_path(root, subsample, w) for w in weeks]
    missing = [str(p.relative_to(sub)) for p in paths if not p.is_file()]
    if missing:
        raise HarnessError(f"{sub}: missing week file(s) {', '.join(missing)}; re-download them, or pass "
                           "weeks=range(...) to read fewer weeks")
    meta = metadata_paths(root)
    for p in meta.values():
        require_file(p, "VK-LSVD metadata", f"download the metadata files or {_LAYOUT}")
    return paths, meta


# ----------------------------------------------------------------------------- download
def _files_for(subsample: str, weeks: Iterable[int]) -> list[str]:
    return ([f"subsamples/{subsample}/{'validation' if w == VALIDATION_WEEK else 'train'}/week_{w:02d}.parquet"
             for w in weeks]
            + ["metadata/items_metadata.parquet", "metadata/users_metadata.parquet", "metadata/item_embeddings.npz"])


def download(root: Path, subsample: str, weeks: Iterable[int] | None = None) -> Path:
    """Download one subsample and the metadata from the Hugging Face hub into ``root``.

    Uses ``huggingface_hub.snapshot_download(repo_id="deepvk/VK-LSVD", repo_type="dataset",
    allow_patterns=[...])``; raises a one-line :class:`HarnessError` saying how to get the files when
    ``huggingface_hub`` is missing or the download fails (e.g. no network). Returns ``root``.
    """
    root = Path(root)
    files = _files_for(subsample, _check_weeks(weeks))
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise HarnessError(f"VK-LSVD download needs huggingface_hub: pip install huggingface_hub "
                           f"(or 'recsys-harness[hub]'), or {_LAYOUT} under {root}") from None
    try:
        snapshot_download(repo_id=HF_REPO, repo_type="dataset", local_dir=str(root), allow_patterns=files)
    except Exception as exc:  # noqa: BLE001 - network, auth, disk: all user-fixable
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise HarnessError(f"VK-LSVD download of subsample {subsample!r} from {HF_REPO} into {root} failed "
                           f"({type(exc).__name__}: {reason}); check network access, or {_LAYOUT}") from None
    return root


_download = download  # ``load`` has a ``download`` flag that shadows the function


# ----------------------------------------------------------------------------- reading
def _cast(arr: pa.Array, col: str, target: pa.DataType, path: Path) -> pa.Array:
    if arr.null_count:
        raise HarnessError(f"{path}: column {col!r} has {arr.null_count} missing values; "
                           "re-download the file or drop those rows")
    if arr.type == target:
        return arr
    if col == "timespent":
        if pa.types.is_floating(arr.type):
            if pc.any(pc.is_nan(arr)).as_py():
                raise HarnessError(f"{path}: column 'timespent' has NaN values; timespent must be seconds >= 0")
            arr = pc.round(arr)
        if (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)) and len(arr) \
                and pc.min(arr).as_py() < 0:
            raise HarnessError(f"{path}: column 'timespent' has negative values (min {pc.min(arr).as_py()}); "
                               "timespent must be seconds >= 0")
    try:
        return pc.cast(arr, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise HarnessError(f"{path}: column {col!r} has type {arr.type} that cannot be read as {target} "
                           f"({short_error(exc)}); expected the VK-LSVD schema") from None


def _read_interactions(paths: list[Path], weeks: list[int]) -> dict[str, np.ndarray]:
    """Stream the weekly files; return compact arrays (ids u32, week u8, timespent i16, flag bits u8)."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("user", "item", "week", "timespent", "flags")}
    rows_per_file = []
    optional = set(OPTIONAL_FLAGS)
    for path, week in zip(paths, weeks, strict=True):
        dset = parquet_dataset(path)
        require_columns(dset.schema.names, NEEDED, path)
        extra = tuple(f for f in OPTIONAL_FLAGS if f in dset.schema.names)
        optional &= set(extra)
        n_file = 0
        try:
            for batch in dset.to_batches(columns=list(NEEDED + extra), batch_size=_BATCH_ROWS):
                if batch.num_rows == 0:
                    continue
                cols = {c: _cast(batch.column(c), c, _TARGET[c], path) for c in NEEDED + extra}
                parts["user"].append(cols["user_id"].to_numpy())
                parts["item"].append(cols["item_id"].to_numpy())
                parts["week"].append(np.full(batch.num_rows, week, dtype=np.uint8))
                spent = cols["timespent"].to_numpy()
                if spent.max() > np.iinfo(np.int16).max:
                    raise HarnessError(f"{path}: timespent values up to {spent.max()} s; VK-LSVD timespent is "
                                       "uint8 seconds: check the file")
                parts["timespent"].append(spent.astype(np.int16))
                bits = np.zeros(batch.num_rows, dtype=np.uint8)
                for k, f in enumerate(FLAGS + OPTIONAL_FLAGS):
                    if f in cols:
                        bits |= cols[f].to_numpy(zero_copy_only=False).astype(np.uint8) << k
                parts["flags"].append(bits)
                n_file += batch.num_rows
        except HarnessError:
            raise
        except (pa.ArrowException, OSError) as exc:
            raise HarnessError(f"{path}: cannot read parquet file ({short_error(exc)}); the file is corrupt: "
                               "re-download it") from None
        rows_per_file.append(n_file)
    train_rows = sum(n for n, w in zip(rows_per_file, weeks, strict=True) if w != VALIDATION_WEEK)
    if any(w != VALIDATION_WEEK for w in weeks) and train_rows == 0:
        raise HarnessError(f"{paths[0].parent}: the training week files hold no interactions; re-download them")
    if VALIDATION_WEEK in weeks and rows_per_file[weeks.index(VALIDATION_WEEK)] == 0:
        raise HarnessError(f"{paths[weeks.index(VALIDATION_WEEK)]}: the validation week holds no interactions, "
                           "so the test split would be empty; re-download it")
    out: dict = {k: np.concatenate(v) for k, v in parts.items()}
    out["optional"] = tuple(f for f in OPTIONAL_FLAGS if f in optional)
    return out


def _encode(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense int32 codes and sorted unique ids; a presence table when ids are small, else np.unique."""
    top = int(raw.max()) if raw.size else 0
    if top >= max(1 << 25, 4 * raw.size):
        return encode_ids(raw)
    present = np.zeros(top + 1, dtype=bool)
    present[raw] = True
    index = np.cumsum(present, dtype=np.int32)
    index -= 1
    return index[raw], np.flatnonzero(present).astype(raw.dtype)


def _dedup(user: np.ndarray, item: np.ndarray, week: np.ndarray, spent: np.ndarray, flags: np.ndarray,
           n_users: int, n_items: int) -> tuple[np.ndarray, ...]:
    """Sort by (week, user, item) and merge rows with the same key (max timespent, OR of flags).

    When the key space allows, timespent (15 bits) and the flag bits (6) ride in the low bits of the
    int64 key so one ``np.sort`` replaces a much slower ``argsort`` + gathers.
    """
    key = (week.astype(np.int64) * n_users + user) * n_items + item
    packed = N_WEEKS * n_users * n_items < (1 << 42)
    if packed:
        key <<= 21
        key |= spent.astype(np.int64) << 6
        key |= flags
        key.sort()
        spent = ((key >> 6) & 0x7FFF).astype(np.int16)
        flags = (key & 0x3F).astype(np.uint8)
        key >>= 21
    else:
        order = np.argsort(key)
        key = key[order]
        spent, flags = spent[order], flags[order]
        del order
    new = np.empty(len(key), dtype=bool)
    new[:1] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    n_dup = int(len(key) - new.sum())
    if n_dup:
        starts = np.flatnonzero(new)
        key = key[starts]
        spent = np.maximum.reduceat(spent, starts)
        flags = np.bitwise_or.reduceat(flags, starts)
    item_out = (key % n_items).astype(np.int32)
    key //= n_items
    user_out = (key % n_users).astype(np.int32)
    week_out = (key // n_users).astype(np.int64)
    return user_out, item_out, week_out, spent, flags, n_dup


def load(root: Path, subsample: str, *, weeks: Iterable[int] | None = None, name: str | None = None,
         download: bool = False) -> Interactions:
    """Read one VK-LSVD subsample into :class:`~harness.data.base.Interactions`.

    Parameters
    ----------
    root : dataset root (holds ``subsamples/`` and ``metadata/``).
    subsample : directory under ``subsamples/``, e.g. ``"up0.001_ip0.001"``.
    weeks : weeks to read (default ``range(26)``: train 0-24 and validation 25).
    name : dataset name for reports (default ``"vk-lsvd:<subsample>"``).
    download : fetch missing files from the Hugging Face hub first (see :func:`download`);
        never done unless asked.

    Returns
    -------
    Interactions : ``events`` columns ``user, item`` (int32), ``time`` (int64 week), ``timespent``
        (int16 s), ``duration`` (float32 s, NaN if unknown), ``watch_ratio`` (float32), ``like``,
        ``dislike``, ``share``, ``bookmark`` (bool), sorted by (time, user, item); ``item_content``
        float32 (n_items, 64); ``user_meta`` (age, gender, geo), ``item_meta`` (duration, author_id),
        NaN where missing; ``counts`` with the data-quality numbers.
    """
    root = Path(root)
    wk = _check_weeks(weeks)
    if download:
        try:
            _locate(root, subsample, wk)
        except HarnessError:
            _download(root, subsample, wk)
    paths, meta = _locate(root, subsample, wk)

    raw = _read_interactions(paths, wk)
    optional = raw.pop("optional")
    rows_read = len(raw["user"])
    ucodes, user_ids = _encode(raw.pop("user"))
    icodes, item_ids = _encode(raw.pop("item"))
    user, item, time, spent, flags, n_dup = _dedup(ucodes, icodes, raw.pop("week"), raw.pop("timespent"),
                                                   raw.pop("flags"), len(user_ids), len(item_ids))
    del ucodes, icodes

    ipos, ivals = read_meta(meta["items"], "item_id", item_ids, ["duration", "author_id"])
    if (ivals["duration"] < 0).any():
        raise HarnessError(f"{meta['items']}: negative durations; duration must be seconds >= 0")
    item_dur = np.full(len(item_ids), np.nan, dtype=np.float32)
    item_dur[ipos] = ivals["duration"]
    author = np.full(len(item_ids), np.nan)
    author[ipos] = ivals["author_id"]
    duration = item_dur[item]
    with np.errstate(divide="ignore", invalid="ignore"):
        wr = np.where(duration > 0, np.clip(spent / duration, 0.0, 10.0), np.nan).astype(np.float32)

    upos, uvals = read_meta(meta["users"], "user_id", user_ids, ["age", "gender", "geo"])
    ucols = {}
    for c in ("age", "gender", "geo"):
        ucols[c] = np.full(len(user_ids), np.nan, dtype=np.float32)
        ucols[c][upos] = uvals[c]
    user_meta = pd.DataFrame(ucols)
    item_meta = pd.DataFrame({"duration": item_dur, "author_id": author})

    content, has, dim, n_nonfinite = read_embeddings(meta["embeddings"], item_ids)

    events = pd.DataFrame({
        "user": user, "item": item, "time": time, "timespent": spent, "duration": duration, "watch_ratio": wr,
        **{f: (flags & np.uint8(1 << k)) > 0 for k, f in enumerate(FLAGS + OPTIONAL_FLAGS)
           if f in FLAGS or f in optional},
    })
    n_train_files = sum(w != VALIDATION_WEEK for w in wk)
    counts = {
        "rows_read": int(rows_read),
        "duplicates_removed": int(n_dup),
        "rows": len(events),
        "train_rows": int((time < VALIDATION_WEEK).sum()),
        "validation_rows": int((time == VALIDATION_WEEK).sum()),
        "users": len(user_ids),
        "items": len(item_ids),
        "zero_duration_rows": int((duration == 0).sum()),
        "missing_duration_rows": int(np.isnan(duration).sum()),
        "items_without_metadata": int(len(item_ids) - len(ipos)),
        "items_without_embeddings": int((~has).sum()),
        "items_nonfinite_embeddings": n_nonfinite,
        "users_without_metadata": int(len(user_ids) - len(upos)),
        "n_train_files": int(n_train_files),
        "n_validation_files": int(len(wk) - n_train_files),
    }
    return Interactions(
        name=name or f"vk-lsvd:{subsample}",
        events=events,
        user_ids=user_ids,
        item_ids=item_ids,
        default_positives=DEFAULT_POSITIVES,
        default_split=Split.global_time(VALIDATION_WEEK),
        fingerprint=fingerprint_files(list(paths) + list(meta.values())),
        item_content=content,
        item_has_content=has,
        content_desc=f"VK-LSVD item embeddings ({dim} dims)",
        user_meta=user_meta,
        item_meta=item_meta,
        counts=counts,
    )
