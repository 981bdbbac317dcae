"""Run folders, their files, the task cache and the data cache follow the umask: the modes a plain ``mkdir``
/ ``open`` give, not tempfile's 0700 / 0600 (a results folder shared with a team must stay readable)."""
from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _httpserver import LocalServer, Served

from harness.data import fetch, sources
from harness.data.runfiles import write_run as write_run_file
from harness.data.safe_write import make_temp_dir, make_temp_file
from harness.outputs.index import write_text
from harness.outputs.run_folder import write_run


@pytest.fixture()
def umask():
    """Set the process umask for one test (the CLI subprocesses inherit it); restored afterwards."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, str]:
    """Each path under ``root`` (and root) -> its permission bits in octal."""
    return {str(p.relative_to(root)): oct(stat.S_IMODE(p.stat().st_mode)) for p in [root, *sorted(root.rglob("*"))]}


def _expect(root: Path, mask: int) -> dict[str, str]:
    return {str(p.relative_to(root)): oct((0o777 if p.is_dir() else 0o666) & ~mask)
            for p in [root, *sorted(root.rglob("*"))]}


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002, 0o077])
def test_temp_folders_and_files_get_the_modes_of_mkdir_and_open(mask, umask, tmp_path):
    umask(mask)
    d = make_temp_dir(tmp_path, ".tmp-x-")
    fd, f = make_temp_file(tmp_path, ".tmp-", ".part")
    os.close(fd)
    assert d.parent == tmp_path and d.name.startswith(".tmp-x-") and f.name.endswith(".part")
    assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~mask and stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask
    assert make_temp_dir(tmp_path, ".tmp-x-") != d  # unique names


def test_run_folder_runs_files_and_index_pages_follow_the_umask(umask, tmp_path):
    umask(0o027)

    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text("{}")
        write_run_file(tmp / "runs" / "rating_ge_4" / "a_seed0.csv", np.array([1]), np.array([[2]]), "csv")

    run = write_run(tmp_path / "results" / "H1" / "H1-x-1", fill, root=tmp_path / "results")
    write_text(tmp_path / "results" / "README.md", "index\n")
    assert _modes(tmp_path / "results") == _expect(tmp_path / "results", 0o027)
    assert oct(stat.S_IMODE(run.stat().st_mode)) == "0o750"  # before: 0o700 (tempfile.mkdtemp)


HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="H1", claim="c", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn", K=20),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0,),
    decision=Decision.not_worse(0.01))
"""


def test_a_run_through_the_cli_follows_the_umask_everywhere(ml100k_dir, umask, tmp_path):
    """Run folder, figures, --save-runs files, the index pages and the task cache: 0o750 / 0o640 under umask
    027 (before: the run folder was 0o700, the runs files, index pages and cache entries 0o600)."""
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "h1.py").write_text(HYP)
    umask(0o027)
    out = subprocess.run([sys.executable, "-m", "harness", "run", "H1", "--hypotheses", str(hyps), "--data-dir",
                          str(ml100k_dir), "--results-dir", str(tmp_path / "results"), "--cache-dir",
                          str(tmp_path / "cache"), "--save-runs", "csv", "--quiet"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    results, cache = tmp_path / "results", tmp_path / "cache"
    assert any(p.suffix == ".csv" for p in results.rglob("runs/*/*")) and any(cache.rglob("*.npz"))
    assert _modes(results) == _expect(results, 0o027)
    assert _modes(cache) == _expect(cache, 0o027)


def test_the_data_cache_follows_the_umask(umask, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data_original/interactions.csv", "user_id,item_id\n")
        z.writestr("data_original/items.csv", "item_id\n")
        z.writestr("data_original/more/users.csv", "user_id\n")
    umask(0o027)
    with LocalServer(Served(files={"/data_original.zip": buf.getvalue()})) as url:
        got = fetch.fetch("kion", tmp_path, mirror=url, quiet=True, registry=sources.SOURCES, out=io.StringIO())
    assert (got.path / "more" / "users.csv").is_file() and (got.path / fetch.MARKER).is_file()
    assert _modes(tmp_path / "data") == _expect(tmp_path / "data", 0o027)  # tmp_path itself is pytest's 0o700
