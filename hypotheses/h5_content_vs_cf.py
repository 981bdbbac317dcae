"""H5: content-only (mean item embedding) is worse than CF for dense users, but not for cold users.

Arms: content-only (user vector = mean of the content vectors of the user's training positives,
cosine scores) as baseline, ALS as treatment; delta = ALS - content. Dense users (top 30 % by
training positives): ALS better (interval above 0). Cold users (< 20 training positives): ALS not
better by more than 0.01 NDCG@10 (interval below +0.01), i.e. content holds up where CF has little data.
"""
from harness.spec import Arm, Decision, Hypothesis, Segment

HYPOTHESIS = Hypothesis(
    id="H5",
    claim="Content-only is worse than CF for dense users but not for cold users",
    dataset="ml-100k",
    positives=("rating>=4",),
    baseline=Arm("content", "content", engaged_only=True),
    treatment=Arm("als", "als", factors=64, regularization=0.01, alpha=1.0, iterations=15),
    segments=(Segment.activity_quantile(0.7, name="dense"), Segment.history_bucket(0, 20, name="cold"),
              Segment.all()),
    metrics=("ndcg@10", "recall@10"),
    primary="ndcg@10",
    seeds=tuple(range(5)),
    decision={"dense": Decision.better(0.0), "cold": Decision.not_better(0.01)},
)
