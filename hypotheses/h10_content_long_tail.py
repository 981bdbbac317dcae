"""H10: item content embeddings spread LightFM's recommendations into the long tail at no NDCG cost.

Popularity bias is the other half of H1's question: content features let LightFM score items by what
they are, not only by who watched them, so the hybrid model should recommend more long-tail items
(APLT@10: the share of a list outside the 20 % most popular items by training users) and spread
exposure more evenly over the catalogue (exposure Gini). A long-tail gain is worth little if it costs
ranking quality, so the claim is an AND (``Decision.all_of``, an intersection-union test, no
correction needed): APLT@10 higher for dense users AND NDCG@10 not worse than CF-only by more than
0.002. Both arms as in H1 (LightFM WARP, 64 components, trained until the validation window stops
improving). The exposure Gini, entropy, popularity lift and each author-popularity bucket's share of
exposure (``exposure_groups="author_id"``) are reported with intervals over seeds; they describe the
catalogue, one value per seed, and are not part of the verdict.
"""
from harness.spec import Arm, Decision, Hypothesis, Segment

_LIGHTFM = dict(loss="warp", no_components=64, learning_rate=0.05, epochs="auto", max_epochs=30, patience=3)

HYPOTHESIS = Hypothesis(
    id="H10",
    claim="Content embeddings raise the long-tail share of dense users' top-10 without losing more than 0.002 NDCG@10",
    dataset="synthetic-vk",
    positives=("watch_ratio>=0.5",),
    baseline=Arm("cf", "lightfm", **_LIGHTFM),
    treatment=Arm("cf+content", "lightfm", item_features="embedding[:32]", **_LIGHTFM),
    segments=(Segment.activity_quantile(0.7, name="dense"), Segment.all()),
    metrics=("ndcg@10", "aplt@10", "ild@10", "novelty@10"),
    primary="ndcg@10",
    seeds=tuple(range(5)),
    decision=Decision.all_of(Decision.better(0.0, metric="aplt@10"), Decision.not_worse(margin=0.002)),
    exposure_groups="author_id",
)
