"""The recsys hypothesis harness: state a hypothesis, run every arm over seeds and segments,
get a verdict backed by paired per-user statistics.

Stages, bottom to top (each subpackage imports only from the ones below it; ``lint-imports``
checks the contract written in ``pyproject.toml``):

errors, version -> stats -> spec -> data -> design -> arms -> evaluation -> decision -> outputs ->
runner -> cli

``from harness import calibrate`` gives :mod:`harness.runner.calibrate` (imported on first use, so
that importing a low stage never pulls in the orchestration).
"""
from __future__ import annotations

import importlib

from harness.version import __version__

_LAZY = {"calibrate": "harness.runner.calibrate"}

__all__ = ["__version__", "calibrate"]


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(_LAZY[name])
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
