"""The two_tower arm on a small synthetic KION: identical per-user results for n_jobs 1 and 2 and from the
cache, a learning curve that rises, cold users scored from metadata, one-line errors for bad parameters and a
missing torch (exit 2)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.runner import experiment
from harness.runner.tuning import window as tuning
from harness.arms import two_tower
from harness.data import kion, synthetic_kion
from harness.errors import HarnessError
from harness.design.prepare import prepare
from harness.spec import Arm, Decision, Hypothesis, Segment
from harness.design.split import split

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(n_factors=8, hidden=16, batch_size=128)


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    root = synthetic_kion.generate(tmp_path_factory.mktemp("kion") / "d", n_users=400, n_items=120, seed=3)
    return kion.load(root, name="synthetic-kion-small")


@pytest.fixture(scope="module")
def data(inter):
    return prepare(inter, split(inter, inter.default_split), "watched_pct>=50", cold_users=True)


def test_learning_curve_rises_and_epochs_are_the_fit(data):
    pytest.importorskip("torch")
    curve = tuning.validation_curve(two_tower.fit, data.train, 0, dict(SMALL, loss="sampled_softmax"), "ndcg@10", 20)
    assert len(curve) == 20
    assert curve[0] < curve[19], curve  # 1 epoch is below 20 epochs on the validation window
    seen = []
    two_tower.fit(data.train, 0, epochs=3, on_epoch=lambda e, s: seen.append(s), **SMALL)
    one = two_tower.fit(data.train, 0, epochs=1, **SMALL)
    np.testing.assert_array_equal(one.user_vecs, seen[0].user_vecs)  # training epoch by epoch is the fit
    np.testing.assert_array_equal(one.item_vecs, seen[0].item_vecs)
    assert not np.array_equal(seen[0].user_vecs, seen[2].user_vecs)


def test_cold_users_are_scored_from_metadata(inter, data):
    pytest.importorskip("torch")
    cold = data.users[data.n_train_pos[data.users] == 0]
    assert len(cold) >= 10 and data.counts["cold_users_evaluated"] == len(cold)
    s = two_tower.fit(data.train, 0, epochs=2, **SMALL)
    key = inter.user_meta.astype("string").fillna("NA").agg("|".join, axis=1).to_numpy()
    pairs = [(a, b) for i, a in enumerate(cold) for b in cold[i + 1:]]
    same = [(a, b) for a, b in pairs if key[a] == key[b]]
    differ = [(a, b) for a, b in pairs if key[a] != key[b]]
    assert same and differ
    for a, b in same:
        np.testing.assert_array_equal(s.user_vecs[a], s.user_vecs[b])
    assert any(not np.allclose(s.user_vecs[a], s.user_vecs[b]) for a, b in differ)
    norms = np.linalg.norm(s.user_vecs, axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)  # L2-normalised tower outputs


def test_caller_torch_state_is_restored(data):
    torch = pytest.importorskip("torch")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    two_tower.fit(data.train, 0, epochs=1, **SMALL)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads and torch.are_deterministic_algorithms_enabled() == det


def test_same_per_user_results_for_n_jobs_and_cache(inter, tmp_path):
    pytest.importorskip("torch")
    hyp = Hypothesis(id="HT", claim="two-tower determinism", dataset=inter.name, positives=("watched_pct>=50",),
                     baseline=Arm("pop", "popularity"), treatment=Arm("tt", "two_tower", epochs=2, **SMALL),
                     segments=(Segment.history_bucket(0, 1, name="cold"), Segment.all()),
                     metrics=("ndcg@10", "map@10"), primary="ndcg@10", seeds=(0, 1),
                     decision=Decision.not_worse(0.01), n_boot=200, cold_users=True)
    runs = {}
    for tag, kw in (("seq", dict(n_jobs=1, cache_dir=tmp_path / "cache")), ("loky2", dict(n_jobs=2, cache_dir=None)),
                    ("cached", dict(n_jobs=2, cache_dir=tmp_path / "cache"))):
        runs[tag] = experiment.run(hyp, inter=inter, results_dir=tmp_path / tag, quiet=True, **kw)
    assert runs["cached"].fitted == 0 and runs["cached"].cached == 4
    ref = (runs["seq"].run_dir / "per_user.parquet").read_bytes()
    for tag, out in runs.items():
        assert (out.run_dir / "per_user.parquet").read_bytes() == ref, tag
    import pandas as pd

    pu = pd.read_parquet(runs["seq"].run_dir / "per_user.parquet")
    assert pu["seg_cold"].sum() > 0 and (pu.loc[pu["seg_cold"], "n_train_pos"] == 0).all()


def test_validate_messages():
    for params, pattern in (({"loss": "hinge"}, r"two_tower loss='hinge': use one of triplet, bpr, sampled_softmax"),
                            ({"n_factors": 0}, r"two_tower n_factors=0 must be an integer >= 1"),
                            ({"dropout": 1.0}, r"two_tower dropout=1.0 must be in \[0, 1\)"),
                            ({"item_features": "genres"}, r"two_tower item_features='genres': use 'all'")):
        with pytest.raises(HarnessError, match=pattern):
            two_tower.validate(params)


HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HX", claim="c", dataset="synthetic-kion", positives=("watched_pct>=50",),
    baseline=Arm("pop", "popularity"), treatment=Arm("tt", "two_tower", {params}),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0,),
    decision=Decision.not_worse(0.01))
"""
BAD = {
    "unknown loss": ("loss='hinge'", r"two_tower loss='hinge': use one of triplet, bpr, sampled_softmax"),
    "n_factors 0": ("n_factors=0", r"two_tower n_factors=0 must be an integer >= 1"),
    "unknown tune parameter": ("tune={'space': {'factors': [8, 16]}}",
                               r"Unknown parameter 'factors'. Did you mean: n_factors\?"),
    "empty tune space": ("tune={'space': {}}", r"tune\['space'\] must be a non-empty dict"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_parameters_one_line_exit_2(case, tmp_path):
    params, pattern = BAD[case]
    (tmp_path / "hyps").mkdir()
    (tmp_path / "hyps" / "hx.py").write_text(HYP.format(params=params))
    out = subprocess.run([sys.executable, "-m", "harness", "run", "HX", "--hypotheses", str(tmp_path / "hyps"),
                          "--results-dir", str(tmp_path / "results")], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr, out.stderr
    import re

    assert re.search(pattern, out.stderr), out.stderr
    assert not (tmp_path / "results").exists()


def test_missing_torch_one_line_with_install_command(tmp_path):
    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    (tmp_path / "hyps").mkdir()
    (tmp_path / "hyps" / "hx.py").write_text(HYP.format(params="epochs=1"))
    env = {**__import__("os").environ, "PYTHONPATH": f"{tmp_path / 'fake'}:{ROOT}"}
    out = subprocess.run([sys.executable, "-m", "harness", "run", "HX", "--hypotheses", str(tmp_path / "hyps"),
                          "--results-dir", str(tmp_path / "results")], capture_output=True, text=True, cwd=tmp_path,
                         env=env)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "error: arm 'two_tower' needs torch, which is not installed; run: pip install -e \".[torch]\" "
        "(or pip install torch==2.13.0)"], out.stderr
    assert not (tmp_path / "results").exists()


def test_cold_users_change_the_cache_key(inter, tmp_path):
    """The same arm with and without cold_users evaluates other users: never served from each other's cache."""
    hyp = Hypothesis(id="HC", claim="cold users", dataset=inter.name, positives=("watched_pct>=50",),
                     baseline=Arm("pop", "popularity"), treatment=Arm("rnd", "random"),
                     segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0,),
                     decision=Decision.not_worse(0.01), n_boot=200)
    warm = experiment.run(hyp, inter=inter, results_dir=tmp_path / "r", cache_dir=tmp_path / "c", quiet=True)
    cold = experiment.run(hyp.replace(cold_users=True), inter=inter, results_dir=tmp_path / "r",
                          cache_dir=tmp_path / "c", quiet=True)
    assert warm.fitted == 2 and cold.fitted == 2 and cold.run_id != warm.run_id
    import pandas as pd

    n_warm = pd.read_parquet(warm.run_dir / "per_user.parquet")["user_index"].nunique()
    n_cold = pd.read_parquet(cold.run_dir / "per_user.parquet")["user_index"].nunique()
    assert n_cold > n_warm
