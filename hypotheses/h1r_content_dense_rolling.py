"""H1r: H1 asked of four test weeks instead of one (rolling-origin folds).

H1 trains on weeks 0-24 and tests on week 25: its interval counts seeds and users but not the choice of
the test week. H1r evaluates the same comparison (CF-only LightFM vs the hybrid with the first 32 content
embedding dimensions, WARP, ``epochs="auto"``) on four rolling-origin folds: fold f trains on every week
before 22 + f and tests on week 22 + f (weeks 22, 23, 24, 25). Segments are recomputed in each fold from
its own training weeks, so a user may be dense in some folds only. The deciding interval is the
random-effects combination of the folds' seed x user estimates (:func:`harness.stats.fold_interval`:
DerSimonian-Laird tau^2, Hartung-Knapp t on 3 df), and the report shows the fold-to-fold SD (tau) beside
the seed SD and in how many of the four weeks the verdict holds.

H1r is H1 itself (read from h1_content_dense.py, so its arms, positives, segments, seeds and epoch budget
cannot drift apart) with the rolling split (4 folds x 2 positives x 2 arms x 5 seeds = 80 fits); seed s
trains with its own random stream in each fold (:func:`harness.design.split.fold_seed`), so seed effects
are independent across folds, as the fold interval assumes. On synthetic-vk,
weeks 22-24 hold about a third of week 25's test positives (watch ratio >= 0.5: about 3,300-3,500 vs 11,100;
like | share | bookmark: about 1,000 vs 3,300), which still leaves hundreds of evaluated dense users per
week for both positive definitions.
"""
from pathlib import Path

from harness.runner.discover import load_file
from harness.spec import Split

HYPOTHESIS = load_file(Path(__file__).with_name("h1_content_dense.py")).replace(
    id="H1r",
    claim="Content embeddings do not improve NDCG@10 for the most active 30 % of users, over four rolling test weeks",
    split=Split.rolling(test_from=22, folds=4),
)
