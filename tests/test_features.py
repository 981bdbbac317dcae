"""harness.design.features: hand-computed encodings, statistics from the fitting rows only, LightFM's conventions,
and every arm that reads side features building them through it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from harness.design import features
from harness.arms import lightfm as lfm
from harness.arms.scorer import TrainData
from harness.errors import HarnessError


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "genres": ["драмы, комедии", "комедии", None, "ужасы"],
        "content_type": ["film", "series", "film", None],
        "hours": [1.5, 2.5, np.nan, 5.5],
        "age_rating": pd.array([0, 6, pd.NA, 18], dtype="Int64"),  # few distinct integers: categorical
        "kids_flg": pd.array([0, 1, 1, pd.NA], dtype="Int64"),
    })


def test_meta_table_hand_computed():
    t = features.meta_table(frame(), 4, fit_rows=np.array([0, 1]))
    assert t.names == ("genres=драмы", "genres=комедии", "content_type=film", "content_type=series",
                       "hours", "age_rating=0", "age_rating=6", "kids_flg=0", "kids_flg=1")
    # hours standardised with rows 0 and 1 only: mean 2, std 0.5; missing -> 0
    expected = np.array([[1, 1, 1, 0, -1, 1, 0, 1, 0],
                         [0, 1, 0, 1, 1, 0, 1, 0, 1],
                         [0, 0, 1, 0, 0, 0, 0, 0, 1],
                         [0, 0, 0, 0, 7, 0, 0, 0, 0]], dtype=np.float32)
    np.testing.assert_array_equal(t.values, expected)  # "ужасы" is not in the fitting rows' vocabulary


def test_meta_table_all_rows_and_missing_rows():
    t = features.meta_table(frame(), 6)  # rows 4, 5 are absent from the frame: all-zero rows
    assert "genres=ужасы" in t.names and "age_rating=18" in t.names and t.values.shape == (6, 11)
    assert not t.values[4:].any()
    hours = t.values[:, t.names.index("hours")]
    np.testing.assert_allclose(hours[[0, 1, 3]], (np.array([1.5, 2.5, 5.5]) - 19 / 6) / np.std([1.5, 2.5, 5.5]),
                               rtol=1e-6)


def test_free_text_is_skipped():
    titles = pd.DataFrame({"title": [f"film {i}" for i in range(100)], "type": ["a", "b"] * 50})
    assert features.meta_table(titles, 100).names == ("type=a", "type=b")


def test_max_tokens_keeps_the_most_frequent():
    s = pd.DataFrame({"c": ["x", "x", "y", "z", "z", "z"]})
    t = features.meta_table(s, 6, max_tokens=2)
    assert t.names == ("c=x", "c=z")


def test_multi_hot_pipe_and_vocab():
    block, vocab = features.multi_hot(pd.Series(["Action|Comedy", "(no genres listed)", "Comedy"]), "|")
    assert vocab == ("Action", "Comedy")
    np.testing.assert_array_equal(block, [[1, 1], [0, 0], [0, 1]])


def test_lightfm_matrix_identity_and_rows():
    f = np.array([[1.0, 3.0], [0.0, 0.0]], dtype=np.float32)
    m = features.lightfm_matrix(2, f, identity=True, normalize="rows").toarray()
    np.testing.assert_allclose(m, [[0.2, 0, 0.2, 0.6], [0, 1, 0, 0]], rtol=1e-6)
    np.testing.assert_array_equal(features.lightfm_matrix(2, f, identity=False).toarray(), f)
    with pytest.raises(HarnessError, match=r"normalize='l2': use None \(raw values\) or 'rows'"):
        features.lightfm_matrix(2, f, normalize="l2")


def test_content_columns_and_errors():
    c = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(features.content_columns(c, "embedding[:2]"), c[:, :2])
    assert features.uses_content("content") and not features.uses_content("meta")
    with pytest.raises(HarnessError, match=r"item_features='emb': write 'embedding\[:32\]'"):
        features.content_columns(c, "emb")
    with pytest.raises(HarnessError, match="has no item content; use 'meta'"):
        features.content_columns(None, "content")


def test_ordinal_table_is_the_rerank_encoding():
    values, codes = features.ordinal_table(frame()[["content_type", "hours"]], 5)
    np.testing.assert_array_equal(codes[0], [0, 1, 0, -1, -1])
    np.testing.assert_array_equal(values[:, 0], [0, 1, 0, np.nan, np.nan])
    np.testing.assert_array_equal(values[:, 1], [1.5, 2.5, np.nan, 5.5, np.nan])


def _train() -> TrainData:
    pos = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    return TrainData(positives=pos, seen=pos, item_meta=frame(),
                     user_meta=pd.DataFrame({"age": ["age_18_24", "age_25_34", "age_18_24"]}))


def test_lightfm_meta_features_come_from_the_module():
    train = _train()
    itf = lfm.item_feature_matrix(train, "meta", identity=False, normalize=None).toarray()
    # statistics from the items seen in training (0, 1, 2), as the module computes them
    np.testing.assert_array_equal(itf, features.meta_table(frame(), 4, np.array([0, 1, 2])).values)
    uf = lfm.user_feature_matrix(train, "meta", identity=True, normalize="rows").toarray()
    assert uf.shape == (3, 3 + 2)
    np.testing.assert_allclose(uf[2], [0, 0, 0.5, 0.5, 0])


def test_lightfm_meta_without_metadata_is_a_clear_error():
    train = TrainData(positives=_train().positives, seen=_train().seen)
    with pytest.raises(HarnessError, match="lightfm item_features='meta': this dataset has no usable item metadata"):
        lfm.item_feature_matrix(train, "meta")


def test_two_tower_inputs_come_from_the_module():
    from harness.arms import two_tower

    train = _train()
    user_x, item_x = two_tower.tower_inputs(train, "meta", "meta")
    np.testing.assert_array_equal(item_x, features.meta_table(frame(), 4, np.array([0, 1, 2])).values)
    np.testing.assert_array_equal(user_x, features.meta_table(train.user_meta, 3, np.array([0, 1])).values)


def test_movielens_metadata_through_the_module(ml100k):
    """ML-100K-format users: age standardised, gender and occupation one-hot, zip codes (free text) skipped."""
    t = features.meta_table(ml100k.user_meta, ml100k.n_users)
    assert t.names[:3] == ("age", "gender=F", "gender=M")
    assert all(n.startswith(("age", "gender=", "occupation=")) for n in t.names)
    age = t.values[:, 0]
    assert abs(float(age.mean())) < 1e-5 and float(age.std()) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(t.values[:, 1:3].sum(axis=1), 1.0)
