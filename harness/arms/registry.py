"""Resolve an arm kind to its ``fit`` function: one registry for built-in and user arms.

An arm kind is one of

- a registered name: the built-in arms (:data:`BUILTIN`) and every entry point of the
  ``harness.arms`` group (a user package declares ``[project.entry-points."harness.arms"]
  mine = "mypkg.recs:fit"`` in its pyproject and ``Arm("m", "mine")`` works once it is installed);
- ``"module:function"``, an importable module, e.g. ``"mypkg.recs:fit"``;
- ``"path/to/file.py:function"``; a relative path is relative to the hypothesis file (the
  hypothesis loader makes it absolute, see :func:`absolute_kind`).

Every kind resolves to a ``"module:function"`` / ``"file.py:function"`` reference and is loaded by
the same :func:`load` (built-in names are references into ``harness.arms``, exactly what the
package declares in its own ``harness.arms`` entry points). The contract is the built-in one:
``fit(train, seed, **params) -> Scorer``. Optional module attributes: ``PARAMS`` (accepted
parameter names; default: the named parameters of ``fit``), ``SUPPORTS_CURVES`` (or an ``on_epoch``
parameter: learning curves), ``preflight()`` (fail early, e.g. a missing optional dependency),
``validate(params)`` (range checks at load time), ``PATH_PARAMS`` (parameters holding file paths,
relative to the hypothesis file), ``fingerprint(params, seed)`` (extra cache-key text, e.g. the hash
of a run file).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import typing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from harness.errors import HarnessError, suggest

#: Entry-point group user packages register their arms in.
GROUP = "harness.arms"
#: The built-in arms, as ``name -> "module:function"`` (the package's own ``harness.arms`` entry points).
BUILTIN = {k: f"harness.arms.{k}:fit" for k in
           ("lightfm", "popularity", "itemknn", "als", "bpr", "ease", "content", "rerank", "random", "runs",
            "profile", "gmm_profile", "two_tower")}


@dataclass(frozen=True)
class ArmSource:
    """A resolved arm kind.

    Attributes
    ----------
    kind : the kind as written in the hypothesis.
    ref : ``"module:function"`` or ``"/abs/file.py:function"`` it resolves to.
    origin : ``"built-in"``, ``"entry point (dist x.y)"``, ``"module"`` or ``"file"``.
    fit : the ``fit`` function.
    module : the module defining ``fit``.
    source_hash : sha256 (16 hex) of the module's source file (part of every task's cache key).
    """

    kind: str
    ref: str
    origin: str
    fit: Callable
    module: ModuleType
    source_hash: str

    @property
    def accepted(self) -> tuple[str, ...] | None:
        """Parameter names ``fit`` accepts; None when it takes any (``**params`` and no ``PARAMS``)."""
        names = getattr(self.module, "PARAMS", None)
        if names is not None and getattr(self.fit, "__module__", None) == self.module.__name__:
            return tuple(names)
        sig = inspect.signature(self.fit)
        named = tuple(n for n, p in sig.parameters.items() if n not in ("train", "seed", "on_epoch")
                      and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
        if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            return None
        return named

    @property
    def supports_curves(self) -> bool:
        """True when the arm reports a learning curve (``on_epoch`` callback)."""
        return bool(getattr(self.module, "SUPPORTS_CURVES", False)) or \
            "on_epoch" in inspect.signature(self.fit).parameters

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(getattr(self.module, "PATH_PARAMS", ()))

    @property
    def threads(self) -> str | None:
        """How the arm trains with ``--threads-per-task N`` > 1: ``"reproducible"`` (the same result for a seed at
        any thread count), ``"not reproducible"`` (e.g. Hogwild updates), or None when ``fit`` takes no
        ``num_threads`` (it trains on one thread). A module declares it as ``THREADS``; a ``fit`` with
        ``num_threads`` but no ``THREADS`` counts as not reproducible."""
        if "num_threads" not in inspect.signature(self.fit).parameters:
            return None
        mode = getattr(self.module, "THREADS", "not reproducible")
        return mode if mode in ("reproducible", "not reproducible") else "not reproducible"

    def fingerprint(self, params: dict, seed: int) -> str:
        """Text hashed into a task's cache key: the source hash plus the module's own ``fingerprint``."""
        extra = getattr(self.module, "fingerprint", None)
        return self.source_hash + ("" if extra is None else f"|{extra(params, seed)}")


def entry_points() -> dict[str, Any]:
    """Installed ``harness.arms`` entry points, name -> EntryPoint."""
    from importlib.metadata import entry_points as eps

    return {ep.name: ep for ep in eps(group=GROUP)}


def names() -> list[str]:
    """Every registered arm name: built-ins, then installed entry points (sorted)."""
    return list(BUILTIN) + sorted(n for n in entry_points() if n not in BUILTIN)


def is_reference(kind: str) -> bool:
    """True for ``module:function`` / ``file.py:function`` kinds (as opposed to registered names)."""
    return ":" in kind


def _split_ref(kind: str) -> tuple[str, str]:
    target, _, func = kind.rpartition(":")
    return target, func


def is_path_reference(kind: str) -> bool:
    target, _ = _split_ref(kind)
    return is_reference(kind) and (target.endswith(".py") or "/" in target or "\\" in target)


def absolute_kind(kind: str, base: Path) -> str:
    """A ``file.py:function`` kind with its relative path made absolute against ``base`` (a directory)."""
    if not is_path_reference(kind):
        return kind
    target, func = _split_ref(kind)
    p = Path(target).expanduser()
    if not p.is_absolute():
        p = (Path(base) / p).resolve()
    return f"{p}:{func}"


def _hash_file(path: str | None) -> str:
    if not path or not Path(path).is_file():
        return "no-source"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _import_file(path: Path) -> ModuleType:
    """Import ``path`` as a module (re-imported when the file changed, so edits are picked up)."""
    digest = _hash_file(str(path))
    name = f"harness_user_arm_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HarnessError(f"arm file {path}: cannot be imported; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # classes defined there must be picklable by module name
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        del sys.modules[name]
        raise
    except BaseException as e:  # SystemExit too: a stray sys.exit() in the file must not end the run silently
        del sys.modules[name]
        raise HarnessError(f"arm file {path}: importing it raised {type(e).__name__}: {e}; fix the file") from None
    return module


def load(ref: str, kind: str | None = None, origin: str = "module") -> ArmSource:
    """Load a ``"module:function"`` or ``"/abs/file.py:function"`` reference."""
    kind = kind or ref
    target, func = _split_ref(ref)
    if is_path_reference(ref):
        path = Path(target)
        if not path.is_file():
            raise HarnessError(f"arm {kind!r}: file not found: {path}; a relative path is relative to the "
                               "hypothesis file")
        module = _import_file(path)
        origin = "file"
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as e:
            if e.name is not None and target.startswith(e.name) or e.name == target:
                raise HarnessError(f"arm {kind!r}: cannot import module {target!r} ({e}); install the package "
                                   "or put it on PYTHONPATH, or give a file: './models/mine.py:fit'") from None
            raise HarnessError(f"arm {kind!r}: importing {target!r} failed: {e}") from None
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # SystemExit too (see _import_file)
            raise HarnessError(f"arm {kind!r}: importing {target!r} raised {type(e).__name__}: {e}") from None
    fit = getattr(module, func, None)
    if fit is None or not callable(fit):
        public = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                  and getattr(v, "__module__", None) == module.__name__]
        raise HarnessError(f"arm {kind!r}: " + suggest(func, public or ["fit"], f"function in {target}"))
    defining = inspect.getmodule(fit) or module
    return ArmSource(kind, ref, origin, fit, defining, _hash_file(getattr(defining, "__file__", None)))


@lru_cache(maxsize=None)
def _resolve_cached(kind: str, mtime: float) -> ArmSource:
    if is_reference(kind):
        return load(kind, kind)
    if kind in BUILTIN:
        return load(BUILTIN[kind], kind, "built-in")
    eps = entry_points()
    if kind in eps:
        ep = eps[kind]
        dist = getattr(ep, "dist", None)
        origin = f"entry point ({dist.name} {dist.version})" if dist is not None else "entry point"
        return load(ep.value, kind, origin)
    raise HarnessError(suggest(kind, names(), "arm kind") +
                       " (or 'module:function', 'file.py:function', or a package's harness.arms entry point)")


def resolve(kind: str) -> ArmSource:
    """The arm ``kind`` resolves to (see module docstring); raises a one-line error when it does not."""
    mtime = 0.0
    if is_path_reference(kind):
        p = Path(_split_ref(kind)[0])
        mtime = p.stat().st_mtime_ns if p.is_file() else -1.0
    return _resolve_cached(kind, mtime)


# --------------------------------------------------------------------------- parameter checks
def _expected_types(src: ArmSource) -> dict[str, Any]:
    """Parameter -> annotation (evaluated) or the default's type; parameters without either are absent."""
    try:
        hints = typing.get_type_hints(src.fit)
    except Exception:
        hints = {}
    out: dict[str, Any] = {}
    for n, p in inspect.signature(src.fit).parameters.items():
        if n in ("train", "seed", "on_epoch") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if n in hints:
            out[n] = hints[n]
        elif p.default is not inspect.Parameter.empty and p.default is not None:
            out[n] = type(p.default)
    return out


def _matches(value: Any, tp: Any) -> bool:
    if tp is Any or tp is object:
        return True
    origin = typing.get_origin(tp)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return any(_matches(value, t) for t in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is not None:
        tp = origin
    if not isinstance(tp, type):
        return True  # Callable[...], Literal, ...: not checked
    if tp in (tuple, list):
        return isinstance(value, (tuple, list))
    return isinstance(value, tp)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def check_params(kind: str, params: dict, arm_name: str, preflight: bool = False) -> ArmSource:
    """Resolve ``kind`` and check ``params`` (names, types, ranges) before any work starts.

    Raises a one-line :class:`HarnessError` naming the arm and the parameter. With ``preflight``,
    also runs the module's ``preflight()`` (e.g. an optional dependency check).
    """
    try:
        src = resolve(kind)
    except HarnessError as e:
        raise HarnessError(f"Arm {arm_name!r}: {e}") from None
    if preflight and hasattr(src.module, "preflight"):
        src.module.preflight()
    if "num_threads" in params:
        raise HarnessError(f"Arm {arm_name!r}: num_threads is set per run, not per arm: use --threads-per-task N "
                           "(harness.run(..., threads_per_task=N)); the default is 1")
    if "ann" in params:  # the ANN option of a factor arm (harness.evaluation.ann), not an arm parameter
        from harness.spec import ann

        ann.check_kind(kind, arm_name)
        method = ann.parse(params["ann"], arm_name).method
        if preflight:
            from harness.spec.ann import require

            require(method)
        params = {k: v for k, v in params.items() if k != "ann"}
    grid = params.get("grid") or {}
    if not isinstance(grid, dict):
        raise HarnessError(f"Arm {arm_name!r}: grid must be a dict of parameter -> list of values")
    space = _tune_space(params, arm_name)
    accepted = src.accepted
    plain = {k: v for k, v in params.items() if k not in ("grid", "tune")}
    if src.supports_curves:  # the runner's epoch plan: epochs="auto", max_epochs, patience, refit
        from harness.arms.scorer import EPOCH_PARAMS, check_epochs

        check_epochs(params, arm_name)
        if accepted is not None:
            accepted = tuple(accepted) + EPOCH_PARAMS
        plain = {k: v for k, v in plain.items() if k not in EPOCH_PARAMS and not (k == "epochs" and v == "auto")}
    if accepted is not None:
        for name in [k for k in params if k not in ("grid", "tune")] + list(grid) + list(space):
            if name not in accepted:
                raise HarnessError(f"Arm {arm_name!r} ({kind}): " + suggest(name, sorted(accepted), "parameter"))
    for name, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise HarnessError(f"Arm {arm_name!r}: grid[{name!r}] must be a non-empty list of values")
    types = _expected_types(src)
    points = [plain] + [{**plain, name: v} for name, values in grid.items() for v in values]
    if space:
        from harness.spec.tune import bounds_points

        points += [{**plain, **p} for p in bounds_points(space)]
    for point in points:
        for name, value in point.items():
            tp = types.get(name)
            if tp is not None and not _matches(value, tp):
                raise HarnessError(f"Arm {arm_name!r} ({kind}): parameter {name}={value!r} is a "
                                   f"{type(value).__name__}; it must be {_type_name(tp)}")
        validate = getattr(src.module, "validate", None)
        if validate is not None:
            try:
                validate(point)
            except HarnessError as e:
                raise HarnessError(f"Arm {arm_name!r}: {e}") from None
            except (TypeError, ValueError) as e:  # a value of the wrong type reached a range check
                raise HarnessError(f"Arm {arm_name!r} ({kind}): a parameter has a value of the wrong type "
                                   f"({type(e).__name__}: {e}); check {', '.join(sorted(point))}") from None
    return src


def _tune_space(params: dict, arm_name: str) -> dict:
    """The validated ``tune`` space of ``params`` ({} without ``tune``); optuna must be installed."""
    if "tune" not in params:
        return {}
    from harness.spec.tune import check, require_optuna

    space = check(params["tune"], arm_name)
    if "grid" in params:
        raise HarnessError(f"Arm {arm_name!r}: tune= and grid= cannot be combined; put the grid's values into "
                           "tune['space'] as lists (categorical)")
    if "refit" in space:
        raise HarnessError(f"Arm {arm_name!r}: tune['space'] has refit, which is not tuned; drop it from the "
                           "space and set refit='full' or 'none' on the arm (with epochs='auto')")
    epoch_plan = {"epochs", "max_epochs", "patience"} & set(space)
    if params.get("epochs") == "auto" and epoch_plan:
        raise HarnessError(f"Arm {arm_name!r}: tune['space'] has {', '.join(sorted(epoch_plan))}, which "
                           "epochs='auto' chooses; drop it from the space or set a fixed epochs")
    try:
        require_optuna()
    except HarnessError as e:
        raise HarnessError(f"Arm {arm_name!r}: {e}") from None
    return space


def get_fit(kind: str) -> Callable:
    """The ``fit`` function of arm ``kind``."""
    return resolve(kind).fit
