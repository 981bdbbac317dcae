"""Checks of the numeric fields of a spec: a real number (not a bool, not NaN or inf) or an integer, in
its range, so that a value no run could use is refused when the hypothesis loads, not after training.
Each raises a one-line :class:`~harness.errors.HarnessError` naming the field."""
from __future__ import annotations

import math
import numbers

from harness.errors import HarnessError

#: Seeds are integers ``0 <= seed < 2**32``: the tightest consumer is ``numpy.random.RandomState``, which
#: LightFM and scikit-learn (the ``gmm_profile`` arm) build from the task seed and which refuses larger
#: values; ``numpy.random.default_rng``, ``torch.manual_seed``, implicit and hnswlib take more.
SEED_LIMIT = 2**32
SEED_RULE = "seeds are integers 0 <= seed < 2**32 (numpy's RandomState, used by LightFM and scikit-learn)"


def real(value: object, field: str, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False, example: str = "") -> float:
    """``value`` as a finite float within ``[low, high]`` (``low_open``/``high_open``: strict bounds)."""
    try:
        v = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an int past float's range
        v = math.nan
    ok = math.isfinite(v)
    if ok:
        ok = (low is None or (v > low if low_open else v >= low)) and \
            (high is None or (v < high if high_open else v <= high))
    if not ok:
        raise HarnessError(f"{field}={value!r} must be a finite number{_interval(low, high, low_open, high_open)}"
                           + (f", e.g. {example}" if example else ""))
    return v


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """`` in (0, 0.5)``, `` >= 0``, ...: the range for an error message."""
    low, high = (None if x is None else f"{x:g}" if isinstance(x, float) else str(x) for x in (low, high))
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    return "" if high is None else f" {'<' if high_open else '<='} {high}"


def integer(value: object, field: str, *, low: int | None = None, high: int | None = None,
            example: str = "") -> int:
    """``value`` as an int within ``[low, high]`` (an integral float such as 5.0 is accepted)."""
    v = None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        v = int(value)
    elif isinstance(value, float) and value.is_integer():
        v = int(value)
    if v is None or (low is not None and v < low) or (high is not None and v > high):
        raise HarnessError(f"{field}={value!r} must be an integer{_interval(low, high, False, False)}"
                           + (f", e.g. {example}" if example else ""))
    return v


def seed(value: object, field: str) -> int:
    """A seed (see :data:`SEED_LIMIT`)."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= int(value) < SEED_LIMIT
    if not ok:
        raise HarnessError(f"{field}={value!r} is not a valid seed; {SEED_RULE}")
    return int(value)
