"""Shared fixtures.

``ml100k_dir`` / ``ml100k``: a generated MovieLens-100K-format dataset (RecBole atomic files, 300 users x
400 items with a planted taste structure; :mod:`harness.data.mlfixture`), so every end-to-end, report,
gate, fault and tuning test runs in a fresh clone with no data beside it.

``ml100k_real_dir`` / ``ml100k_real``: the real ML-100K (RecBole files) for the few tests that assert its
published numbers; they skip with a reason when it is absent. Its location is ``$HARNESS_TEST_ML100K``
(default ``../shared/data/ml-100k`` beside the checkout); set ``HARNESS_TEST_ML100K=/nonexistent`` to see
what a fresh clone runs.

The whole session runs with ``HARNESS_OFFLINE=1`` and ``HARNESS_CACHE_DIR`` in a temporary folder (inherited
by the CLI subprocesses), so no test can download anything or touch the user's data cache; the fetch tests
serve fixture archives from 127.0.0.1 and switch offline mode off explicitly.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ML100K_REAL = Path(os.environ.get("HARNESS_TEST_ML100K")
                   or Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k")


def real_ml100k_or_skip() -> Path:
    """The real ML-100K directory, or skip the calling test saying where it was looked for."""
    if not (ML100K_REAL / "ml-100k.inter").is_file():
        pytest.skip(f"real ML-100K not found at {ML100K_REAL} (set HARNESS_TEST_ML100K to a folder "
                    "holding RecBole's ml-100k.inter/.item/.user)")
    return ML100K_REAL


@pytest.fixture(scope="session", autouse=True)
def _offline_data_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("HARNESS_OFFLINE", "1")
    mp.setenv("HARNESS_CACHE_DIR", str(tmp_path_factory.mktemp("user_cache")))
    mp.delenv("HARNESS_DATA_MIRROR", raising=False)
    mp.delenv("HARNESS_DATA_REGISTRY", raising=False)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def ml100k_dir(tmp_path_factory) -> Path:
    """A generated ML-100K-format dataset in RecBole atomic files (same for every test session)."""
    from harness.data import mlfixture

    return mlfixture.write_100k(tmp_path_factory.mktemp("ml100k_fixture"), layout="recbole")


@pytest.fixture(scope="session")
def ml100k(ml100k_dir):
    from harness.data import movielens

    return movielens.load_100k(ml100k_dir)


@pytest.fixture(scope="session")
def ml100k_real_dir() -> Path:
    return real_ml100k_or_skip()


@pytest.fixture(scope="session")
def ml100k_real(ml100k_real_dir):
    from harness.data import movielens

    return movielens.load_100k(ml100k_real_dir)
