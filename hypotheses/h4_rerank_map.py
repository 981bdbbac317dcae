"""H4: re-ranking ALS top-100 candidates with LightGBM LambdaRank improves MAP@10 over ALS alone.

The ranker learns on an inner window before the evaluation window (the last training items of each
user; no test labels). Needs the optional extra: pip install -e ".[rerank]".
"""
from harness.spec import Arm, Decision, Hypothesis, Segment

_ALS = dict(factors=64, regularization=0.01, alpha=1.0, iterations=15)

HYPOTHESIS = Hypothesis(
    id="H4",
    claim="Re-ranking ALS candidates with LightGBM improves MAP@10 over ALS alone",
    dataset="ml-100k",
    positives=("rating>=4",),
    baseline=Arm("als", "als", **_ALS),
    treatment=Arm("als+lgbm", "rerank", candidates=100, inner_split="per_user", **_ALS),
    segments=(Segment.all(), Segment.activity_quantile(0.7, name="dense")),
    metrics=("map@10", "ndcg@10"),
    primary="map@10",
    seeds=tuple(range(3)),
    decision=Decision.better(margin=0.0),
)
