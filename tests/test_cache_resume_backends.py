"""Cache, resume after SIGKILL, and the Dask LocalCluster backend: identical per-user results."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
f = dict(loss="warp", no_components=16, epochs=4)
HYPOTHESIS = Hypothesis(id="HT", claim="test", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("cf", "lightfm", **f), treatment=Arm("cf+genre", "lightfm", item_features="content", **f),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=tuple(range({seeds})),
    decision=Decision.not_worse(0.01), n_boot=200)
"""


def setup(tmp: Path, seeds: int = 2) -> Path:
    d = tmp / "hyps"
    d.mkdir(parents=True, exist_ok=True)
    (d / "ht.py").write_text(HYP.format(seeds=seeds))
    return d


def cli(tmp: Path, hyps: Path, ml: Path, *extra: str, tag: str) -> list[str]:
    return [sys.executable, "-m", "harness", "run", "HT", "--dataset", "ml-100k", "--data-dir", str(ml),
            "--hypotheses", str(hyps), "--results-dir", str(tmp / f"res_{tag}"), "--quiet", *extra]


def parquet(tmp: Path, tag: str) -> bytes:
    (p,) = (tmp / f"res_{tag}" / "HT").glob("*/per_user.parquet")
    return p.read_bytes()


def test_dask_localcluster_matches_loky(ml100k_dir, tmp_path):
    pytest.importorskip("dask.distributed")
    hyps = setup(tmp_path)
    for tag, extra in (("loky", ["--n-jobs", "2"]), ("dask", ["--backend", "dask", "--n-jobs", "2"])):
        out = subprocess.run(cli(tmp_path, hyps, ml100k_dir, "--no-cache", *extra, tag=tag), capture_output=True,
                             text=True, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    assert parquet(tmp_path, "loky") == parquet(tmp_path, "dask")


def test_bad_scheduler_is_one_line(ml100k_dir, tmp_path):
    pytest.importorskip("dask.distributed")
    hyps = setup(tmp_path)
    out = subprocess.run(cli(tmp_path, hyps, ml100k_dir, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:1",
                             tag="x"), capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:1")
    assert not (tmp_path / "res_x").exists()


def test_resume_after_sigkill_gives_identical_results(ml100k_dir, tmp_path):
    hyps = setup(tmp_path, seeds=4)
    cache = tmp_path / "cache"
    args = cli(tmp_path, hyps, ml100k_dir, "--n-jobs", "1", "--cache-dir", str(cache), tag="killed")
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((cache / "tasks").glob("*.npz"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((cache / "tasks").glob("*.npz")))
    assert 2 <= done < 8, done  # killed mid-way
    assert not (tmp_path / "res_killed").exists() or not list((tmp_path / "res_killed").glob("HT/*/report.md"))
    out = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(list((cache / "tasks").glob("*.npz"))) == 8
    ref = subprocess.run(cli(tmp_path, hyps, ml100k_dir, "--no-cache", "--n-jobs", "2", tag="ref"),
                         capture_output=True, text=True, cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr
    assert parquet(tmp_path, "killed") == parquet(tmp_path, "ref")


def test_every_arm_in_workers_with_memory_mapped_inputs_matches_sequential(ml100k):
    """Inputs reach loky workers as copy-on-write memory maps (harness.runner.shipping); model
    libraries that write to their buffers (LightFM) must still work, and results equal n_jobs=1."""
    import numpy as np

    from harness.runner import tasks as runner
    from harness.design.prepare import prepare
    from harness.spec import Arm
    from harness.design.split import split

    data = prepare(ml100k, split(ml100k, ml100k.default_split), "rating>=4")
    arms = [("lightfm", dict(epochs=1, no_components=4)), ("als", dict(factors=8, iterations=2)),
            ("bpr", dict(factors=8, iterations=2)), ("itemknn", {}), ("ease", {}), ("popularity", {})]
    tasks = [runner.Task("v", Arm(k, k, **kw), 0) for k, kw in arms]
    par = runner.execute(tasks, {"v": data}, ("ndcg@10",), "ctx", n_jobs=2)
    seq = runner.execute(tasks, {"v": data}, ("ndcg@10",), "ctx", n_jobs=1)
    for a, b in zip(par, seq):
        assert np.array_equal(a.scores.values["ndcg@10"], b.scores.values["ndcg@10"]), a.task.label()
