"""calibrate: the deciding interval's A/A rate over independent seed groups, naive tests over disjoint
seed pairs, the findings lines, and the CLI table."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps

from harness.runner import calibrate as C
from harness import stats as S

HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HC", claim="c", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("cf", "lightfm", no_components=8, epochs=2), treatment=Arm("pop", "popularity"),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
    decision=Decision.not_worse(0.01))
"""


def crossed_null(rng, n_seeds, n_users, seed_sd, user_sd=0.2, res_sd=0.1):
    """One arm's per-seed, per-user metric: a user level, a real seed effect shared by all users, and
    seed x user noise. Any two seeds (or seed groups) are an A/A comparison."""
    return user_sd * rng.standard_normal(n_users) + seed_sd * rng.standard_normal((n_seeds, 1)) + \
        res_sd * rng.standard_normal((n_seeds, n_users))


def band99(n, alpha):
    return sps.binom.ppf(0.005, n, alpha) / n, sps.binom.ppf(0.995, n, alpha) / n


def test_group_rejections_pair_seed_groups_in_order():
    rng = np.random.default_rng(0)
    vals = crossed_null(rng, 9, 200, seed_sd=0.0)  # k=2: groups (0,1 | 2,3), (4,5 | 6,7); seed 8 unused
    vals[6:8] += 0.5  # the second group's "treatment" seeds are clearly better
    got = C.group_rejections(vals, 2, 0.05)
    assert got.tolist() == [False, True]
    for g, seeds in enumerate(((0, 1, 2, 3), (4, 5, 6, 7))):
        ci = S.seed_user_interval(vals[list(seeds[2:])] - vals[list(seeds[:2])], confidence_level=0.95,
                                  rng=np.random.default_rng(0)).ci
        assert got[g] == (ci.low > 0 or ci.high < 0)


def test_deciding_interval_holds_alpha_on_a_crossed_null_with_a_real_seed_effect():
    """1,000 independent 5-vs-5 A/A comparisons with seed variance dominating the mean's variance (as
    at scale): the seed x user interval's rate lies in the 99 % binomial band of alpha, while a
    per-user t-test on disjoint seed pairs rejects most of the time."""
    rng = np.random.default_rng(1)
    k, n_groups, alpha = 5, 1000, 0.05
    rejected, naive = [], []
    for _ in range(n_groups):
        vals = crossed_null(rng, 2 * k, 300, seed_sd=0.02)
        rejected.extend(C.group_rejections(vals, k, alpha))
        naive.extend(C.pair_pvalues(vals[:2], 50, rng, alpha)["paired t"] <= alpha)
    lo, hi = band99(n_groups, alpha)
    rate = np.mean(rejected)
    assert lo <= rate <= hi, (rate, lo, hi)
    assert np.mean(naive) > 0.5  # seed noise called significant


def test_pair_pvalues_calibrated_without_seed_effect():
    """Seeds that are exchangeable noise around one truth: each naive test's rate over independent
    disjoint pairs lies in the 99 % binomial band of alpha."""
    rng = np.random.default_rng(5)
    rejections = {}
    for _ in range(150):
        truth = rng.integers(0, 4, 400) / 4
        vals = truth + rng.choice([0.0, 0.25, -0.25], size=(6, 400), p=[0.6, 0.2, 0.2])
        for test, ps in C.pair_pvalues(vals, 300, rng, 0.05).items():
            rejections.setdefault(test, []).extend(ps <= 0.05)
    for test, rej in rejections.items():
        assert len(rej) == 450  # 3 disjoint pairs per 6 seeds
        lo, hi = band99(len(rej), 0.05)
        assert lo <= np.mean(rej) <= hi, (test, np.mean(rej))


def row(rejected, n, alpha=0.05):
    return C.rate_row(C.DECIDING, "v", "all", np.arange(n) < rejected, alpha)


def test_rate_row_matches_scipy_binomial():
    r = row(7, 40)
    ci = sps.binomtest(7, 40).proportion_ci(0.95, method="exact")
    assert (r.rejected, r.n_comparisons, r.rate) == (7, 40, 7 / 40)
    assert (r.ci.low, r.ci.high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert r.p_above == pytest.approx(sps.binomtest(7, 40, 0.05, alternative="greater").pvalue)
    assert r.p_below == pytest.approx(sps.binomtest(7, 40, 0.05, alternative="less").pvalue)
    empty = row(0, 0)
    assert empty.n_comparisons == 0 and np.isnan(empty.rate)


def test_findings_flag_above_below_and_too_few():
    def cal(*rows):
        return C.Calibration("H", "ndcg@10", 0.05, 40, 5, rows)

    assert cal(row(7, 40)).rows[0].p_above < 0.05
    assert C.findings(cal(row(7, 40)))[0].startswith("WARNING v / all: the deciding interval rejected 7 of 40")
    assert "conservative" in C.findings(cal(row(0, 200)))[0]
    assert "consistent with alpha=0.05 over 4 independent" in C.findings(cal(row(0, 4)))[0]
    assert "use --seeds 20 or more" in C.findings(cal(row(0, 0)))[0]
    naive = C.rate_row("paired t", "v", "all", np.ones(10, bool), 0.05)
    assert C.findings(cal(naive)) == []  # findings speak about the deciding interval only


def test_calibrate_cli_prints_deciding_and_naive_rates(ml100k_dir, tmp_path):
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "hc.py").write_text(HYP)
    out = subprocess.run([sys.executable, "-m", "harness", "calibrate", "HC", "--data-dir", str(ml100k_dir),
                          "--hypotheses", str(hyps), "--seeds", "8", "--quiet", "--cache-dir", str(tmp_path / "c")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [ln for ln in out.stdout.splitlines() if ln.startswith("rating>=4  ")]  # table rows (padded)
    assert len(rows) == 6  # the deciding interval + 5 naive tests, 1 segment
    assert C.DECIDING in rows[0] and rows[0].rstrip().endswith("/2")  # 8 seeds, 2 per arm: 2 groups
    for ln in rows[1:]:
        assert ln.rstrip().endswith("/4")  # 8 seeds -> 4 disjoint pairs
    assert "2 vs 2 seeds (2 independent comparisons)" in out.stdout
    assert "rating>=4 / all: the deciding interval" in out.stdout
