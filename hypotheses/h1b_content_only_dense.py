"""H1b: H1 as our user's notebook ran it: content-only item features for LightFM.

The notebook fed LightFM the item content embeddings as the only item features (no per-item identity
columns), built with LightFM's ``Dataset``, which L1-normalises each feature row. So the treatment
here is a pure content model for items (users keep identity features), against CF-only LightFM;
H1 asks the same question of the hybrid model (identity plus content). Both arms train until the
validation window inside training stops improving (``epochs="auto"``).
"""
from harness.spec import Arm, Decision, Hypothesis, Segment

_LIGHTFM = dict(loss="bpr", no_components=64, learning_rate=0.05, epochs="auto", max_epochs=30, patience=3)

HYPOTHESIS = Hypothesis(
    id="H1b",
    claim="Content-only item features (the notebook's model) do not improve NDCG@10 for the most active 30 % of users",
    dataset="synthetic-vk",
    positives=("watch_ratio>=0.5", "like|share|bookmark"),
    baseline=Arm("cf", "lightfm", **_LIGHTFM),
    treatment=Arm("content-only", "lightfm", item_features="embedding[:32]", identity=False, normalize="rows",
                  **_LIGHTFM),
    segments=(Segment.activity_quantile(0.7, name="dense"), Segment.all()),
    metrics=("ndcg@10", "recall@10"),
    primary="ndcg@10",
    seeds=tuple(range(5)),
    decision=Decision.not_better(margin=0.002, alpha=0.05),
)
