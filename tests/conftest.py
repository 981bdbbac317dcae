"""Shared fixtures: the real ML-100K (skipped when absent) and a small synthetic VK-LSVD dataset."""
from __future__ import annotations

from pathlib import Path

import pytest

ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


@pytest.fixture(scope="session")
def ml100k_dir() -> Path:
    if not (ML100K / "ml-100k.inter").is_file():
        pytest.skip(f"ML-100K not found at {ML100K}")
    return ML100K


@pytest.fixture(scope="session")
def ml100k(ml100k_dir):
    from harness.data import movielens

    return movielens.load_100k(ml100k_dir)
