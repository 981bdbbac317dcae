"""The recsys hypothesis harness: state a hypothesis, run every arm over seeds and segments,
get a verdict backed by paired per-user statistics.

Stages, bottom to top (each subpackage imports only from the ones below it; ``lint-imports``
checks the contract written in ``pyproject.toml``):

errors, version -> stats -> spec -> data -> design -> arms -> evaluation -> decision -> outputs ->
runner -> cli

The Python API (imported on first use, so that importing a low stage never pulls in the orchestration)::

    from harness import run, load, Hypothesis, Arm, Segment, Decision
    r = run("H1", dataset="synthetic-vk", seeds=3)     # -> Result; the options are the `run` flags
    r.cells, r.per_user, r.arms, r.warnings, str(r.verdict)
    load(r.run_dir)                                     # a finished run read back

``from harness import calibrate`` gives :mod:`harness.runner.calibrate`.
"""
from __future__ import annotations

import importlib

from harness.version import __version__

_MODULES = {"calibrate": "harness.runner.calibrate"}
_NAMES = {"run": "harness.runner.api", "load": "harness.outputs.result", "Result": "harness.outputs.result",
          "RunOptions": "harness.runner.options", **{n: "harness.spec" for n in
                                                     ("Hypothesis", "Arm", "Segment", "Decision", "Split", "Seeds")}}

__all__ = ["__version__", "calibrate", *_NAMES]


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
