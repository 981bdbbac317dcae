"""Run-time faults: a diverging arm, a dying worker, an empty segment, all-zero deltas, NaN scores."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from harness.runner import experiment, tasks as runner
from harness.arms.scorer import FactorScorer
from harness.errors import HarnessError
from harness.evaluation.users import evaluate
from harness.design.prepare import prepare
from harness.spec import Arm, Decision, Hypothesis, Segment
from harness.design.split import split


def hyp(**kw) -> Hypothesis:
    base = dict(id="HF", claim="faults", dataset="ml-100k", positives=("rating>=4",),
                baseline=Arm("pop", "popularity"), treatment=Arm("cf", "lightfm", no_components=8, epochs=2),
                segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
                decision=Decision.not_worse(0.01), n_boot=200)
    base.update(kw)
    return Hypothesis(**base)


def test_diverging_arm_fails_its_task_with_one_line(ml100k, tmp_path):
    h = hyp(treatment=Arm("cf", "lightfm", loss="logistic", no_components=8, epochs=2, learning_rate=1e30))
    with pytest.raises(HarnessError) as e:
        experiment.run(h, inter=ml100k, results_dir=tmp_path / "res", cache_dir=tmp_path / "cache", quiet=True)
    msg = str(e.value)
    assert "\n" not in msg
    assert "2 task(s) failed (rating>=4 / cf / seed 0: ValueError: Not all estimated parameters are finite" in msg
    assert "finished tasks are cached, rerun to resume" in msg
    log = Path(msg.rsplit("(log: ", 1)[1].rstrip(")"))
    assert "Traceback" in log.read_text()  # the full traceback goes to the log, not the terminal
    assert not (tmp_path / "res").exists()  # nothing half-written
    assert len(list((tmp_path / "cache" / "tasks").glob("*.npz"))) == 2  # the popularity tasks are kept


class _KillWorkerOnUnpickle:
    """Unpickling this in a worker kills that worker (SIGKILL from a child shell) after 2 s."""

    def __reduce__(self):
        return (subprocess.call, (["sh", "-c", "sleep 2; kill -9 $PPID"],))


def test_worker_death_is_reported_and_finished_tasks_stay_cached(ml100k, tmp_path):
    data = prepare(ml100k, split(ml100k, ml100k.default_split), "rating>=4")
    from dataclasses import replace

    poisoned = replace(data, train=replace(data.train, item_meta=_KillWorkerOnUnpickle()))
    ok = runner.Task("ok", Arm("pop", "popularity"), 0)
    bad = runner.Task("bad", Arm("pop", "popularity"), 0)
    with pytest.raises(HarnessError, match=r"a worker process died while running tasks .*rerun the same command"):
        runner.execute([ok, bad], {"ok": data, "bad": poisoned}, ("ndcg@10",), "ctx", n_jobs=2,
                       cache_dir=tmp_path / "cache")
    cached = list((tmp_path / "cache").glob("*.npz"))
    assert len(cached) == 1  # the healthy task finished and is cached
    again = runner.execute([ok], {"ok": data}, ("ndcg@10",), "ctx", n_jobs=1, cache_dir=tmp_path / "cache")
    assert again[0].cached


def test_empty_segment_is_reported_not_crashed(ml100k, tmp_path):
    h = hyp(segments=(Segment.history_bucket(5000, None, name="huge"), Segment.all()))
    out = experiment.run(h, inter=ml100k, results_dir=tmp_path, cache_dir=None, quiet=True)
    assert out.verdict.status == "INCONCLUSIVE"
    assert "segment 'huge' has no evaluable users" in out.verdict.reason
    doc = json.loads((out.run_dir / "summary.json").read_text())
    huge = [c for c in doc["cells"] if c["segment"] == "huge"]
    assert huge and all(c["empty"] and c["n_users"] == 0 for c in huge)
    assert any("segment 'huge' has no evaluable users" in n for n in doc["notes"])
    assert "| huge | ndcg@10 | 0 |" in (out.run_dir / "report.md").read_text()


def test_identical_arms_give_all_zero_deltas_and_undefined_wilcoxon(ml100k, tmp_path):
    h = hyp(treatment=Arm("pop2", "popularity"), decision=Decision.equivalent(0.001))
    out = experiment.run(h, inter=ml100k, results_dir=tmp_path, cache_dir=None, quiet=True)
    doc = json.loads((out.run_dir / "summary.json").read_text())
    c = doc["cells"][0]
    assert c["delta"]["estimate"] == 0 and c["delta"]["low"] == 0 and c["delta"]["high"] == 0
    w = c["tests"]["wilcoxon"]
    assert w["defined"] is False and w["p"] is None and "all" in w["method"] and w["zero_share"] == 1.0
    assert out.verdict.status == "CONFIRMED"  # [0, 0] lies inside (-0.001, 0.001)
    text = (out.run_dir / "report.md").read_text()
    assert "| undefined (all deltas 0) |" in text


def test_nan_scores_are_ranked_last_and_counted(ml100k):
    data = prepare(ml100k, split(ml100k, ml100k.default_split), "rating>=4")
    rng = np.random.default_rng(0)
    u = rng.normal(size=(ml100k.n_users, 4)).astype(np.float32)
    i = rng.normal(size=(ml100k.n_items, 4)).astype(np.float32)
    u[data.users[:7]] = np.nan
    res = evaluate(FactorScorer(u, i), data.users, data.train.seen, data.relevant, ("ndcg@10",))
    assert res.nan_scores == 7
    assert np.isfinite(res.values["ndcg@10"]).all()


def test_arm_below_popularity_gets_a_warning(ml100k, tmp_path):
    h = hyp(treatment=Arm("rnd", "random"))
    out = experiment.run(h, inter=ml100k, results_dir=tmp_path, cache_dir=None, quiet=True)
    ref = out.summary["reference"]["rating>=4"]["all"]
    pop_mean = out.summary["cells"][0]["mean_baseline"]
    assert ref == pytest.approx(pop_mean, abs=1e-12)  # the reference is the popularity arm itself
    warn = [n for n in out.summary["notes"] if n.startswith("WARNING: arm 'rnd'")]
    assert len(warn) == 1 and "below popularity's" in warn[0]
    assert not [n for n in out.summary["notes"] if "arm 'pop'" in n]
