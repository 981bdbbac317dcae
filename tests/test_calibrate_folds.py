"""calibrate with rolling-origin folds: the deciding rate is the fold interval's over the same seed groups in
every fold (by hand), its A/A rate holds alpha on a null with fold, seed and user effects, and a run on a
small generated VK-LSVD trains the baseline once per (fold, seed) and renders the fold table."""
from __future__ import annotations

import numpy as np
import pytest
from _tiny import tiny_vk
from scipy import stats as sps

from harness import stats as S
from harness.runner import calibrate as C
from harness.runner.prepared import prepare_hypothesis
from harness.spec import Arm, Decision, Hypothesis, Segment, Split


def test_fold_group_rejections_by_hand():
    """k = 2, 9 seeds: groups (0, 1 | 2, 3) and (4, 5 | 6, 7) in every fold; the second group's treatment
    seeds are better in every fold; an empty fold is left out."""
    rng = np.random.default_rng(0)
    folds = [rng.normal(size=(9, n)) * 0.1 for n in (150, 0, 200)]
    for v in folds:
        v[6:8] += 0.5
    got = C.fold_group_rejections(folds, 2, 0.05)
    assert got.tolist() == [False, True]
    for g in range(2):
        b, t = slice(4 * g, 4 * g + 2), slice(4 * g + 2, 4 * g + 4)
        ci = S.fold_interval([folds[0][t] - folds[0][b], folds[2][t] - folds[2][b]], confidence_level=0.95).ci
        assert got[g] == (ci.low > 0 or ci.high < 0)


def test_fold_interval_holds_alpha_on_an_aa_null():
    """600 independent 3-vs-3 A/A comparisons over 4 folds whose users and seeds have real effects (a seed
    effect per fold and seed, user levels, a fold level shared by both arms): the fold interval's rate lies in
    the 99 % binomial band of alpha."""
    rng = np.random.default_rng(3)
    k, n_groups, alpha = 3, 600, 0.05
    rejected = []
    for _ in range(n_groups):
        folds = []
        for n in (120, 90, 150, 100):
            folds.append(rng.normal() * 0.05 + 0.2 * rng.standard_normal(n) + 0.02 * rng.standard_normal((2 * k, 1))
                         + 0.1 * rng.standard_normal((2 * k, n)))
        rejected.extend(C.fold_group_rejections(folds, k, alpha))
    lo, hi = (sps.binom.ppf(q, n_groups, alpha) / n_groups for q in (0.005, 0.995))
    assert lo <= np.mean(rejected) <= hi, np.mean(rejected)


@pytest.fixture(scope="module")
def inter(tmp_path_factory):
    return tiny_vk(tmp_path_factory.mktemp("calfolds"), "synthetic-calfolds", n_users=300, n_items=120, seed=5)


def test_calibrate_a_rolling_hypothesis(inter, tmp_path):
    hyp = Hypothesis(id="HC", claim="c", dataset="synthetic-calfolds", positives=("watch_ratio>=0.5",),
                     baseline=Arm("cf", "lightfm", no_components=8, epochs=2), treatment=Arm("pop", "popularity"),
                     segments=(Segment.activity_quantile(0.7, name="dense"), Segment.all()), metrics=("ndcg@10",),
                     primary="ndcg@10", seeds=(0, 1), decision=Decision.not_worse(0.01),
                     split=Split.rolling(test_from=23, folds=3))
    p = prepare_hypothesis(hyp, inter)
    cal = C.calibrate(p, 8, cache_dir=tmp_path / "tasks", n_resamples=100)
    assert len(list((tmp_path / "tasks").glob("*.npz"))) == 3 * 8  # the baseline once per (fold, seed)
    assert cal.folds == 3 and len(cal.rows) == 2 * (1 + len(C.NAIVE))
    deciding = [r for r in cal.rows if r.deciding]
    assert [r.test for r in deciding] == [C.DECIDING_FOLDS] * 2
    assert all(r.n_comparisons == 8 // 4 for r in deciding)
    assert all(r.n_comparisons == 4 for r in cal.rows if not r.deciding)
    text = C.render(cal)
    assert "in each of 3 rolling-origin folds, combined by the fold interval" in text
    assert "(user, fold) pairs as units" in text and C.DECIDING_FOLDS in text
