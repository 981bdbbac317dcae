"""synthetic-kion: byte-identical for a seed, read by the KION loader, cold users only in the test week, and user
features that carry taste (the segment H8 compares on is meaningful)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.data import kion, load_dataset, synthetic_kion
from harness.errors import HarnessError
from harness.design.prepare import prepare
from harness.design.split import split

FILES = ("interactions.csv", "users.csv", "items.csv", "SYNTHETIC.json")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return synthetic_kion.generate(tmp_path_factory.mktemp("sk") / "a", n_users=2000, n_items=300, seed=4)


def test_same_seed_same_bytes_other_seed_differs(root, tmp_path):
    again = synthetic_kion.generate(tmp_path / "b", n_users=2000, n_items=300, seed=4)
    for f in FILES:
        assert (root / f).read_bytes() == (again / f).read_bytes(), f
    other = synthetic_kion.generate(tmp_path / "c", n_users=2000, n_items=300, seed=5)
    assert (root / "interactions.csv").read_bytes() != (other / "interactions.csv").read_bytes()


def test_read_by_the_kion_loader_with_cold_users(root):
    info = json.loads((root / "SYNTHETIC.json").read_text())
    inter = kion.load(root, name="synthetic-kion")
    assert inter.n_users == 2000 and len(inter.events) == info["rows"]
    assert inter.counts["users_without_metadata"] == info["users_without_metadata"] > 0
    assert set(inter.user_meta.columns) == {"age", "income", "sex", "kids_flg"}
    assert {"genres", "countries", "content_type", "release_year"} <= set(inter.item_meta.columns)
    # cold users arrive in the test week: they are only in the test window (others may be too, by chance)
    assert inter.counts["users_only_in_test"] >= info["cold_users"] > 0.05 * 2000
    d = prepare(inter, split(inter, inter.default_split), "watched_pct>=50", cold_users=True)
    assert d.counts["cold_users_evaluated"] > 0.8 * info["cold_users"]


def test_user_features_carry_taste(root):
    """For cold users, the items popular among training users with the same metadata beat global popularity."""
    inter = kion.load(root, name="synthetic-kion")
    d = prepare(inter, split(inter, inter.default_split), "watched_pct>=50", cold_users=True)
    key = pd.factorize(inter.user_meta.astype("string").fillna("NA").agg("|".join, axis=1))[0]
    pos = d.train.positives.tocoo()
    group_pop = np.zeros((key.max() + 1, inter.n_items))
    np.add.at(group_pop, (key[pos.row], pos.col), 1.0)
    global_pop = group_pop.sum(axis=0)
    cold = d.users[d.n_train_pos[d.users] == 0]
    rel = d.relevant[cold].toarray()

    def precision(scores: np.ndarray) -> float:
        top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
        return float(np.take_along_axis(rel, top, axis=1).mean())

    by_group = precision(group_pop[key[cold]] + 1e-6 * global_pop)
    overall = precision(np.broadcast_to(global_pop, rel.shape))
    print(f"cold users precision@10: by metadata group {by_group:.4f}, global popularity {overall:.4f}")
    assert by_group > 1.1 * overall, (by_group, overall)


def test_bad_arguments_and_dataset_name(tmp_path):
    with pytest.raises(HarnessError, match=r"synthetic-kion: feature_signal=2 must be in \[0, 1\]"):
        synthetic_kion.generate(tmp_path / "x", feature_signal=2)
    with pytest.raises(HarnessError, match=r"write the size as synthetic-kion:x4"):
        load_dataset("synthetic-kion:big", cache_dir=tmp_path)
