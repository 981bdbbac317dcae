"""H8: a DSSM two-tower model beats LightFM with features for cold users and is not worse for warm users.

Our user's KION notebook (rectools): LightFM (WARP) with user features (age, income, sex, kids) and
item features (genres, countries, content type, release year, ...) against a two-tower model in torch:
an item tower (MLP over the item features) and a user tower (MLP over the user metadata and MLP over
the user's interaction vector, concatenated), L2-normalised outputs, trained with a sampled softmax
over uniformly drawn negatives. Both read their features through :mod:`harness.design.features` and both
train until the validation window inside training stops improving (``epochs="auto"``; the two-tower's
validation curve rises slowly and noisily, so it gets patience 5 and at most 30 epochs).

Data: the KION layout (interactions.csv, users.csv, items.csv); the real files are not available
offline, so the declared dataset is ``synthetic-kion`` (:mod:`harness.data.synthetic_kion`: features
carry 60 % of the planted taste, 10 % of users arrive in the test week). Split: the last 7 days are
test. ``cold_users=True`` evaluates users with no training interaction at all (segment "cold", scored
from their metadata alone); "warm" = at least 10 training positives. The claim holds only if the
two-tower is better for cold users (seed x user interval above 0) AND not worse than LightFM by more
than 0.005 NDCG@10 for warm users.
"""
from harness.spec import Arm, Decision, Hypothesis, Segment

_AUTO = dict(epochs="auto")

HYPOTHESIS = Hypothesis(
    id="H8",
    claim="The two-tower model beats LightFM with features on NDCG@10 for cold users and is not worse for warm users",
    dataset="synthetic-kion",
    positives=("watched_pct>=50",),
    baseline=Arm("lightfm+features", "lightfm", loss="warp", no_components=32, learning_rate=0.05,
                 user_features="meta", item_features="meta", max_epochs=30, patience=3, **_AUTO),
    treatment=Arm("two-tower", "two_tower", n_factors=32, hidden=64, dropout=0.1, loss="sampled_softmax",
                  temperature=0.05, n_negatives=16, batch_size=512, lr=0.003, max_epochs=30, patience=5, **_AUTO),
    segments=(Segment.history_bucket(0, 1, name="cold"), Segment.history_bucket(1, 10, name="medium"),
              Segment.history_bucket(10, None, name="warm"), Segment.all()),
    decision={"cold": Decision.better(margin=0.0), "warm": Decision.not_worse(margin=0.005)},
    metrics=("ndcg@10", "map@10", "novelty@10"),
    primary="ndcg@10",
    seeds=(0, 1, 2),
    cold_users=True,
)
