"""Arms from anywhere: module:function, file.py:function, the harness.arms entry-point group; the
contract checker; parameter checks at load time; caching by the arm's source."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.runner import discover as registry
from harness.arms import registry as arms
from harness.arms.check import check_arm, toy_train
from harness.errors import HarnessError

ROOT = Path(__file__).resolve().parents[1]

MYMODEL = '''"""Popularity with a twist: a user's co-occurring items get a boost."""
import numpy as np


class TwistScorer:
    def __init__(self, base, history, boost):
        self.base, self.history, self.boost = base, history, boost

    def score(self, users):
        co = np.asarray((self.history[users] @ (self.history.T @ self.history)).todense(), dtype=np.float32)
        return self.base[None, :] + self.boost * co / (co.max(axis=1, keepdims=True) + 1)


def fit(train, seed, boost: float = 0.5):
    counts = np.asarray(train.positives.sum(axis=0)).ravel().astype(np.float32)
    return TwistScorer(counts / counts.max(), train.positives.tocsr(), np.float32(boost))
'''

BROKEN = {
    "shape": "return np.zeros((len(users), 3), dtype=np.float32)",
    "dtype": "return np.zeros((len(users), self.n), dtype=np.float64)",
    "deterministic for a seed": "return np.random.rand(len(users), self.n).astype(np.float32)",
}
BROKEN_TMPL = '''import numpy as np


class S:
    def __init__(self, n):
        self.n = n

    def score(self, users):
        {body}


def fit(train, seed):
    return S(train.n_items)
'''


def interactions_csv(path: Path, n_users: int = 150, n_items: int = 60, seed: int = 0) -> Path:
    """Small generated interactions with a rating and a timestamp; popular items dominate."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    pop /= pop.sum()
    rows = []
    for u in range(n_users):
        items = rng.choice(n_items, size=int(rng.integers(12, 30)), replace=False, p=pop)
        for j, i in enumerate(items):
            rows.append((u, 1000 + i, int(rng.integers(1, 6)), 10_000 + 10 * j))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    frame.to_csv(path, index=False)
    return path


HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id={id!r}, claim="c", dataset="tabular:{data}", positives=("rating>=3",),
    baseline=Arm("als", "als", factors=8, iterations=3), treatment={treatment},
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
    decision=Decision.better(0.0), n_boot=200)
"""


def cli(*args, cwd: Path, env_path: str | None = None):
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env_path, str(ROOT), env.get("PYTHONPATH", "")) if p)
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd, env=env)


# --------------------------------------------------------------------------- resolution
def test_builtin_names_resolve_through_the_same_references_the_package_declares():
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert doc["project"]["entry-points"]["harness.arms"] == arms.BUILTIN
    src = arms.resolve("als")
    assert src.origin == "built-in" and src.ref == "harness.arms.als:fit" and src.fit.__module__ == "harness.arms.als"
    assert len(src.source_hash) == 16


def test_module_function_and_file_references(tmp_path, monkeypatch):
    (tmp_path / "mypkg_recs_t1.py").write_text(MYMODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    src = arms.resolve("mypkg_recs_t1:fit")
    assert src.origin == "module" and src.accepted == ("boost",)
    d = tmp_path / "models"
    d.mkdir()
    (d / "mine.py").write_text(MYMODEL)
    kind = arms.absolute_kind("models/mine.py:fit", tmp_path)
    assert kind == f"{d / 'mine.py'}:fit"
    fsrc = arms.resolve(kind)
    assert fsrc.origin == "file" and fsrc.source_hash == src.source_hash  # same bytes, same hash
    with pytest.raises(HarnessError, match=r"cannot import module 'no_such_pkg_x'.*PYTHONPATH"):
        arms.resolve("no_such_pkg_x:fit")
    with pytest.raises(HarnessError, match=r"Unknown function in mypkg_recs_t1 'fitt'. Did you mean: fit\?"):
        arms.resolve("mypkg_recs_t1:fitt")
    with pytest.raises(HarnessError, match=r"file not found: .*nope.py; a relative path is relative to the hypothesis"):
        arms.resolve(arms.absolute_kind("nope.py:fit", tmp_path))
    with pytest.raises(HarnessError, match=r"Unknown arm kind 'alss'. Did you mean: als, ease\?"):
        arms.resolve("alss")


def test_entry_point_group(tmp_path, monkeypatch):
    """A package declaring ``[project.entry-points."harness.arms"] twist = "twistpkg_t:fit"``, installed
    as a dist-info directory on sys.path (no pip), makes ``Arm("x", "twist")`` work."""
    (tmp_path / "twistpkg_t.py").write_text(MYMODEL)
    info = tmp_path / "twistpkg_t-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: twistpkg-t\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[harness.arms]\ntwist = twistpkg_t:fit\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    arms._resolve_cached.cache_clear()
    assert "twist" in arms.names()
    src = arms.resolve("twist")
    assert src.origin == "entry point (twistpkg-t 1.2)" and src.ref == "twistpkg_t:fit"
    assert check_arm("twist").ok


def test_editing_a_file_arm_changes_its_source_hash(tmp_path):
    p = tmp_path / "m.py"
    p.write_text(MYMODEL)
    h1 = arms.resolve(f"{p}:fit").source_hash
    p.write_text(MYMODEL.replace("boost: float = 0.5", "boost: float = 0.25"))
    import os
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    src = arms.resolve(f"{p}:fit")
    assert src.source_hash != h1
    import inspect
    assert inspect.signature(src.fit).parameters["boost"].default == 0.25  # the edited file is the one run


# --------------------------------------------------------------------------- parameter checks at load
@pytest.mark.parametrize("arm, pattern", [
    ('Arm("b", "als", regularization="high")', r"parameter regularization='high' is a str; it must be float"),
    ('Arm("b", "als", factors=2.5)', r"parameter factors=2.5 is a float; it must be int"),
    ('Arm("b", "als", factors=0)', r"arm 'als': factors must be >= 1, got 0"),
    ('Arm("b", "bpr", learning_rate=-1.0)', r"arm 'bpr': need learning_rate > 0"),
    ('Arm("b", "als", grid={"regularization": [0.1, "x"]})', r"parameter regularization='x' is a str"),
    ('Arm("b", "lightfm", epochs="5")', r"parameter epochs='5' is a str; it must be int"),
])
def test_parameter_types_and_ranges_checked_when_the_hypothesis_loads(tmp_path, arm, pattern):
    f = tmp_path / "h9_x.py"
    f.write_text(HYP.format(id="H9", data="x.csv", treatment=arm))
    with pytest.raises(HarnessError, match=r"h9_x.py: Arm 'b'.*" + pattern):
        registry.load_file(f)


# --------------------------------------------------------------------------- contract checker
@pytest.mark.parametrize("kind, params", [("popularity", {}), ("als", {"factors": 8, "iterations": 3}),
                                          ("itemknn", {}), ("random", {})])
def test_builtin_arms_pass_the_checker(kind, params):
    res = check_arm(kind, params)
    assert res.ok, res.line()
    assert res.passed == ("resolves", "fits", "shape", "dtype", "no NaN", "deterministic for a seed",
                          "batch-consistent", "inputs untouched")


def test_checker_detects_input_mutation():
    from harness.arms.check import _copy, _digest

    t = toy_train()
    before = _digest(t)
    t2 = _copy(t)
    t2.events.loc[0, "item"] = 5
    assert _digest(t) == before and _digest(t2) != before


def test_check_arm_cli_passes_a_good_arm_and_fails_broken_ones_with_one_line(tmp_path):
    d = tmp_path / "mymodels"
    d.mkdir()
    (d / "mymodel.py").write_text(MYMODEL)
    ok = cli("check-arm", "mymodels/mymodel.py:fit", "--param", "boost=0.3", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: ") and len(ok.stdout.strip().splitlines()) == 1
    for check, body in BROKEN.items():
        (d / "broken.py").write_text(BROKEN_TMPL.format(body=body))
        out = cli("check-arm", "mymodels/broken.py:fit", cwd=tmp_path)
        assert out.returncode == 1, (check, out.stdout, out.stderr)
        lines = out.stdout.strip().splitlines()
        assert len(lines) == 1 and f"FAIL: {d / 'broken.py'}:fit: {check}:" in lines[0], (check, lines)
        assert "Traceback" not in out.stderr


def test_check_arm_is_importable_in_a_users_tests(tmp_path):
    p = tmp_path / "broken.py"
    p.write_text(BROKEN_TMPL.format(body=BROKEN["dtype"]))
    res = check_arm(f"{p}:fit")
    assert not res.ok and res.passed == ("resolves", "fits", "shape") and "float64" in res.failure


# --------------------------------------------------------------------------- end to end
@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="dask[distributed] not installed")
def test_user_arm_outside_the_repo_next_to_als_with_dask_and_the_cache(tmp_path):
    """``../mymodels/mymodel.py:fit`` (relative to the hypothesis file) runs beside ``als`` with
    ``--n-jobs 2 --backend dask``; a rerun takes both from the cache; editing the arm's file reruns
    it (and only it)."""
    (tmp_path / "mymodels").mkdir()
    model = tmp_path / "mymodels" / "mymodel.py"
    model.write_text(MYMODEL)
    data = interactions_csv(tmp_path / "events.csv")
    hyps = tmp_path / "proj" / "hypotheses"
    hyps.mkdir(parents=True)
    (hyps / "hm_mine.py").write_text(HYP.format(id="HM", data=data,
                                                treatment='Arm("mine", "../../mymodels/mymodel.py:fit", boost=0.5)'))
    args = ["run", "HM", "--quiet", "--n-jobs", "2", "--backend", "dask", "--cache-dir", str(tmp_path / "cache"),
            "--results-dir", str(tmp_path / "res")]

    def run() -> tuple[dict, dict]:
        out = cli(*args, cwd=tmp_path / "proj")
        assert out.returncode == 0, out.stderr
        run_dir = Path(out.stdout.splitlines()[0].split("report: ")[1]).parent
        prov = json.loads((run_dir / "provenance.json").read_text())
        return {t["task"]: t["cached"] for t in prov["tasks"]}, prov

    first, prov = run()
    assert not any(first.values()) and len(first) == 4
    assert prov["spec"]["arm_sources"]["mine"]["origin"] == "file"
    assert prov["spec"]["treatment"]["kind"] == f"{model}:fit"
    again, _ = run()
    assert all(again.values())
    model.write_text(MYMODEL.replace("self.boost * co", "self.boost * 1.5 * co"))
    edited, prov2 = run()
    assert edited == {"rating>=3 / als / seed 0": True, "rating>=3 / als / seed 1": True,
                      "rating>=3 / mine / seed 0": False, "rating>=3 / mine / seed 1": False}
    assert prov2["spec"]["arm_sources"]["mine"]["source_sha256"] != prov["spec"]["arm_sources"]["mine"]["source_sha256"]


def test_lightfm_values_of_the_wrong_type_inside_params_are_one_line(tmp_path):
    f = tmp_path / "h9_x.py"
    f.write_text(HYP.format(id="H9", data="x.csv", treatment='Arm("b", "lightfm", learning_rate="fast")'))
    with pytest.raises(HarnessError, match=r"Arm 'b' \(lightfm\): a parameter has a value of the wrong type"):
        registry.load_file(f)
    f.write_text(HYP.format(id="H9", data="x.csv", treatment='Arm("b", "lightfm", loss="wrap")'))
    with pytest.raises(HarnessError, match=r"lightfm loss='wrap': use one of warp, bpr, logistic, warp-kos"):
        registry.load_file(f)


CURVED = '''import numpy as np

from harness.arms.scorer import ConstantScorer


def fit(train, seed, epochs: int = 3, on_epoch=None):
    counts = np.asarray(train.positives.sum(axis=0)).ravel().astype(np.float32)
    scorer = None
    for e in range(epochs):
        scorer = ConstantScorer(counts * (e + 1) if e < epochs - 1 else counts)
        if on_epoch is not None:
            on_epoch(e, ConstantScorer(-counts) if e == 0 else scorer)
    return scorer
'''


def test_a_user_arm_with_on_epoch_gets_a_learning_curve(tmp_path):
    """Epoch 0 reports reversed popularity (worst ranking), later epochs popularity: the curve (on the
    validation window inside training) must show exactly that, its last point being popularity of the
    inner training data scored on the validation users."""
    import scipy.sparse as sp

    from harness.design.prepare import EvalData
    from harness.runner.tasks import Task, run_task
    from harness.spec import Arm

    p = tmp_path / "curved.py"
    p.write_text(CURVED)
    train = toy_train()
    rng = np.random.default_rng(0)
    rel = sp.csr_matrix((rng.random((train.n_users, train.n_items)) < 0.1) & (train.seen.toarray() == 0))
    users = np.flatnonzero(np.diff(rel.indptr) > 0)
    data = EvalData("v", train, users, rel, np.diff(train.positives.indptr))
    res = run_task(Task("v", Arm("c", f"{p}:fit", curve=True), 0), data, ("ndcg@5",), None, "k")
    assert res.curve is not None and len(res.curve) == 3
    assert res.curve[0] < res.curve[1] == res.curve[2]
    from harness.arms.scorer import ConstantScorer
    from harness.evaluation.users import evaluate
    from harness.runner.tuning.window import validation_split

    inner, val, vusers = validation_split(train)
    pop = ConstantScorer(np.asarray(inner.positives.sum(axis=0)).ravel().astype(np.float32))
    assert res.curve[2] == pytest.approx(evaluate(pop, vusers, inner.seen, val, ("ndcg@5",)).values["ndcg@5"].mean(),
                                         abs=0)
