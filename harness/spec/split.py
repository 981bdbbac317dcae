"""How interactions are divided into train and test (:class:`Split`)."""
from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError, suggest
from harness.spec import _numbers as num

SPLIT_KINDS = ("global_time", "leave_last", "order", "random", "cold_items", "rolling", "rolling_rows")
#: Kinds with rolling-origin folds (one train/test split per fold).
ROLLING_KINDS = ("rolling", "rolling_rows")


@dataclass(frozen=True)
class Split:
    """How interactions are divided into train and test.

    ``global_time``: train = ``time < test_from``, test = ``time >= test_from`` (VK-LSVD weeks, KION days).
    ``leave_last``: per user, the last ``n`` interactions by time are test; users need ``min_train``
    training interactions.
    ``order``: the same by file order, for data without a time column (the loader's ``time`` is then
    the row number; ``--split order``).
    ``random``: per user, ``n`` interactions drawn with ``seed`` are test (no time order; ``--split random``).
    ``cold_items``: ``global_time`` where items first seen at ``time >= test_from`` are cold, plus a
    seeded share ``sample`` of the test window's other items whose training rows are removed
    (:meth:`cold_items`), so only content can score them.
    ``rolling``: rolling-origin folds (:meth:`rolling`): fold f (0-based) tests on the window
    ``[test_from + f * step, test_from + f * step + window)`` and trains on everything before it.
    ``rolling_rows``: rolling-origin folds of equal row counts at the end of the timeline (:meth:`rolling_rows`,
    ``--split rolling:4``): each test window holds the next ``window`` share of the interactions by time.
    """

    kind: str
    test_from: float | None = None
    n: int | None = None
    min_train: int = 1
    seed: int = 0
    sample: float = 0.0
    folds: int = 1
    step: float = 1.0
    window: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in SPLIT_KINDS:
            raise HarnessError("split: " + suggest(self.kind, SPLIT_KINDS, "split kind"))
        timed = self.kind in ("global_time", "cold_items", "rolling")
        if not timed and self.kind != "rolling_rows" and self.n is None:
            raise HarnessError(f"split: {self.kind} needs n > 0, got {self.n}")
        if self.n is not None:
            num.integer(self.n, "split: n", low=1, example="Split.leave_last(5)")
        if timed and self.test_from is None:
            raise HarnessError(f"split: {self.kind} needs test_from")
        if self.test_from is not None:
            num.real(self.test_from, "split: test_from", example="Split.global_time(25)")
        num.integer(self.min_train, "split: min_train", low=0)
        object.__setattr__(self, "seed", num.seed(self.seed, "split: seed"))
        try:
            sample = num.real(self.sample, "split: sample", low=0.0, high=1.0, high_open=True)
        except HarnessError:
            sample = None
        if sample is None or (sample and self.kind != "cold_items"):
            raise HarnessError(f"split: sample={self.sample!r} must be in [0, 1) and only goes with "
                               "Split.cold_items(test_from, sample=0.2)")
        object.__setattr__(self, "sample", sample)
        self._check_rolling()

    def _check_rolling(self) -> None:
        """``folds``, ``step`` and ``window`` are positive and only differ from their defaults for ``rolling``."""
        example = "Split.rolling(test_from=22, folds=4, step=1, window=1)"
        if self.kind == "rolling_rows":
            example = "Split.rolling_rows(folds=4, window=0.05)"
            num.integer(self.folds, "split: folds", low=1, example=example)
            share = num.real(self.window, "split: window", low=0.0, low_open=True, high=1.0 / self.folds,
                             high_open=True, example=example)
            object.__setattr__(self, "window", share)
            if self.step != 1.0 or self.test_from is not None:
                raise HarnessError(f"split: rolling_rows takes folds and window (a share of rows), not step or "
                                   f"test_from, e.g. {example}")
            return
        if self.kind != "rolling":
            if (self.folds, self.step, self.window) != (1, 1.0, 1.0):
                raise HarnessError(f"split: folds/step/window only go with {example}, not with kind {self.kind!r}")
            return
        num.integer(self.folds, "split: folds", low=1, example=example)
        for name in ("step", "window"):
            value = num.real(getattr(self, name), f"split: {name}", low=0.0, low_open=True, example=example)
            object.__setattr__(self, name, value)

    @classmethod
    def global_time(cls, test_from: float) -> "Split":
        return cls("global_time", test_from=test_from)

    @classmethod
    def leave_last(cls, n: int, min_train: int = 1) -> "Split":
        return cls("leave_last", n=n, min_train=min_train)

    @classmethod
    def file_order(cls, n: int, min_train: int = 1) -> "Split":
        """Per user, the last ``n`` interactions in file order are test (data without times)."""
        return cls("order", n=n, min_train=min_train)

    @classmethod
    def random(cls, n: int, seed: int = 0, min_train: int = 1) -> "Split":
        """Per user, ``n`` interactions drawn with ``seed`` are test."""
        return cls("random", n=n, min_train=min_train, seed=seed)

    @classmethod
    def cold_items(cls, test_from: float, sample: float = 0.0, seed: int = 0) -> "Split":
        """A global time split whose cold items are those first seen at ``time >= test_from`` plus a
        share ``sample`` (seeded) of the other items with test rows, whose training rows are dropped."""
        return cls("cold_items", test_from=test_from, sample=sample, seed=seed)

    @classmethod
    def rolling(cls, test_from: float, folds: int = 4, step: float = 1.0, window: float = 1.0) -> "Split":
        """Rolling-origin folds for time-based data: fold f tests on ``[test_from + f * step, test_from + f * step
        + window)`` and trains on every row before that window (e.g. weeks 22, 23, 24, 25 as four folds)."""
        return cls("rolling", test_from=test_from, folds=folds, step=step, window=window)

    @classmethod
    def rolling_rows(cls, folds: int = 4, window: float = 0.05) -> "Split":
        """Rolling-origin folds of equal row counts at the end of the timeline, for timestamped data
        (``--split rolling:4``): the last ``folds * window`` of the interactions by time are cut into ``folds``
        test windows of ``window`` each; each fold trains on every row before its window."""
        return cls("rolling_rows", folds=folds, window=window)

    def fold_window(self, fold: int) -> tuple[float, float]:
        """``(start, end)`` of fold ``fold``'s test window (``rolling`` only; ``rolling_rows`` windows depend on
        the data: :func:`harness.design.split.fold_windows`): test rows have start <= time < end."""
        if self.kind != "rolling":
            raise ValueError(f"split kind {self.kind!r} has no fixed fold windows")
        start = self.test_from + fold * self.step
        return start, start + self.window

    def fold_label(self, fold: int, window: tuple[float, float] | None = None) -> str:
        """A fold's short name, e.g. ``"test [22, 23)"`` (its test window ``window``, by default
        :meth:`fold_window`; end excluded)."""
        start, end = window or self.fold_window(fold)
        return f"test [{_time(start)}, {_time(end)})"

    def describe_fold(self, fold: int, window: tuple[float, float] | None = None) -> str:
        """One line for fold ``fold`` of a rolling split (its test window ``window``, by default :meth:`fold_window`)."""
        start, end = window or self.fold_window(fold)
        return f"rolling fold {fold + 1} of {self.folds}: train time < {_time(start)}, test {_time(start)} <= " \
               f"time < {_time(end)}"

    def describe(self) -> str:
        if self.kind == "rolling_rows":
            return f"rolling-origin split by row count: {self.folds} folds, each test window the next " \
                   f"{100 * self.window:g} % of the interactions by time (the last {100 * self.folds * self.window:g} " \
                   "%), each fold trained on every row before its window"
        if self.kind == "cold_items":
            extra = f"; {100 * self.sample:g} % of the test window's warm items (seed {self.seed}) made cold by " \
                    "dropping their training rows" if self.sample else ""
            return f"cold-item time split: train time < {self.test_from:g}, test time >= {self.test_from:g}; " \
                   f"items first seen in the test window are cold{extra}"
        if self.kind == "rolling":
            last = self.fold_window(self.folds - 1)
            return f"rolling-origin time split: {self.folds} folds, test windows of {self.window:g} from " \
                   f"{self.test_from:g} every {self.step:g} (last [{last[0]:g}, {last[1]:g})), each fold " \
                   "trained on every row before its window"
        if self.kind == "global_time":
            return f"global time split: train time < {self.test_from:g}, test time >= {self.test_from:g}"
        if self.kind == "order":
            return f"per-user leave-last-{self.n} by file order (no time column; min {self.min_train} training " \
                   "interactions)"
        if self.kind == "random":
            return f"per-user random holdout of {self.n} (seed {self.seed}; no time order; min {self.min_train} " \
                   "training interactions)"
        return f"per-user leave-last-{self.n} by time (min {self.min_train} training interactions)"


def _time(x: float) -> str:
    """A time bound as written: whole numbers in full (unix seconds too), others with ``:g``."""
    x = float(x)
    return f"{x:.0f}" if x.is_integer() else f"{x:g}"
