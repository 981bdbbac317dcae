"""``synthetic-vk:notebook``, the H1 notebook's size, as a named preset: the name maps to the preset's
parameters and its own cache folder (never generated here at full size: a users-divided-by-100 copy checks
the rows per user), and every existing synthetic-vk dataset keeps its exact contents."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from harness.data import load_dataset, synthetic
from harness.errors import HarnessError

#: Content hashes of ``generate(root)`` and ``generate(root, cold_items=200)`` computed with the code before
#: the preset existed (generator version 3). Parquet files are hashed by their decoded columns (names, types,
#: values), so a pyarrow upgrade that changes only file metadata does not move them; npz and json by bytes.
DEFAULT_HASH = "4d5a8be99bd83a632382bcd1ca7ec5d4a1a0ae5deeed434049e02f02a398a37c"
COLD_HASH = "03c6bd15872ce73a17fadb5d1774b523695929f4382fbc51b2169009c78f52d3"


def _content_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        h.update(str(p.relative_to(root)).encode())
        if p.suffix == ".parquet":
            t = pq.read_table(p)
            for name, col in zip(t.column_names, t.columns):
                h.update(f"{name}:{col.type}".encode())
                h.update(np.ascontiguousarray(col.to_numpy()).tobytes())
        else:
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("cold, expected", [(0, DEFAULT_HASH), (synthetic.DEFAULT_COLD_ITEMS, COLD_HASH)])
def test_existing_synthetic_vk_datasets_are_unchanged(tmp_path, cold, expected):
    root = synthetic.ensure(tmp_path, cold_items=cold)
    assert root.name == f"synthetic-vk-x1-s0-v3{'-c200' if cold else ''}"  # the cache folder kept its name
    assert _content_hash(root) == expected


def test_the_notebook_preset_is_the_notebooks_size():
    assert synthetic.PRESETS["notebook"] == {"n_users": 10_000, "n_items": 20_000, "mean_interactions": 4700.0}


def test_the_name_maps_to_the_preset_without_generating(tmp_path, monkeypatch):
    calls = []

    def fake_ensure(cache_dir, scale=1, seed=0, cold_items=0, preset=None):
        calls.append((Path(cache_dir), scale, seed, cold_items, preset))
        raise RuntimeError("stop before reading")

    monkeypatch.setattr(synthetic, "ensure", fake_ensure)
    for name in ("synthetic-vk:notebook", "synthetic-vk", "synthetic-vk:x4+cold"):
        with pytest.raises(RuntimeError, match="stop before reading"):
            load_dataset(name, cache_dir=tmp_path)
    assert calls == [(tmp_path / "data", 1, 0, 0, "notebook"), (tmp_path / "data", 1, 0, 0, None),
                     (tmp_path / "data", 4, 0, synthetic.DEFAULT_COLD_ITEMS, None)]


def test_ensure_generates_the_preset_into_its_own_folder(tmp_path, monkeypatch):
    seen = {}

    def fake_generate(root, **kwargs):
        seen.update(kwargs)
        Path(root).mkdir(parents=True)
        (Path(root) / "SYNTHETIC.json").write_text("{}")
        return root

    monkeypatch.setattr(synthetic, "generate", fake_generate)
    root = synthetic.ensure(tmp_path, preset="notebook")
    assert root == tmp_path / "synthetic-vk-notebook-x1-s0-v3"
    assert seen == {"scale": 1, "seed": 0, "cold_items": 0, **synthetic.PRESETS["notebook"]}
    assert synthetic.ensure(tmp_path, preset="notebook") == root and sorted(p.name for p in tmp_path.iterdir()) == \
        [root.name]
    with pytest.raises(HarnessError, match="no size named 'laptop'; use one of notebook"):
        synthetic.ensure(tmp_path, preset="laptop")


def test_an_unknown_size_name_is_a_one_line_error(tmp_path):
    with pytest.raises(HarnessError) as e:
        load_dataset("synthetic-vk:laptop", cache_dir=tmp_path)
    assert "synthetic-vk:notebook" in str(e.value) and "\n" not in str(e.value)
    assert not tmp_path.joinpath("data").exists()


def test_a_hundredth_of_the_notebooks_users_gives_its_rows_per_user(tmp_path):
    """Users are independent draws, so 100 users with the preset's items and activity estimate the full
    size's rows per user: >= 3,000 a user means >= 30 M rows for 10,000 users (measured once: 32.1 M, 3,210
    a user; these 100 users: 3,469)."""
    small = {**synthetic.PRESETS["notebook"], "n_users": 100}
    info = json.loads((synthetic.generate(tmp_path / "nb", **small) / "SYNTHETIC.json").read_text())
    assert info["n_users"] == 100 and info["n_items"] == 20_000
    assert 3000 <= info["rows"] / 100 <= 3600, info["rows"]
