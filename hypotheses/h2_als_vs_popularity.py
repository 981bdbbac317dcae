"""H2: implicit ALS beats popularity on NDCG@10 in every activity bucket (cold, medium, warm).

Buckets by training positives: cold < 20, medium 20-99, warm >= 100. The claim must hold in each
bucket (CONFIRMED only if the seed x user interval of ALS - popularity lies above 0 in all three).
"""
from harness.spec import Arm, Decision, Hypothesis, Segment

HYPOTHESIS = Hypothesis(
    id="H2",
    claim="ALS beats popularity on NDCG@10 for every activity bucket",
    dataset="ml-100k",
    positives=("rating>=4",),
    baseline=Arm("popularity", "popularity"),
    treatment=Arm("als", "als", factors=64, regularization=0.01, alpha=1.0, iterations=15),
    segments=(Segment.history_bucket(0, 20, name="cold"), Segment.history_bucket(20, 100, name="medium"),
              Segment.history_bucket(100, None, name="warm"), Segment.all()),
    target=("cold", "medium", "warm"),
    metrics=("ndcg@10", "recall@10", "novelty@10"),
    primary="ndcg@10",
    seeds=tuple(range(5)),
    decision=Decision.better(margin=0.0),
)
