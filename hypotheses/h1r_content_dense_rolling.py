"""H1r: H1 asked of four test weeks instead of one (rolling-origin folds).

H1 trains on weeks 0-24 and tests on week 25: its interval counts seeds and users but not the choice of
the test week. H1r evaluates the same comparison (CF-only LightFM vs the hybrid with the first 32 content
embedding dimensions, WARP, ``epochs="auto"``) on four rolling-origin folds: fold f trains on every week
before 22 + f and tests on week 22 + f (weeks 22, 23, 24, 25). Segments are recomputed in each fold from
its own training weeks, so a user may be dense in some folds only. The deciding interval is the
random-effects combination of the folds' seed x user estimates (:func:`harness.stats.fold_interval`:
DerSimonian-Laird tau^2, Hartung-Knapp t on 3 df), and the report shows the fold-to-fold SD (tau) beside
the seed SD and in how many of the four weeks the verdict holds.

The arms, seeds and epoch budget are H1's (4 folds x 2 positives x 2 arms x 5 seeds = 80 fits); seed s
trains with its own random stream in each fold (:func:`harness.design.split.fold_seed`), so seed effects
are independent across folds, as the fold interval assumes. On synthetic-vk,
weeks 22-24 hold about a third of week 25's test positives (watch ratio >= 0.5: about 3,300-3,500 vs 11,100;
like | share | bookmark: about 1,000 vs 3,300), which still leaves hundreds of evaluated dense users per
week for both positive definitions.
"""
from harness.spec import Arm, Decision, Hypothesis, Segment, Split

_LIGHTFM = dict(loss="warp", no_components=64, learning_rate=0.05, epochs="auto", max_epochs=30, patience=3)

HYPOTHESIS = Hypothesis(
    id="H1r",
    claim="Content embeddings do not improve NDCG@10 for the most active 30 % of users, over four rolling test weeks",
    dataset="synthetic-vk",
    positives=("watch_ratio>=0.5", "like|share|bookmark"),
    baseline=Arm("cf", "lightfm", **_LIGHTFM),
    treatment=Arm("cf+content", "lightfm", item_features="embedding[:32]", **_LIGHTFM),
    segments=(Segment.activity_quantile(0.7, name="dense"), Segment.all()),
    metrics=("ndcg@10", "recall@10"),
    primary="ndcg@10",
    seeds=tuple(range(5)),
    decision=Decision.not_better(margin=0.002, alpha=0.05),
    split=Split.rolling(test_from=22, folds=4),
)
