"""Per-user ranking metrics from a hit matrix, vectorised; plus catalogue metrics.

All per-user metrics take ``hits`` (bool, shape (n_users, k): is the item at rank i relevant?) and
``n_rel`` (int, shape (n_users,): number of relevant items, > 0) and return float64 (n_users,).
Relevance is binary. Definitions (rank i = 1..k):

- ``ndcg@k``  = DCG / IDCG, DCG = sum_i hit_i / log2(i + 1), IDCG = sum_{i <= min(n_rel, k)} 1 / log2(i + 1)
  (the standard achievable ideal, as ranx and pytrec_eval; rectools' default does not cap by n_rel).
- ``recall@k`` = hits in top k / n_rel
- ``precision@k`` = hits in top k / k
- ``map@k`` = sum_i precision@i * hit_i / min(n_rel, k) (reaches 1 whenever the top k are all relevant)
- ``map_trec@k`` = sum_i precision@i * hit_i / n_rel (the AP@k of trec_eval and ranx; below ``map@k``
  when n_rel > k, at most k / n_rel)
- ``mrr@k`` = 1 / rank of the first hit (0 if none in top k)
- ``hitrate@k`` = 1 if any hit in top k else 0
"""
from __future__ import annotations

import numpy as np


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def ndcg(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    k = hits.shape[1]
    disc = _discounts(k)
    dcg = hits @ disc
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(n_rel, k)]
    return dcg / ideal


def recall(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    return hits.sum(axis=1) / n_rel


def precision(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    return hits.sum(axis=1) / hits.shape[1]


def map_(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    k = hits.shape[1]
    prec_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return (prec_at_i * hits).sum(axis=1) / np.minimum(n_rel, k)


def map_trec(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    k = hits.shape[1]
    prec_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return (prec_at_i * hits).sum(axis=1) / n_rel


def mrr(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    first = np.argmax(hits, axis=1)
    return np.where(hits.any(axis=1), 1.0 / (first + 1), 0.0)


def hitrate(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    return hits.any(axis=1).astype(np.float64)


#: Per-user metrics computed from the recommended items' training popularity, not from hits.
POPULARITY = ("novelty", "avgpop")

PER_USER = {"ndcg": ndcg, "recall": recall, "precision": precision, "map": map_, "map_trec": map_trec, "mrr": mrr,
            "hitrate": hitrate}

#: One-line definition of each metric, for the report (binary relevance, rank i = 1..k).
DEFINITIONS = {
    "ndcg": "DCG / IDCG with the ideal over min(|relevant|, k) hits (as ranx and trec_eval)",
    "recall": "hits in the top k / |relevant|",
    "precision": "hits in the top k / k",
    "map": "sum_i precision@i * hit_i / min(|relevant|, k); ranx and trec_eval divide by |relevant| "
           "(that is map_trec@k), so theirs is lower when a user has more than k relevant items",
    "map_trec": "sum_i precision@i * hit_i / |relevant|, as ranx and trec_eval (map@k divides by min(|relevant|, k))",
    "mrr": "1 / rank of the first hit (0 without a hit in the top k)",
    "hitrate": "1 if the top k hold a hit, else 0",
    "novelty": "mean -log2(training users of the item / training users) over the top k",
    "avgpop": "mean training users per item over the top k",
    "ild": "mean pairwise cosine distance 1 - cos of the top k's item content (each arm's own item factors "
           "when the data has no content); Smyth & McClave 2001, Ziegler et al. 2005",
    "calibration": "miscalibration KL(p || (1 - 0.01) q + 0.01 p) of the genre mix p of the user's training "
                   "history and q of the top k (Steck 2018); 0 = calibrated, lower is better",
    "serendipity": "relevant long-tail items in the top k / k (relevant and unexpected, Kotkov et al. 2016; "
                   "unexpected = outside the top 20 % of items by training users)",
    "aplt": "share of the top k outside the top 20 % of items by training users (ties at the cut in the head; "
            "Abdollahpouri et al. 2019)",
}


def compute(name: str, k: int, hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    """Metric ``name@k`` per user from a hit matrix with at least ``k`` columns."""
    return PER_USER[name](np.asarray(hits[:, :k], dtype=np.float64), np.asarray(n_rel))


def coverage(topk: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one user's top-k."""
    return float(len(np.unique(topk)) / n_items)


def novelty(topk: np.ndarray, item_users: np.ndarray, n_users: int) -> np.ndarray:
    """Per-user mean self-information ``-log2(users_i / n_users)`` of recommended items (rectools' MIUF)."""
    pop = np.maximum(item_users[topk], 1) / n_users
    return (-np.log2(pop)).mean(axis=1)


def avg_popularity(topk: np.ndarray, item_users: np.ndarray) -> np.ndarray:
    """Per-user mean training popularity (number of users) of recommended items."""
    return item_users[topk].mean(axis=1).astype(np.float64)
