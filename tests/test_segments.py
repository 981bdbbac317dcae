"""Quantile segments under ties: the tie rules, the realised share, and the report's warning."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from harness.runner import experiment
from harness.design import segments
from harness.arms.scorer import TrainData
from harness.data import load_dataset
from harness.errors import HarnessError
from harness.design.prepare import EvalData
from harness.spec import Arm, Decision, Hypothesis, Segment


def eval_data(n_train_pos: np.ndarray) -> EvalData:
    """Minimal EvalData: every user with a training positive is evaluated."""
    n = len(n_train_pos)
    m = sp.csr_matrix((n, 3), dtype=np.float32)
    return EvalData("v", TrainData(m, m), np.flatnonzero(n_train_pos > 0), sp.csr_matrix((n, 3), dtype=bool),
                    np.asarray(n_train_pos))


# 100 active users: 10 with 1..10 positives, 90 tied at 50 (a per-user cap, as on Last.fm); 5 inactive
CAPPED = np.concatenate([np.arange(1, 11), np.full(90, 50), np.zeros(5, int)])


def test_tie_rules_on_capped_activity():
    d = eval_data(CAPPED)
    assert segments.threshold(Segment.activity_quantile(0.7), d) == 50
    sizes = {rule: int(segments.membership(Segment.activity_quantile(0.7, ties=rule), d, None).sum())
             for rule in ("above", "below", "random")}
    assert sizes == {"above": 90, "below": 0, "random": 30}  # random: round(0.3 * 100) = 30 of the 90 tied
    # the complement segment gets the rest, for every rule
    for rule, n in sizes.items():
        low = segments.membership(Segment.activity_quantile(0.7, above=False, ties=rule), d, None)
        assert int(low.sum()) == 100 - n
    # random is seeded: the same seed picks the same users, another seed others
    pick = {s: np.flatnonzero(segments.membership(Segment.activity_quantile(0.7, ties="random", seed=s), d, None))
            for s in (0, 0, 1)}
    a = segments.membership(Segment.activity_quantile(0.7, ties="random", seed=0), d, None)
    assert np.array_equal(np.flatnonzero(a), pick[0]) and not np.array_equal(pick[0], pick[1])
    assert (d.n_train_pos[d.users][a] == 50).all()


def test_describe_flags_a_share_far_from_the_request():
    d = eval_data(CAPPED)
    seg = Segment.activity_quantile(0.7)
    info = segments.describe(seg, segments.membership(seg, d, None), d)
    assert (info.n_users, info.requested_share, info.realised_share, info.threshold, info.n_tied, info.ties) == \
        (90, pytest.approx(0.3), 0.9, 50, 90, "above")
    assert info.warning.startswith("segment 'dense' asks for 30 % of active users but holds 90.0 %: 90 users tie")
    rnd = Segment.activity_quantile(0.7, ties="random")
    ok = segments.describe(rnd, segments.membership(rnd, d, None), d)
    assert ok.realised_share == 0.3 and ok.warning is None
    # no ties: 100 distinct counts, the top 30 % exactly, no warning
    spread = eval_data(np.arange(1, 101))
    info = segments.describe(seg, segments.membership(seg, spread, None), spread)
    assert (info.n_users, info.warning, info.n_tied) == (30, None, 0)


def test_unknown_tie_rule_is_one_line():
    with pytest.raises(HarnessError, match="Segment 'dense': Unknown ties rule 'up'. Available: above, below, random"):
        Segment.activity_quantile(0.7, ties="up")


def capped_csv(path, rng):
    """A Last.fm-style log: most users have exactly 50 items (the export's cap)."""
    rows = []
    for u in range(300):
        n = 50 if u % 10 else int(rng.integers(5, 49))
        items = rng.choice(400, size=n + 10, replace=False, p=np.r_[np.full(100, 6.0), np.ones(300)] / 900)
        rows += [(u, int(i), t, 5) for t, i in enumerate(items)]
    pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "rating"]).to_csv(path, index=False)


def test_report_warns_about_a_tied_quantile_segment(tmp_path):
    capped_csv(tmp_path / "capped.csv", np.random.default_rng(0))
    inter = load_dataset(f"tabular:{tmp_path / 'capped.csv'}", positives=("rating>=4",))
    hyp = Hypothesis(id="HS", claim="ties", dataset="tabular", positives=("rating>=4",),
                     baseline=Arm("pop", "popularity"), treatment=Arm("knn", "itemknn"),
                     segments=(Segment.activity_quantile(0.7, name="dense"), Segment.all()), metrics=("ndcg@10",),
                     primary="ndcg@10", seeds=(0, 1), decision=Decision.better(0.0), n_boot=200)
    out = experiment.run(hyp, inter=inter, results_dir=tmp_path / "res", cache_dir=None, quiet=True)
    doc = json.loads((out.run_dir / "summary.json").read_text())
    info = doc["data"]["segment_info"]["rating>=4"]["dense"]
    assert info["realised_share"] > 0.6 and info["requested_share"] == pytest.approx(0.3)
    assert doc["data"]["segment_info"]["rating>=4"]["all"]["share"] == 1.0
    text = (out.run_dir / "report.md").read_text()
    assert "WARNING: far from the requested share" in text
    # what undercuts the verdict stands under it, not among the notes
    assert "- **warning:** positives 'rating>=4': segment 'dense' asks for 30 % of active users" in text
    assert doc["warnings"][0].startswith("positives 'rating>=4': segment 'dense' asks for 30 % of active users")
