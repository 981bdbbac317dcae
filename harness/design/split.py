"""Train/test splits with leakage checks that run on every split."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.data.base import Interactions
from harness.errors import HarnessError
from harness.spec import ROLLING_KINDS, Split


@dataclass(frozen=True)
class SplitResult:
    """Row masks over ``Interactions.events``.

    Attributes
    ----------
    train, test : bool arrays (n_events,); disjoint.
    description : one line for the report.
    counts : rows per side and users dropped by the split's own filters.
    warning : what the leakage audit cannot rule out for this kind of split (:func:`leakage_warning`),
        or None.
    """

    train: np.ndarray
    test: np.ndarray
    description: str
    counts: dict = field(default_factory=dict)
    warning: str | None = None


def split(inter: Interactions, spec: Split, fold: int | None = None) -> SplitResult:
    """Split ``inter`` by ``spec`` and check for leakage (raises HarnessError on failure); a ``rolling``
    split needs ``fold`` (0-based): its test window, trained on every row before it (later rows are unused)."""
    rolling = spec.kind in ROLLING_KINDS
    if rolling != (fold is not None) or (fold is not None and not 0 <= fold < spec.folds):
        raise ValueError(f"fold {fold!r} does not fit split kind {spec.kind!r} with {spec.folds} folds")
    ev = inter.events
    time = ev["time"].to_numpy()
    window = fold_windows(inter, spec)[fold] if rolling else None
    if rolling:
        start, end = window
        test = (time >= start) & (time < end)
        train = time < start
        counts = {"rows_after_test_window": int((time >= end).sum())}
    elif spec.kind == "global_time":
        test = time >= spec.test_from
        train = ~test
        counts: dict = {}
    elif spec.kind == "cold_items":
        train, test, counts = _cold_items(inter, spec, time)
    else:
        user = ev["user"].to_numpy()
        if spec.kind == "random":  # per user, a seeded random order; its last n are test
            key = np.random.default_rng(spec.seed).random(len(ev))
            order = np.lexsort((key, user))
        else:  # by user, then time (the row number for "order"), then file order
            order = np.lexsort((np.arange(len(ev)), time, user))
        u_sorted = user[order]
        n_per_user = np.bincount(user, minlength=inter.n_users)
        starts = np.concatenate([[0], np.cumsum(n_per_user)[:-1]])
        pos_in_user = np.arange(len(ev)) - starts[u_sorted]
        from_end = n_per_user[u_sorted] - pos_in_user  # 1 = last interaction
        keep_user = n_per_user[u_sorted] >= spec.n + spec.min_train
        test = np.zeros(len(ev), dtype=bool)
        test[order] = (from_end <= spec.n) & keep_user
        train = np.ones(len(ev), dtype=bool)
        train[order] = ~((from_end <= spec.n) & keep_user)
        short = int(((n_per_user > 0) & (n_per_user < spec.n + spec.min_train)).sum())
        counts = {"users_too_short_for_test": short}
    counts.update({"train_rows": int(train.sum()), "test_rows": int(test.sum())})
    desc = spec.describe() if fold is None else spec.describe_fold(fold, window)
    if counts["train_rows"] == 0:
        raise HarnessError(f"{inter.name}: the split '{desc}' leaves no training rows; "
                           "choose an earlier test_from or a smaller n")
    if counts["test_rows"] == 0:
        raise HarnessError(f"{inter.name}: the split '{desc}' leaves no test rows; "
                           "check the time range of the data or the split")
    check_leakage(inter, train, test, spec)
    return SplitResult(train, test, desc, counts, leakage_warning(spec))


def fold_windows(inter: Interactions, spec: Split) -> list[tuple[float, float]]:
    """Each fold's test window ``(start, end)`` (test rows: start <= time < end) of a rolling split.

    ``rolling``: :meth:`Split.fold_window`. ``rolling_rows``: with the ``n`` times sorted and ``m = window * n``,
    fold f (0-based, of F) starts at the sorted time at position ``n - round((F - f) * m)`` and ends where the
    next fold starts (the last fold: no end), so each window holds about ``m`` rows (ties at a boundary go
    to the later window)."""
    if spec.kind == "rolling":
        return [spec.fold_window(f) for f in range(spec.folds)]
    if spec.kind != "rolling_rows":
        raise ValueError(f"split kind {spec.kind!r} has no folds")
    times = np.sort(inter.events["time"].to_numpy().astype(np.float64))
    n = len(times)
    starts = [float(times[min(n - 1, max(0, n - int(round((spec.folds - f) * spec.window * n))))])
              for f in range(spec.folds)]
    return list(zip(starts, starts[1:] + [float("inf")]))


def fold_seed(seed: int, fold: int | None) -> int:
    """The seed a model is trained with in one rolling-origin fold: ``seed`` itself for fold 0 (and for any
    other split, ``fold=None``), else a 31-bit value spawned from ``(seed, fold)`` by numpy's ``SeedSequence``.

    The fold interval (:func:`harness.stats.fold_interval`) treats each fold's seed effects as independent
    draws. Training seed s with the same random stream in every fold breaks that: the folds share most of
    their training data, so seed s lands on nearly the same model each time and its seed effect repeats in
    every fold, which the fold-to-fold dispersion cannot see (measured on H1r with one stream per seed:
    seed 1's delta was below the fold mean in all 4 folds, and the combined interval came out narrower than
    the seed variance allows). One stream per (seed, fold) makes the seed effects independent across folds.
    Results are still labelled by ``seed``; pairing of arms is within (fold, seed), both arms trained with
    the same value."""
    if not fold:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(fold)]).generate_state(1, dtype=np.uint32)[0] >> 1)


def leakage_warning(spec: Split) -> str | None:
    """One line when :func:`check_leakage` cannot check the split's time order (None otherwise): a
    ``random`` holdout has none (a user's test interactions may precede their training ones), an
    ``order`` split only file order (the future leaks unless the file is sorted by time)."""
    if spec.kind == "random":
        return ("leakage-prone split: per-user random holdout, so a user's test interactions may come before "
                "their training ones and the models learn from that user's future (the leakage audit in the "
                "report measures how much); use Split.global_time(test_from=...) when the data has a time column")
    if spec.kind == "order":
        return ("leakage-prone split: per-user last interactions in file order (no time column), which hold out "
                "each user's latest interactions only if the file is sorted by time (the audit cannot check it); "
                "map a time column (--column time=...) for a split by time")
    return None


def check_leakage(inter: Interactions, train: np.ndarray, test: np.ndarray, spec: Split) -> None:
    """Fail loudly if a row is on both sides, or (temporal splits) test precedes train."""
    if np.any(train & test):
        raise HarnessError(f"{inter.name}: leakage: {int((train & test).sum())} rows are in both train and test")
    ev = inter.events
    time = ev["time"].to_numpy()
    if spec.kind in ("global_time", "cold_items") + ROLLING_KINDS:
        if spec.kind == "cold_items":
            cold = np.zeros(inter.n_items, dtype=bool)
            cold[ev["item"].to_numpy()[test]] = True
            cold[ev["item"].to_numpy()[train]] = False
            sampled = cold_sample(inter, spec, time)
            if not cold[sampled].all():
                raise HarnessError(f"{inter.name}: leakage: an item held out as cold has training rows")
        if train.any() and test.any() and time[train].max() >= time[test].min():
            raise HarnessError(f"{inter.name}: leakage: a training row is not before the test window")
        return
    if spec.kind == "random":  # no time order to respect
        return
    user = ev["user"].to_numpy()
    last_train = np.full(inter.n_users, -np.inf)
    np.maximum.at(last_train, user[train], time[train].astype(np.float64))
    first_test = np.full(inter.n_users, np.inf)
    np.minimum.at(first_test, user[test], time[test].astype(np.float64))
    bad = last_train > first_test
    if bad.any():
        raise HarnessError(f"{inter.name}: leakage: {int(bad.sum())} users have training rows after their "
                           "first test row")


def cold_sample(inter: Interactions, spec: Split, time: np.ndarray) -> np.ndarray:
    """Dense indices of the warm items a ``cold_items`` split makes cold: ``round(sample * n)`` of the
    ``n`` items with rows on both sides of ``test_from``, drawn by ``default_rng(seed)`` (sorted)."""
    item = inter.events["item"].to_numpy()
    test = time >= spec.test_from
    in_test = np.zeros(inter.n_items, dtype=bool)
    in_test[item[test]] = True
    in_train = np.zeros(inter.n_items, dtype=bool)
    in_train[item[~test]] = True
    warm = np.flatnonzero(in_test & in_train)
    n = int(round(spec.sample * len(warm)))
    return np.sort(np.random.default_rng(spec.seed).permutation(warm)[:n])


def _cold_items(inter: Interactions, spec: Split, time: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Train/test masks of a ``cold_items`` split and its counts (cold items natural and sampled)."""
    item = inter.events["item"].to_numpy()
    test = time >= spec.test_from
    sampled = cold_sample(inter, spec, time)
    dropped = np.zeros(inter.n_items, dtype=bool)
    dropped[sampled] = True
    train = ~test & ~dropped[item]
    in_train = np.zeros(inter.n_items, dtype=bool)
    in_train[item[~test]] = True
    in_test = np.zeros(inter.n_items, dtype=bool)
    in_test[item[test]] = True
    counts = {"cold_items_first_seen_in_test": int((in_test & ~in_train).sum()),
              "cold_items_sampled": int(len(sampled)),
              "train_rows_dropped_for_cold_items": int((~test & dropped[item]).sum())}
    return train, test, counts
