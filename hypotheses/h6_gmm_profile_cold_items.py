"""H6 (items -> users): the GMM interest profile beats the mean-embedding profile on NDCG@100 for cold items.

The VK-LSVD challenge task: for each new (cold) item, rank users; a user is relevant when they
engaged with the item (like | dislike | share | bookmark | click_on_author | open_comments) in the
evaluation week; NDCG@100 per item. Units of analysis are items (direction="item_to_users").

Split: weeks 0-24 train, week 25 test; items first seen in week 25 are cold, and 20 % of the
other week-25 items (seed 0) lose their training rows, so only content can score them.
Arms: baseline = user profile = mean content embedding of watched items (cosine); treatment = a
128-component Gaussian mixture fitted on training items' embeddings (seeded), user = mean posterior
of watched items, item = its posterior, dot product. Target: cold items; the claim holds when the
seed x item interval of (GMM - mean) lies above 0.
"""
from harness.spec import Arm, Decision, Hypothesis, Segment, Split

ENGAGED = "like|dislike|share|bookmark|click_on_author|open_comments"

HYPOTHESIS = Hypothesis(
    id="H6",
    claim="The GMM interest profile beats the mean-embedding profile on NDCG@100 for cold items",
    dataset="synthetic-vk",
    positives=(ENGAGED,),
    baseline=Arm("mean-embedding", "profile", watched=1.0),
    treatment=Arm("gmm", "gmm_profile", n_components=128, watched=1.0),
    segments=(Segment.cold_items("cold"), Segment.item_popularity(1, 20, name="niche"), Segment.all()),
    metrics=("ndcg@100", "recall@100"),
    primary="ndcg@100",
    seeds=tuple(range(5)),
    decision=Decision.better(0.0),
    split=Split.cold_items(25, sample=0.2, seed=0),
    direction="item_to_users",
)
