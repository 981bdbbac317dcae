"""H3: item-kNN is not worse than ALS on warm users (non-inferiority, margin 0.01 NDCG@10).

CONFIRMED when the lower bound of the seed x user interval of (item-kNN - ALS) in the warm bucket
(>= 100 training positives) is above -0.01.
"""
from harness.spec import Arm, Decision, Hypothesis, Segment

HYPOTHESIS = Hypothesis(
    id="H3",
    claim="Item-kNN is not worse than ALS on NDCG@10 for warm users (margin 0.01)",
    dataset="ml-100k",
    positives=("rating>=4",),
    baseline=Arm("als", "als", factors=64, regularization=0.01, alpha=1.0, iterations=15),
    treatment=Arm("itemknn", "itemknn", K=200),
    segments=(Segment.history_bucket(100, None, name="warm"), Segment.all()),
    metrics=("ndcg@10", "recall@10"),
    primary="ndcg@10",
    seeds=tuple(range(5)),
    decision=Decision.not_worse(margin=0.01),
)
