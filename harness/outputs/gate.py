"""CI regression gate: is a new run non-inferior to a stored baseline run?

The gate pairs the two runs' per-user values (same variant, seed and user) for one arm and metric,
and passes when, in every variant, the lower bound of the seed x user ``1 - alpha`` interval of
(new - baseline) is above ``-margin`` (runs with rolling-origin folds: :func:`harness.stats.fold_interval` of
the per-fold seed x user deltas, same fold) (asv's rule: a regression must be statistically different
AND larger than the tolerated amount). Exit codes: 0 pass, 1 regression, 2 bad input.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from harness import stats as S
from harness.errors import HarnessError
from harness.spec import parse_metric
from harness.outputs.run_files import read_per_user, read_summary

GATE_SEED = 7


@dataclass(frozen=True)
class GateCell:
    """One variant's comparison: the interval of (new - baseline) and whether it passes."""

    variant: str
    n_users: int
    n_seeds: int
    interval: S.IntervalResult
    passed: bool


@dataclass(frozen=True)
class GateResult:
    passed: bool
    message: str
    cells: tuple[GateCell, ...]


def load_run(path: Path) -> tuple[dict, pd.DataFrame]:
    """summary.json and per_user.parquet of a run (``path``: the folder or its summary.json)."""
    path = Path(path)
    folder = path.parent if path.suffix == ".json" else path
    sj, pq = folder / "summary.json", folder / "per_user.parquet"
    for f in (sj, pq):
        if not f.is_file():
            raise HarnessError(f"{f}: not found; --baseline must be a run folder (or its summary.json) with "
                               "per_user.parquet beside it")
    return read_summary(sj), read_per_user(pq)  # the fields compare_runs reads are required by the schema


def finish(res: GateResult, write: Callable[[str], object] = print) -> int:
    """Write the gate's line and return its exit code: 0 only once a PASS line has been written, 1 for FAIL.

    The CLI returns this as its last act, so a gate can exit 0 in no other way."""
    write(res.message)
    return 0 if res.passed and res.message.startswith("PASS:") else 1


def compare_runs(base_doc: dict, base: pd.DataFrame, new_doc: dict, new: pd.DataFrame, *, metric: str,
                 margin: float, arm: str | None = None, segment: str | None = None, alpha: float = 0.05) -> GateResult:
    """Gate ``new`` against ``base`` for ``arm`` (default: the hypothesis' treatment) on ``metric``."""
    parse_metric(metric, where="--metric")
    if not math.isfinite(margin):
        raise HarnessError(f"--margin {margin} is not a finite number; give the tolerated drop, e.g. 0.002")
    if margin < 0:
        raise HarnessError(f"--margin {margin} is negative; give the tolerated drop as a positive number, e.g. 0.002")
    bfp, nfp = base_doc["provenance"].get("data_fingerprint"), new_doc["provenance"].get("data_fingerprint")
    if bfp != nfp:
        raise HarnessError(f"the baseline run used other data (fingerprint {bfp}) than this run ({nfp}); "
                           "gate runs on the same dataset and split")
    arm = arm or new_doc["hypothesis"]["treatment"]
    segment = segment or new_doc["hypothesis"]["target"]
    for name, df in (("baseline", base), ("new", new)):
        if metric not in df.columns:
            raise HarnessError(f"{name} run has no metric {metric!r} (has: "
                               f"{', '.join(c for c in df.columns if '@' in c)}); pick one with --metric")
        if arm not in set(df["arm"]):
            raise HarnessError(f"{name} run has no arm {arm!r} (has: {', '.join(sorted(set(df['arm'])))}); use --arm")
        if f"seg_{segment}" not in df.columns:
            raise HarnessError(f"{name} run has no segment {segment!r}; use --segment")
    if ("fold" in base.columns) != ("fold" in new.columns):
        raise HarnessError("one run has rolling-origin folds (Split.rolling) and the other not; gate a run against "
                           "a baseline of the same hypothesis and split")
    cells = []
    rng = np.random.default_rng(GATE_SEED)
    for variant in sorted(set(new["variant"]) & set(base["variant"])):
        folds = sorted(set(base["fold"]) & set(new["fold"])) if "fold" in new.columns else [None]
        deltas, ids, n_users, n_seeds = [], [], 0, 0
        for fold in folds:
            mats = []
            for df in (base, new):
                d = df[(df["variant"] == variant) & (df["arm"] == arm) & df[f"seg_{segment}"]]
                if fold is not None:
                    d = d[d["fold"] == fold]
                mats.append(d.pivot(index="seed", columns="user_index", values=metric))
            b, n = mats
            seeds = b.index.intersection(n.index)
            users = b.columns.intersection(n.columns)
            if len(seeds) == 0 or len(users) == 0:
                if fold is not None:
                    continue  # a fold whose segment has no shared users is left out
                raise HarnessError(f"variant {variant!r}: the runs share no seeds/users; run the same hypothesis")
            deltas.append(n.loc[seeds, users].to_numpy() - b.loc[seeds, users].to_numpy())
            ids.append(users.to_numpy())
            n_users, n_seeds = n_users + len(users), len(seeds)
        if not deltas:
            raise HarnessError(f"variant {variant!r}: the runs share no seeds/users; run the same hypothesis")
        if folds == [None]:
            iv = S.seed_user_interval(deltas[0], confidence_level=1 - alpha, rng=rng)
        else:  # rolling-origin folds: the interval over the folds' test windows, as the verdict's
            iv = S.fold_interval(deltas, confidence_level=1 - alpha, users=ids)
        cells.append(GateCell(variant, n_users, n_seeds, iv, bool(iv.ci.low > -margin)))
    if not cells:
        raise HarnessError("the runs share no positive-definition variant; run the same hypothesis")
    passed = all(c.passed for c in cells)
    worst = min(cells, key=lambda c: c.interval.ci.low)
    msg = (f"{'PASS' if passed else 'FAIL'}: {arm} {metric} in {segment!r}, new - baseline = "
           f"{worst.interval.estimate:+.4f} [{worst.interval.ci.low:+.4f}, {worst.interval.ci.high:+.4f}] "
           f"({worst.variant}); {'lower bound above' if passed else 'lower bound not above'} -{margin:g}")
    return GateResult(passed, msg, tuple(cells))
