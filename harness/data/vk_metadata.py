"""VK-LSVD side files: the metadata tables and the item-embedding npz, read for the users/items kept.

``items_metadata.parquet`` / ``users_metadata.parquet`` are filtered to the ids present (predicate
pushdown); ``item_embeddings.npz`` is streamed row-block by row-block (``EMB_BLOCK_BYTES``), so memory
stays bounded by the interactions kept. Every problem is a one-line :class:`HarnessError` naming the file.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from harness.data.base import lookup, require_columns
from harness.errors import HarnessError

#: Bytes of the embedding matrix read at a time.
EMB_BLOCK_BYTES = 32 << 20


def parquet_dataset(path: Path) -> ds.Dataset:
    """A pyarrow dataset over one parquet file, or a one-line error naming it."""
    try:
        return ds.dataset(str(path), format="parquet")
    except (pa.ArrowException, OSError) as exc:
        raise HarnessError(f"{path}: cannot read parquet file ({short_error(exc)}); the file is corrupt or "
                           "not parquet: re-download it") from None


def short_error(exc: BaseException) -> str:
    """The first line of an exception's message (at most 160 characters), for one-line errors."""
    text = str(exc).strip().splitlines()
    return (text[0][:160] if text else type(exc).__name__)


def read_meta(path: Path, id_col: str, ids: np.ndarray, cols: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Rows of a metadata table whose ``id_col`` is in ``ids``: (dense index per row, columns as float)."""
    dset = parquet_dataset(path)
    require_columns(dset.schema.names, [id_col] + cols, path)
    id_type = dset.schema.field(id_col).type
    if not pa.types.is_integer(id_type):
        raise HarnessError(f"{path}: column {id_col!r} has type {id_type}; expected an unsigned integer id (uint32)")
    for c in cols:
        t = dset.schema.field(c).type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
            raise HarnessError(f"{path}: column {c!r} has type {t}; expected a number")
    filt = pc.field(id_col).isin(pa.array(ids, type=pa.uint32())) if id_type == pa.uint32() else None
    try:
        table = dset.to_table(columns=[id_col] + cols, filter=filt)
    except (pa.ArrowException, OSError) as exc:
        raise HarnessError(f"{path}: cannot read parquet file ({short_error(exc)}); re-download it") from None
    raw = table.column(id_col).to_numpy(zero_copy_only=False)
    pos = lookup(ids, raw) if raw.size else np.zeros(0, dtype=np.int64)
    keep = pos >= 0
    pos = pos[keep]
    if pos.size and np.bincount(pos).max() > 1:
        raise HarnessError(f"{path}: duplicate {id_col} values; each id must appear once")
    values = {c: table.column(c).to_numpy(zero_copy_only=False).astype(np.float64)[keep] for c in cols}
    return pos, values


def read_embeddings(path: Path, item_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Stream ``embedding`` rows of the items in ``item_ids`` out of the npz.

    Returns (content float32 (n_items, d), has bool (n_items,), dim, n_nonfinite rows dropped).
    """
    fmt = np.lib.format
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise HarnessError(f"{path}: not a readable .npz ({short_error(exc)}); re-download it") from None
    with zf:
        names = set(zf.namelist())
        for key in ("item_id", "embedding"):
            if f"{key}.npy" not in names:
                raise HarnessError(f"{path}: array {key!r} missing (found: "
                                   f"{', '.join(sorted(n.removesuffix('.npy') for n in names))}); "
                                   "expected arrays item_id and embedding")
        try:
            with zf.open("item_id.npy") as f:
                ids = fmt.read_array(f, allow_pickle=False)
            with zf.open("embedding.npy") as f:
                version = fmt.read_magic(f)
                shape, fortran, dtype = (fmt.read_array_header_1_0(f) if version == (1, 0)
                                         else fmt.read_array_header_2_0(f))
                if dtype.hasobject:
                    raise HarnessError(f"{path}: 'embedding' is an object array (rows of different dimensions?); "
                                       "expected one float matrix (n_items, dim)")
                if len(shape) != 2 or shape[1] == 0:
                    raise HarnessError(f"{path}: 'embedding' has shape {shape}; expected (n_items, dim), "
                                       "every row of the same dimension")
                if dtype.kind != "f":
                    raise HarnessError(f"{path}: 'embedding' has dtype {dtype}; expected float16/float32")
                if ids.ndim != 1 or ids.dtype.kind not in "iu":
                    raise HarnessError(f"{path}: 'item_id' has shape {ids.shape} dtype {ids.dtype}; "
                                       "expected a 1-D integer array")
                n, dim = shape
                if len(ids) != n:
                    raise HarnessError(f"{path}: 'item_id' has {len(ids)} entries but 'embedding' has {n} rows; "
                                       "the arrays must match row for row")
                pos = lookup(item_ids, ids)
                if (pos >= 0).any() and np.bincount(pos[pos >= 0]).max() > 1:
                    raise HarnessError(f"{path}: duplicate values in 'item_id'; each item must appear once")
                content = np.zeros((len(item_ids), dim), dtype=np.float32)
                has = np.zeros(len(item_ids), dtype=bool)
                if fortran:
                    f.seek(0)
                    arr = fmt.read_array(f, allow_pickle=False)
                    sel = pos >= 0
                    content[pos[sel]] = arr[sel]
                    has[pos[sel]] = True
                else:
                    row_bytes = dim * dtype.itemsize
                    block = max(1, EMB_BLOCK_BYTES // row_bytes)
                    for lo in range(0, n, block):
                        k = min(block, n - lo)
                        buf = f.read(k * row_bytes)
                        if len(buf) != k * row_bytes:
                            raise HarnessError(f"{path}: 'embedding' is truncated; re-download the file")
                        sel = np.flatnonzero(pos[lo:lo + k] >= 0)
                        if sel.size:
                            arr = np.frombuffer(buf, dtype=dtype).reshape(k, dim)
                            content[pos[lo + sel]] = arr[sel]
                            has[pos[lo + sel]] = True
        except HarnessError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise HarnessError(f"{path}: cannot read the npz arrays ({short_error(exc)}); re-download it") from None
    bad = has & ~np.isfinite(content).all(axis=1)
    if bad.any():
        content[bad] = 0.0
        has[bad] = False
    return content, has, int(dim), int(bad.sum())
