"""Input validation shared by :mod:`harness.stats`: one-line :class:`HarnessError` messages."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.errors import HarnessError

ALTERNATIVES = ("two-sided", "less", "greater")

#: Significant digits (of the largest |value|) kept by :func:`tie_round` before ranking or sign tests.
TIE_DIGITS = 12


def as_1d(x: object, name: str, *, min_n: int = 1) -> np.ndarray:
    """Return ``x`` as a finite float64 vector of length >= ``min_n``."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise HarnessError(f"{name} must be numeric (one value per user), got {type(x).__name__}") from None
    if a.ndim != 1:
        raise HarnessError(f"{name} must be 1-D with shape (n_users,), got shape {a.shape}")
    if a.shape[0] < min_n:
        raise HarnessError(f"{name} needs at least {min_n} values, got {a.shape[0]}")
    if not np.all(np.isfinite(a)):
        raise HarnessError(f"{name} contains NaN or inf; drop or impute those users first")
    return a


def tie_round(x: np.ndarray, digits: int = TIE_DIGITS) -> np.ndarray:
    """Round ``x`` to ``digits`` significant digits of its largest ``|value|``, so float noise cannot split ties.

    Per-user deltas ``a - b`` that are mathematically equal can differ by ~1e-17 (``0.1 + 0.2 - 0.3`` is
    5.6e-17, not 0); ranking them raw splits exact ties and turns zeros into signs. Every value becomes
    ``round(x / q) * q`` with ``q = 10 ** (floor(log10(max|x|)) - digits + 1)``, so values within about
    ``q / 2`` become identical and ``|x| < q / 2`` becomes exactly 0. Used by every test that ranks
    values or reads their signs (Wilcoxon, sign tests, rank-biserial, randomization test's zeros).
    """
    a = np.asarray(x, dtype=np.float64)
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    if scale == 0.0:
        return a.copy()
    q = 10.0 ** (np.floor(np.log10(scale)) - (digits - 1))
    if q < np.finfo(np.float64).tiny:  # subnormal quantum: x / q would lose digits; leave x as is
        return a.copy()
    return np.round(a / q) * q


def as_2d(x: object, name: str) -> np.ndarray:
    """Return ``x`` as a finite float64 matrix of shape ``(n_seeds, n_users)``, both >= 1."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise HarnessError(f"{name} must be numeric with shape (n_seeds, n_users)") from None
    if a.ndim != 2:
        raise HarnessError(f"{name} must be 2-D with shape (n_seeds, n_users), got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 2:
        raise HarnessError(f"{name} needs >= 1 seed and >= 2 users, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise HarnessError(f"{name} contains NaN or inf; drop or impute those users first")
    return a


def paired(base: object, treat: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate two per-user vectors of equal length (same users, same order)."""
    b = as_1d(base, "base", min_n=2)
    t = as_1d(treat, "treat", min_n=2)
    if b.shape != t.shape:
        raise HarnessError(f"base and treat must be paired per user with equal length, got {b.shape[0]} and "
                           f"{t.shape[0]}")
    return b, t


def choice(value: object, allowed: Sequence[str], name: str) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise listing the allowed values."""
    if value not in allowed:
        raise HarnessError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return str(value)


def level(value: object, name: str = "confidence_level") -> float:
    """Return a probability strictly between 0 and 1."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise HarnessError(f"{name} must be a number in (0, 1), got {value!r}") from None
    if not 0.0 < v < 1.0:
        raise HarnessError(f"{name} must be in (0, 1), e.g. 0.95; got {value!r}")
    return v


def positive_int(value: object, name: str) -> int:
    """Return a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise HarnessError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def generator(rng: object) -> np.random.Generator:
    """Require an explicit :class:`numpy.random.Generator` (no global state)."""
    if not isinstance(rng, np.random.Generator):
        raise HarnessError(f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)), "
                           f"got {type(rng).__name__}")
    return rng


def pvalues(x: object) -> np.ndarray:
    """A 1-D float array of p-values (NaN allowed for undefined tests)."""
    try:
        p = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise HarnessError("pvalues must be numeric") from None
    if p.ndim != 1:
        raise HarnessError(f"pvalues must be 1-D with shape (m,), got shape {p.shape}")
    return p
