"""Readers for raw VK-LSVD-layout files, shared by the generator and reader tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


def week_file(root: Path, w: int, subsample: str = "synthetic") -> Path:
    part = "validation" if w == 25 else "train"
    return root / "subsamples" / subsample / part / f"week_{w:02d}.parquet"


def raw_weeks(root: Path, subsample: str = "synthetic") -> pd.DataFrame:
    """All 26 weekly files as one frame, with a ``week`` column."""
    frames = []
    for w in range(26):
        df = pq.read_table(week_file(root, w, subsample)).to_pandas()
        df["week"] = w
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
