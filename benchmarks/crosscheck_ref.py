"""Reference side of ``benchmarks/crosscheck_beyond.py``: runs in a reference venv, never in the project's.

    <venv>/bin/python benchmarks/crosscheck_ref.py {rectools,lenskit,recommenders} CASES_DIR

Reads every ``case*.npz`` in CASES_DIR (written by crosscheck_beyond.py), computes the reference
library's metrics on the same data and writes ``<case>.<library>.npz`` next to it, plus
``<library>.json`` with the library's version. Imports nothing from ``harness`` (the reference venv
has other numpy/pandas versions). Per-user outputs are float arrays aligned with the case's users,
NaN where the library gives no value for that user.
"""
from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd


def frames(c):
    """reco (user, item, rank 1..), train and test interactions as the libraries' long tables."""
    topk = c["topk"]
    u, r = np.nonzero(topk >= 0)
    reco = pd.DataFrame({"user_id": u, "item_id": topk[u, r], "rank": r + 1})
    train = pd.DataFrame({"user_id": c["train_u"], "item_id": c["train_i"]})
    test = pd.DataFrame({"user_id": c["test_u"], "item_id": c["test_i"]})
    return reco, train, test


def per_user(series: pd.Series, n_users: int) -> np.ndarray:
    out = np.full(n_users, np.nan)
    out[series.index.to_numpy(dtype=np.int64)] = series.to_numpy(dtype=np.float64)
    return out


def run_rectools(c) -> dict:
    from scipy.spatial.distance import cosine

    from rectools.metrics import AvgRecPopularity, IntraListDiversity, MeanInvUserFreq, Serendipity
    from rectools.metrics.distances import PairwiseDistanceCalculator

    class CosineDistance(PairwiseDistanceCalculator):
        """1 - cosine of item vectors, pair by pair with scipy (RecTools ships only Hamming calculators)."""

        def __init__(self, vectors):
            self.vectors = vectors

        def _get_distances_for_item_pairs(self, items_0, items_1):
            return np.array([cosine(self.vectors[a], self.vectors[b]) for a, b in zip(items_0, items_1)])

    reco, train, test = frames(c)
    n_users, k = c["topk"].shape
    n_items = int(c["n_items"])
    out = {}
    out["ild"] = per_user(IntraListDiversity(k, CosineDistance(c["vectors"])).calc_per_user(reco), n_users)
    out["novelty"] = per_user(MeanInvUserFreq(k).calc_per_user(reco, train), n_users)
    out["avgpop"] = per_user(AvgRecPopularity(k).calc_per_user(reco, train), n_users)
    # GAP_p: the users' training histories as "recommendations" (any order), mean popularity per user
    hist = train.assign(rank=train.groupby("user_id").cumcount() + 1)
    hist = hist[hist.user_id.isin(c["users"])]
    out["history_pop"] = per_user(AvgRecPopularity(int(hist["rank"].max())).calc_per_user(hist, train), n_users)
    out["serendipity"] = per_user(
        Serendipity(k).calc_per_user(reco, test, train, catalog=np.arange(n_items)), n_users)
    return out


def run_lenskit(c) -> dict:
    from lenskit.data import ItemList
    from lenskit.metrics import ExposureGini, ListGini, LogRankWeight
    from lenskit.metrics.ranking._entropy import matrix_column_entropy
    from lenskit.stats import gini

    topk = c["topk"]
    n_items = int(c["n_items"])
    k = topk.shape[1]
    # an empty list exposes nothing (and its id array would have arrow type null): left out
    lists = [ItemList(item_ids=row[row >= 0], ordered=True) for row in topk if (row >= 0).any()]

    def aggregate(metric):
        return metric.global_aggregate([metric.compute_list_data(li, None) for li in lists])

    out = {
        "gini": aggregate(ListGini(k, items=n_items)),
        # 1 / log2(rank + 1): LogRankWeight with offset 1 (offset 0 clips rank 1 to 2 instead)
        "gini_discounted": aggregate(ExposureGini(k, items=n_items, weight=LogRankWeight(offset=1))),
        # the bare Gini formula on the project's own (float64) exposure vectors
        "stats_gini": gini(c["counts"]),
        "stats_gini_discounted": gini(c["exposure_discounted"]),
    }
    # LensKit's entropy is of a category distribution: every listed item as a one-hot category row
    onehot = np.zeros((int((topk >= 0).sum()), n_items))
    onehot[np.arange(onehot.shape[0]), topk[topk >= 0]] = 1.0
    out["entropy"] = matrix_column_entropy(onehot)
    return {name: np.float64(v) for name, v in out.items()}


def run_recommenders(c) -> dict:
    from recommenders.evaluation.python_evaluation import distributional_coverage, user_diversity

    reco, train, _ = frames(c)
    reco = reco.rename(columns={"rank": "prediction"})
    reco["prediction"] = -reco["prediction"].astype(float)
    train = train.assign(rating=1.0)
    feats = pd.DataFrame({"item_id": np.arange(int(c["n_items"])), "features": list(c["vectors"])})
    kw = dict(col_user="user_id", col_item="item_id")
    div = user_diversity(train, reco, item_feature_df=feats, item_sim_measure="item_feature_vector",
                         col_item_features="features", **kw)
    return {"ild": per_user(div.set_index("user_id")["user_diversity"], c["topk"].shape[0]),
            "entropy": np.float64(distributional_coverage(train, reco, **kw))}


RUN = {"rectools": (run_rectools, "rectools"), "lenskit": (run_lenskit, "lenskit"),
       "recommenders": (run_recommenders, "recommenders")}


def main() -> None:
    lib, cases = sys.argv[1], Path(sys.argv[2])
    fn, dist = RUN[lib]
    for path in sorted(p for p in cases.glob("case*.npz") if p.name.count(".") == 1):
        with np.load(path) as c:
            np.savez(path.with_suffix(f".{lib}.npz"), **fn(c))
    versions = {dist: metadata.version(dist), "numpy": np.__version__, "pandas": pd.__version__,
                "python": sys.version.split()[0]}
    (cases / f"{lib}.json").write_text(json.dumps(versions))


if __name__ == "__main__":
    main()
