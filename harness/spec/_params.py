"""Parameter values of :class:`~harness.spec.arm.Arm` and :class:`~harness.spec.segment.Segment`: frozen
(hashable) forms of dicts and lists, thawed back, and plain JSON-able data."""
from __future__ import annotations

from typing import Any, Mapping


class _FrozenList(tuple):
    """A list inside a dict parameter (a ``grid`` or ``tune`` spec), frozen: comes back as a list."""


class _FrozenDict(tuple):
    """A dict parameter (``grid``, ``tune``) frozen as sorted-by-declaration ``(key, value)`` pairs."""


def _deep_freeze(v: Any) -> Any:
    """Hashable form of a nested dict value: dicts keep declaration order, lists stay distinct from
    tuples (in a ``tune`` space a list is categorical, a tuple a range)."""
    if isinstance(v, dict):
        return _FrozenDict((k, _deep_freeze(x)) for k, x in v.items())
    if isinstance(v, list):
        return _FrozenList(_deep_freeze(x) for x in v)
    if isinstance(v, tuple):
        return tuple(_deep_freeze(x) for x in v)
    return v


def _thaw(v: Any) -> Any:
    if isinstance(v, _FrozenDict):
        return {k: _thaw(x) for k, x in v}
    if isinstance(v, _FrozenList):
        return [_thaw(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_thaw(x) for x in v)
    return v


def _freeze(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    out = []
    for k, v in sorted(params.items()):
        if isinstance(v, list):
            v = tuple(v)
        elif isinstance(v, dict):  # a tuning grid / tune spec: keep declaration order
            if k == "grid":  # grid values are lists of candidates, whatever they were written as
                v = {gk: list(gv) if isinstance(gv, tuple) else gv for gk, gv in v.items()}
            v = _deep_freeze(v)
        out.append((k, v))
    return tuple(out)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    return v
