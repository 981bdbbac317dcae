"""Optuna tuning (``tune=``) on the validation window, through the same objective as ``grid=``.
Generated data only; als with tiny spaces and a handful of trials."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _tiny import prepared, tiny_vk

pytest.importorskip("optuna")

from harness.runner import experiment  # noqa: E402
from harness.runner.tuning import optuna_search as optuna_tuning, window as tuning
from harness.arms.registry import check_params, get_fit  # noqa: E402
from harness.errors import HarnessError  # noqa: E402
from harness.evaluation.users import evaluate  # noqa: E402
from harness.spec import Arm, Decision, Hypothesis, Segment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "harness" / "schema" / "summary.schema.json"
SPACE = {"factors": [4, 8, 16], "regularization": ("log", 1e-3, 10.0), "iterations": ("int", 2, 6)}
BASE = {"factors": 8, "iterations": 3}


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("optuna"), "synthetic-optuna", n_users=400, n_items=150, seed=3)


@pytest.fixture(scope="module")
def data(inter):
    return prepared(inter)


def run_search(data, seed: int, sampler: str = "tpe", per: str = "seed", n: int = 5) -> tuning.Tuned:
    tune = {"sampler": sampler, "n_trials": n, "space": SPACE, "per": per}
    return tuning.search(get_fit("als"), data.train, seed, {**BASE, "tune": tune}, "ndcg@10")


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_same_seed_same_choice_and_trials(data, sampler):
    a, b = run_search(data, 1, sampler), run_search(data, 1, sampler)
    assert a.trials == b.trials and a.chosen == b.chosen and a.params == b.params
    assert len(a.trials) == 5 and a.sampler == sampler and a.per == "seed"
    assert set(a.chosen) == set(SPACE) and "tune" not in a.params
    for point, _ in a.trials:  # every point lies in the space
        assert point["factors"] in SPACE["factors"]
        assert 1e-3 <= point["regularization"] <= 10.0 and 2 <= point["iterations"] <= 6
    other = run_search(data, 2, sampler)  # another seed: another sampler seed, other points
    assert [p for p, _ in other.trials] != [p for p, _ in a.trials]


def test_chosen_is_the_best_trial_and_recomputable(data):
    t = run_search(data, 0, n=6)
    scores = np.array([s for _, s in t.trials])
    assert t.chosen == t.trials[int(np.argmax(scores))][0]
    assert t.params == {**BASE, **t.chosen}
    assert t.best_so_far == list(np.maximum.accumulate(scores))
    assert len(set(scores.round(8))) > 1  # the space matters on this data: the test can fail
    # independent recomputation: fit on the inner data, score the validation users
    inner, val, users = tuning.validation_split(data.train)
    scorer = get_fit("als")(inner, 0, **t.params)
    ndcg = evaluate(scorer, users, inner.seen, val, ("ndcg@10",)).values["ndcg@10"]
    assert float(np.mean(ndcg)) == pytest.approx(scores.max(), abs=1e-12)
    # the test window was never touched: the validation positives are all training positives
    assert (val.astype(np.float32) - val.multiply(data.train.positives)).nnz == 0


def test_grid_goes_through_the_same_objective(data):
    fit, params, grid = get_fit("als"), {"factors": 8, "iterations": 3}, {"regularization": [0.01, 100.0, 10000.0]}
    chosen, trials = tuning.select(fit, data.train, 0, params, grid, "ndcg@10")
    objective = tuning.validation_objective(fit, data.train, 0, params, "ndcg@10")
    expected = [objective({"regularization": r}) for r in grid["regularization"]]
    assert [s for _, s in trials] == expected
    assert chosen == {**params, "regularization": grid["regularization"][int(np.argmax(expected))]}
    t = tuning.search(fit, data.train, 0, {**params, "grid": grid}, "ndcg@10")
    assert (t.params, list(t.trials), t.sampler) == (chosen, trials, "grid")
    assert tuning.best_trial([({}, 0.2), ({}, float("nan")), ({}, 0.2)]) == 0  # ties: first; NaN loses


def test_once_uses_seed_0_for_every_seed(data):
    runs = [run_search(data, s, per="once", n=4) for s in (0, 3, 7)]
    assert all(r.chosen == runs[0].chosen and r.trials == runs[0].trials for r in runs)
    assert runs[0].per == "once"
    assert runs[0].trials == run_search(data, 0, per="seed", n=4).trials  # "once" = seed 0's search


def hyp_text(tune: str, extra: str = "", kind: str = "als") -> str:
    return ("from harness.spec import Arm, Decision, Hypothesis, Segment\n"
            "HYPOTHESIS = Hypothesis(id='H1', claim='c', dataset='ml-100k', positives=('rating>=4',),\n"
            f"    baseline=Arm('pop', 'popularity'), treatment=Arm('m', {kind!r}, {extra}tune={tune}),\n"
            "    segments=(Segment.all(),), metrics=('ndcg@10',), primary='ndcg@10', seeds=(0,),\n"
            "    decision=Decision.not_worse(0.01))\n")


GOOD_SPACE = "{'factors': [8, 16]}"
LOAD_ERRORS = {
    "unknown key": (hyp_text("{'space': %s, 'n_trial': 5}" % GOOD_SPACE),
                    r"Arm 'm': tune: Unknown key 'n_trial'. Did you mean: n_trials"),
    "n_trials < 1": (hyp_text("{'space': %s, 'n_trials': 0}" % GOOD_SPACE), r"tune\['n_trials'\]=0 must be an integer >= 1"),
    "bad sampler": (hyp_text("{'space': %s, 'sampler': 'cmaes'}" % GOOD_SPACE), r"tune\['sampler'\]='cmaes'; use one of tpe, random"),
    "bad per": (hyp_text("{'space': %s, 'per': 'run'}" % GOOD_SPACE), r"tune\['per'\]='run'; use 'seed'"),
    "empty space": (hyp_text("{'space': {}}"), r"tune\['space'\] must be a non-empty dict"),
    "bad range kind": (hyp_text("{'space': {'regularization': ('exp', 0.1, 1.0)}}"),
                       r"tune\['space'\]\['regularization'\]=\('exp', 0.1, 1.0\): write a list of choices"),
    "log with lo <= 0": (hyp_text("{'space': {'regularization': ('log', 0.0, 1.0)}}"), r"lo > 0 for 'log'"),
    "lo >= hi": (hyp_text("{'space': {'iterations': ('int', 9, 3)}}"), r"\['iterations'\]=\('int', 9, 3\)"),
    "empty choices": (hyp_text("{'space': {'factors': []}}"), r"\['factors'\] is an empty list"),
    "unknown parameter": (hyp_text("{'space': {'regularisation': ('log', 1e-3, 1.0)}}"),
                          r"Arm 'm' \(als\): Unknown parameter 'regularisation'. Did you mean: regularization"),
    "wrong type for the arm": (hyp_text("{'space': {'factors': ('float', 4, 16)}}"),
                               r"parameter factors=4.0 is a float; it must be int"),
    "out of the arm's range": (hyp_text("{'space': {'factors': ('int', 0, 16)}}"), r"factors must be >= 1"),
    "with grid": (hyp_text(f"{{'space': {GOOD_SPACE}}}", "grid={'regularization': [0.1]}, "),
                  r"Arm 'm': tune= and grid= cannot be combined"),
    "with epochs='auto' on epochs": (hyp_text("{'space': {'epochs': [2, 4]}}", "epochs='auto', ", kind="lightfm"),
                                     r"tune\['space'\] has epochs, which epochs='auto' chooses"),
}


def cli(*args, cwd: Path, code: str | None = None):
    cmd = [sys.executable, "-m", "harness", *args] if code is None else [sys.executable, "-c", code]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("case", list(LOAD_ERRORS))
def test_load_errors_are_one_line_exit_2(case, tmp_path):
    text, pattern = LOAD_ERRORS[case]
    (tmp_path / "hyps").mkdir()
    (tmp_path / "hyps" / "h1_x.py").write_text(text)
    out = cli("run", "H1", "--hypotheses", str(tmp_path / "hyps"), "--data-dir", str(tmp_path),
              "--results-dir", str(tmp_path / "results"), cwd=tmp_path)
    assert out.returncode == 2, (case, out.stderr)
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert re.search(pattern, out.stderr), (case, out.stderr)
    assert not (tmp_path / "results").exists()


def test_tune_with_epochs_auto_elsewhere_is_allowed():
    check_params("lightfm", {"epochs": "auto", "tune": {"space": {"no_components": [4, 8]}}}, "m")


def test_without_optuna_says_how_to_install(tmp_path):
    (tmp_path / "hyps").mkdir()
    (tmp_path / "hyps" / "h1_x.py").write_text(hyp_text(f"{{'space': {GOOD_SPACE}}}"))
    code = ("import sys; sys.modules['optuna'] = None\n"
            "from harness import cli\n"
            f"raise SystemExit(cli.main(['run', 'H1', '--hypotheses', {str(tmp_path / 'hyps')!r}, '--data-dir', "
            f"{str(tmp_path)!r}, '--results-dir', {str(tmp_path / 'results')!r}]))")
    out = cli(cwd=ROOT, code=code)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert 'tune= needs optuna, which is not installed; run: pip install -e ".[tune]"' in out.stderr
    assert not (tmp_path / "results").exists()


def test_check_rejects_non_dict():
    with pytest.raises(HarnessError, match=r"Arm 'm': tune must be a dict"):
        optuna_tuning.check([1, 2], "m")


def test_run_reports_the_tuning_curve(inter, tmp_path):
    # not in alphabetical order: the cache stores sorted keys, a fresh run must report them the same way
    tune = {"sampler": "random", "n_trials": 4, "space": {"regularization": ("log", 1e-3, 10.0), "factors": [4, 16]},
            "per": "once"}
    hyp = Hypothesis(id="HOT", claim="tuned", dataset="synthetic-optuna", positives=("watch_ratio>=0.5",),
                     baseline=Arm("pop", "popularity"),
                     treatment=Arm("als", "als", factors=8, iterations=3, tune=tune),
                     segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
                     decision=Decision.better(0.0), n_boot=200)
    out = experiment.run(hyp, inter=inter, results_dir=tmp_path / "r", cache_dir=tmp_path / "c", quiet=True)
    doc = json.loads((out.run_dir / "summary.json").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    t = doc["tuning"]["watch_ratio>=0.5"]["als"]
    assert (t["sampler"], t["per"], t["metric"], t["n_trials"]) == ("random", "once", "ndcg@10", 4)
    assert set(t["seeds"]) == {"0", "1"}
    s0, s1 = t["seeds"]["0"], t["seeds"]["1"]
    # "once": the same search and parameters for every seed; each seed's refit has its own test value
    assert {k: v for k, v in s0.items() if k != "test"} == {k: v for k, v in s1.items() if k != "test"}
    import pandas as pd

    pu = pd.read_parquet(out.run_dir / "per_user.parquet")
    for seed, s in ((0, s0), (1, s1)):  # the test-window value beside the best validation value
        assert s["test"] == pytest.approx(float(pu.loc[(pu["arm"] == "als") & (pu["seed"] == seed), "ndcg@10"].mean()),
                                          abs=1e-12)
    assert s0["best_so_far"] == list(np.maximum.accumulate(s0["scores"])) and len(s0["scores"]) == 4
    assert "pop" not in t and set(s0["params"]) == {"factors", "regularization"}
    text = (out.run_dir / "report.md").read_text()
    assert "## Tuning on the validation window" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| `watch_ratio>=0.5` | `als` | 0 |"))
    assert "random" in row and "once (seed 0), reused" in row
    assert " ".join(f"{x:.4f}" for x in s0["best_so_far"]) in row
    assert f"| {s0['best_so_far'][-1]:.4f} | {s0['test']:.4f} |" in row
    notes = [n for n in doc["notes"] if "tuned on the validation window" in n]
    assert len(notes) == 2 and all("random search, 4 trials, once" in n for n in notes)
    again = experiment.run(hyp, inter=inter, results_dir=tmp_path / "r", cache_dir=tmp_path / "c", quiet=True)
    again_doc = json.loads((again.run_dir / "summary.json").read_text())
    assert again.cached == 4 and again_doc["tuning"] == doc["tuning"]
    # the same text from the cache as from the fresh run (parameter order included)
    assert again_doc["notes"] == doc["notes"]
    assert json.dumps(again_doc["tuning"]) == json.dumps(doc["tuning"])


def test_tune_with_epochs_auto_scores_the_early_stopped_curve(data):
    """With epochs="auto" a trial's score is the best value of its early-stopped validation curve;
    the epochs are then chosen for the tuned parameters."""
    from harness.runner import tasks as runner

    arm = Arm("l", "lightfm", epochs="auto", max_epochs=4, patience=2,
              tune={"sampler": "random", "n_trials": 2, "space": {"no_components": [4, 8]}})
    r = runner.run_task(runner.Task("watch_ratio>=0.5", arm, 0), data, ("ndcg@10",), None, "k")
    assert set(r.tuned) == {"no_components", "epochs"} and len(r.tuning["trials"]) == 2
    first = r.tuning["trials"][0]
    curve = tuning.validation_curve(get_fit("lightfm"), data.train, 0, first["params"], "ndcg@10", 4, 2)
    assert first["score"] == pytest.approx(float(curve.max()), abs=1e-12)
