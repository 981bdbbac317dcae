"""Adaptive seeds: group-sequential levels against published boundaries, the false-positive rate of
the whole "add seeds until decided" procedure by simulation, and a run that stops early."""
from __future__ import annotations

import json

import numpy as np
import pytest
from _tiny import tiny_vk
from scipy import stats as sps

from harness.decision import adaptive
from harness.runner import experiment
from harness import stats as S
from harness.errors import HarnessError
from harness.spec import Arm, Decision, Hypothesis, Seeds, Segment
from harness.stats.sequential import boundaries, nominal_alphas, obrien_fleming_spending


def test_boundaries_match_published_obrien_fleming_spending_values():
    """Lan-DeMets O'Brien-Fleming, 5 equally spaced looks, two-sided alpha 0.05: R ldbounds /
    gsDesign sfLDOF (Jennison & Turnbull 2000, table 7.x) give 4.8769, 3.3569, 2.6803, 2.2898, 2.0310."""
    np.testing.assert_allclose(boundaries(np.arange(1, 6) / 5, 0.05), [4.8769, 3.3569, 2.6803, 2.2898, 2.0310],
                               atol=2e-3)
    assert boundaries([1.0], 0.05)[0] == pytest.approx(sps.norm.isf(0.025))  # one look: the fixed design
    assert obrien_fleming_spending(1.0, 0.05) == pytest.approx(0.05)
    a = nominal_alphas(np.array([3, 5, 7, 9, 11, 13, 15]) / 15, 0.05)
    assert (np.diff(a) > 0).all() and a[0] < 1e-4 and 0.03 < a[-1] < 0.05


def test_boundaries_spend_alpha_by_brownian_simulation():
    """P(cross by look j) under the null equals the spent alpha, by simulating the Brownian motion."""
    rng = np.random.default_rng(0)
    t = np.array([3, 5, 7, 9, 11, 13, 15]) / 15
    c = boundaries(t, 0.05)
    w = np.cumsum(rng.standard_normal((400_000, len(t))) * np.sqrt(np.diff(t, prepend=0)), axis=1)
    crossed = np.maximum.accumulate(np.abs(w / np.sqrt(t)) > c, axis=1).mean(axis=0)
    np.testing.assert_allclose(crossed, obrien_fleming_spending(t, 0.05), atol=0.0015)


def false_positive_rates(rng, rounds, level_sets, n_runs=1000, n_users=200, seed_sd=0.02, res_sd=0.1):
    """Simulated adaptive runs under the null (true mean delta 0; a real seed effect, user effects and
    seed x user noise). A run is a false positive when some look's interval excludes 0: it stops
    there, and any decision made on that interval is wrong. Returns the rate for each set of levels.

    The seed x user interval is computed for all runs at once by the function
    :func:`harness.stats.seed_user_interval` uses (``_variance_components``, vectorised over runs).
    """
    from harness.stats.seeds import _variance_components

    k = rounds[-1]
    delta = seed_sd * rng.standard_normal((n_runs, k, 1)) + res_sd * rng.standard_normal((n_runs, k, n_users)) + \
        0.05 * rng.standard_normal((n_runs, 1, n_users))
    one = S.seed_user_interval(delta[0, :rounds[0]], confidence_level=0.99, rng=rng)
    est, _, half, _ = _variance_components(delta[:1, :rounds[0]], 0.99)
    assert (est[0] - half[0], est[0] + half[0]) == pytest.approx((one.ci.low, one.ci.high), abs=1e-12)
    rates = []
    for levels in level_sets:
        crossed = np.zeros(n_runs, dtype=bool)
        for n, a in zip(rounds, levels):
            est, _, half, _ = _variance_components(delta[:, :n], 1 - a)
            crossed |= np.abs(est) > half
        rates.append(float(crossed.mean()))
    return rates


def test_adaptive_rule_holds_alpha_and_naive_stopping_does_not():
    """1,000 simulated sequential runs (3, 5, ..., 15 seeds): the spending levels keep the
    false-positive rate in the 99 % binomial band of alpha = 0.05 (measured 0.035-0.054 over generator
    seeds 0-5, mean 0.047); "stop as soon as the 95 % interval excludes 0" does not (0.135-0.169)."""
    rounds = np.array(Seeds.adaptive().rounds())
    spent = nominal_alphas(rounds / rounds[-1], 0.05)
    ours, naive = false_positive_rates(np.random.default_rng(0), rounds, [spent, np.full(len(rounds), 0.05)])
    lo, hi = sps.binom.ppf(0.005, 1000, 0.05) / 1000, sps.binom.ppf(0.995, 1000, 0.05) / 1000
    assert lo <= ours <= hi, (ours, lo, hi)
    assert naive > hi, naive


def test_seeds_plan_and_errors():
    assert Seeds.adaptive().rounds() == (3, 5, 7, 9, 11, 13, 15)
    assert Seeds.adaptive(4, 4, 10).rounds() == (4, 8, 10)
    with pytest.raises(HarnessError, match="start=1 must be at least 2"):
        Seeds.adaptive(start=1)
    with pytest.raises(HarnessError, match="max=3 must be at least start=5"):
        Seeds.adaptive(start=5, max=3)


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("adapt"), "synthetic-adapt", n_users=600, n_items=200, seed=6)


def hyp(decision, seeds):
    return Hypothesis(id="HA", claim="adaptive", dataset="synthetic-adapt", positives=("watch_ratio>=0.5",),
                      baseline=Arm("random", "random"), treatment=Arm("pop", "popularity"),
                      segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=seeds,
                      decision=decision, n_boot=200)


def test_a_huge_effect_stops_at_the_first_look(inter, tmp_path):
    out = experiment.run(hyp(Decision.better(0.0), Seeds.adaptive(3, 2, 9)), inter=inter, results_dir=tmp_path,
                         cache_dir=None, quiet=True)
    seq = out.summary["sequential"]
    assert [k["n_seeds"] for k in seq["looks"]] == [3] and seq["looks"][0]["decided"]
    assert out.verdict.status == "CONFIRMED" and out.fitted == 6
    first = nominal_alphas(np.array([3, 5, 7, 9]) / 9, 0.05)[0]
    assert seq["looks"][0]["alpha"] == pytest.approx(first)
    cell = next(c for c in out.summary["cells"] if c["metric"] == "ndcg@10")
    assert cell["n_seeds"] == 3 and cell["delta"]["level"] == pytest.approx(1 - first)
    text = (out.run_dir / "report.md").read_text()
    assert "## Adaptive seeds" in text and "every target cell was decided after 3 seeds" in text


def test_an_undecidable_claim_runs_to_the_maximum(inter, tmp_path):
    """Two identical arms: every delta is 0, so 'better than 0' is never confirmed nor rejected."""
    h = hyp(Decision.better(0.0), Seeds.adaptive(2, 2, 6)).replace(treatment=Arm("pop2", "popularity"),
                                                                   baseline=Arm("pop", "popularity"))
    out = experiment.run(h, inter=inter, results_dir=tmp_path, cache_dir=None, quiet=True)
    seq = out.summary["sequential"]
    assert [k["n_seeds"] for k in seq["looks"]] == [2, 4, 6] and not any(k["decided"] for k in seq["looks"])
    assert out.verdict.status == "INCONCLUSIVE" and "reached the maximum of 6 seeds" in seq["stopped"]
    assert json.loads((out.run_dir / "summary.json").read_text())["sequential"] == seq


def test_an_empty_target_segment_does_not_keep_the_run_going(inter, tmp_path):
    """A target cell without evaluable users is INCONCLUSIVE at every look; the other target cell
    decides at once, so the run stops at the first look instead of training all seeds."""
    h = hyp(Decision.better(0.0), Seeds.adaptive(3, 2, 9)).replace(
        segments=(Segment.all(), Segment.history_bucket(100000, None, "nobody")),
        decision={"all": Decision.better(0.0), "nobody": Decision.better(0.0)})
    out = experiment.run(h, inter=inter, results_dir=tmp_path, cache_dir=None, quiet=True)
    looks = out.summary["sequential"]["looks"]
    assert [k["n_seeds"] for k in looks] == [3] and looks[0]["decided"]
    statuses = {v["segment"]: v["status"] for v in out.summary["verdict"]["variants"]}
    assert statuses == {"all": "CONFIRMED", "nobody": "INCONCLUSIVE"}


def test_cli_seeds_auto_overrides_a_fixed_plan():
    from harness.cli import with_seeds

    h = hyp(Decision.better(0.0), (0, 1, 2))
    auto = with_seeds(h, "auto")
    assert auto.adaptive == Seeds.adaptive() and auto.seeds == tuple(range(15))
    fixed = with_seeds(auto, 4)
    assert fixed.adaptive is None and fixed.seeds == (0, 1, 2, 3)
    assert adaptive.levels(fixed) == [(4, 0.05)]
