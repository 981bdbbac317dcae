"""An arm: one model configuration (:class:`Arm`)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.spec._params import _freeze, _jsonable, _thaw
from harness.spec.names import check_name

_ARM_REF = re.compile(r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Arm:
    """One model configuration: ``Arm("cf", "lightfm", loss="bpr", no_components=64)``.

    Attributes
    ----------
    name : label used in reports, per_user.parquet and ``--save-runs`` file names (the rule:
        :mod:`harness.spec.names`).
    kind : model family: a registered name (built-in ``als``, ``lightfm``, ... or a package's
        ``harness.arms`` entry point), ``"module:function"`` or ``"path/file.py:function"`` (relative to
        the hypothesis file); resolved when the hypothesis loads (:mod:`harness.arms.registry`).
    params : hyper-parameters, passed to ``harness.arms.<kind>.fit`` (sorted, hashable). The reserved
        ``grid={"param": [values, ...]}`` and ``tune={"space": {...}, ...}`` (optuna) ask for tuning on
        a validation window inside the training data (see :mod:`harness.runner.tuning.window`).
    """

    name: str
    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    def __init__(self, name: str, kind: str, **params: Any) -> None:
        check_name(name, "Arm.name", "Arm('cf', 'lightfm')")
        if not isinstance(kind, str) or not kind.strip() or (":" in kind and not _ARM_REF.match(kind)):
            raise HarnessError(f"Arm {name!r}: kind {kind!r} must be an arm name ('als'), 'module:function' "
                               "or 'file.py:function', e.g. './models/mine.py:fit'")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "params", _freeze(params))

    @property
    def kwargs(self) -> dict[str, Any]:
        """The parameters as a plain dict (a ``grid`` comes back as a dict of lists, a ``tune`` spec as
        written)."""
        return {k: _thaw(v) for k, v in self.params}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "params": {k: _jsonable(v) for k, v in self.kwargs.items()}}
