"""The flags: argument types and the flag groups several sub-commands share (parser side only)."""
from __future__ import annotations

import argparse
import math
from pathlib import Path


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _finite_float(text: str) -> float:
    """A finite number (``nan`` and ``inf`` parse as floats but mean nothing as a margin or level)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def _seeds_arg(text: str) -> int | str:
    from harness.spec.seeds import MAX_SEEDS

    if text.strip().lower() == "auto":
        return "auto"
    n = _positive_int(text)
    if n > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"{n} seeds is more than a run may train (at most {MAX_SEEDS}); e.g. 5")
    return n


def _mapping(text: str) -> tuple[str, str]:
    key, sep, col = text.partition("=")
    if not sep or not key or not col:
        raise argparse.ArgumentTypeError(f"expected KEY=COL, e.g. user=uid, got {text!r}")
    return key.strip(), col.strip()


def _split_choice(text: str) -> str:
    kind, _, seed = text.partition(":")
    if kind == "rolling":
        if not seed.isdigit() or int(seed) < 1:
            raise argparse.ArgumentTypeError(f"expected rolling:FOLDS with FOLDS >= 1, e.g. rolling:4, got {text!r}")
        return text
    if kind not in ("random", "order") or (seed and (kind != "random" or not seed.isdigit())):
        raise argparse.ArgumentTypeError(f"expected random, random:SEED, order or rolling:FOLDS, got {text!r}")
    return text


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(","))
    if len(names) < 2 or not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, e.g. user,item,rating, got {text!r}")
    return names


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hypotheses", type=Path, default=None, help="directory of hypothesis files (default ./hypotheses)")
    p.add_argument("--results-dir", type=Path, default=Path("results"), help="where run folders go (default results/)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="tracebacks for user errors too")


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=None, help="override the hypothesis' dataset: synthetic-vk, ml-100k, "
                   "vk-lsvd:<subsample>, ml-1m, ml-latest, kion, tabular:<file>")
    p.add_argument("--data-dir", type=Path, default=None, help="directory holding the dataset's files (default for "
                   "ml-100k, ml-1m, ml-latest(-small), kion, vk-lsvd:<s>: the data cache, fetched on first use)")
    _fetch_args(p)
    p.add_argument("--column", action="append", default=[], type=_mapping, metavar="KEY=COL",
                   help="tabular data: map user/item/time to your column names, e.g. --column user=uid")
    p.add_argument("--positives", action="append", default=[], metavar="EXPR",
                   help="override the hypothesis' positive definitions (repeatable), e.g. --positives 'rating>=4'")
    p.add_argument("--sep", default=None, help="tabular text files: field separator, e.g. ';', tab or whitespace "
                   "(default: tab for .tsv, else comma)")
    p.add_argument("--no-header", action="store_true", help="tabular text files: the file has no header row "
                   "(name its columns with --names)")
    p.add_argument("--names", type=_names, default=None, metavar="A,B,...",
                   help="tabular text files: the column names in file order, e.g. --names user,item,rating")
    p.add_argument("--item-features", type=Path, default=None, metavar="FILE",
                   help="tabular data: item content from a file with the item column and numeric or "
                   "'|'-separated columns (e.g. MovieLens movies.csv)")
    p.add_argument("--split", type=_split_choice, default=None, metavar="{random,random:SEED,order,rolling:FOLDS}",
                   help="data without times: random = per-user seeded holdout (seed 0 unless random:SEED), "
                   "order = per-user leave-last by file order (tabular data); timestamped data: rolling:FOLDS = "
                   "FOLDS rolling-origin folds, each testing on the next 5 %% of interactions by time at the end "
                   "of the timeline and training on every row before it")
    p.add_argument("--cache-dir", type=Path, default=Path(".cache/harness"), help="task cache and generated data")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the task cache")
    p.add_argument("--n-jobs", type=_positive_int, default=2, help="parallel (arm, seed) tasks (default 2)")
    p.add_argument("--threads-per-task", type=_positive_int, default=1, metavar="N",
                   help="threads each fit trains with, for arms whose library takes num_threads (lightfm, als, bpr; "
                   "default 1). LightFM and BPR are then not byte-reproducible for a seed: the run says so")
    p.add_argument("--seeds", type=_seeds_arg, default=None, help="override: use seeds 0..N-1, or 'auto': seeds in "
                   "rounds (3, 5, ..., 15) until the verdict is decided, with group-sequential levels")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--backend", default="loky", help="where tasks run: loky (local processes, default) or dask")
    p.add_argument("--scheduler", default=None, help="with --backend dask: address of an existing scheduler, "
                   "e.g. tcp://10.0.0.5:8786 (default: start a LocalCluster)")


def _fetch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--offline", action="store_true", default=None,
                   help="never download public datasets (also HARNESS_OFFLINE=1)")
    p.add_argument("--mirror", default=None, metavar="URL", help="base URL serving the dataset archives by file "
                   "name, instead of their home hosts (also HARNESS_DATA_MIRROR)")
    p.add_argument("--registry", type=Path, default=None, metavar="FILE", help="JSON overriding dataset "
                   "sources (URL, size, SHA-256), e.g. for an internal mirror (also HARNESS_DATA_REGISTRY)")
