"""Command line: ``python -m harness {run,list,show,new,gate,calibrate,index,diff,check-arm,data}``.

User errors (:class:`HarnessError`) print one line and exit 2; real bugs show a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.errors import HarnessError


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _seeds_arg(text: str) -> int | str:
    return "auto" if text.strip().lower() == "auto" else _positive_int(text)


def with_seeds(hyp, seeds: int | str | None):
    """``hyp`` with ``--seeds`` applied: N fixed seeds 0..N-1, or ``"auto"`` (an adaptive plan)."""
    from harness.spec import Seeds

    if seeds is None:
        return hyp
    if seeds == "auto":
        return hyp.replace(seeds=Seeds.adaptive(), adaptive=None)
    return hyp.replace(seeds=tuple(range(seeds)), adaptive=None)


def _mapping(text: str) -> tuple[str, str]:
    key, sep, col = text.partition("=")
    if not sep or not key or not col:
        raise argparse.ArgumentTypeError(f"expected KEY=COL, e.g. user=uid, got {text!r}")
    return key.strip(), col.strip()


def _split_choice(text: str) -> str:
    kind, _, seed = text.partition(":")
    if kind not in ("random", "order") or (seed and (kind != "random" or not seed.isdigit())):
        raise argparse.ArgumentTypeError(f"expected random, random:SEED or order, got {text!r}")
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
    p.add_argument("--split", type=_split_choice, default=None, metavar="{random,random:SEED,order}",
                   help="data without times: random = per-user seeded holdout (seed 0 unless random:SEED), "
                   "order = per-user leave-last by file order (tabular data)")
    p.add_argument("--cache-dir", type=Path, default=Path(".cache/harness"), help="task cache and generated data")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the task cache")
    p.add_argument("--n-jobs", type=_positive_int, default=2, help="parallel (arm, seed) tasks (default 2)")
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


def _data_command(sub) -> None:
    p = sub.add_parser("data", help="public datasets by name: fetch, list")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download, verify and cache datasets (ml-100k, ml-1m, ml-latest-small, "
                        "ml-latest, kion, vk-lsvd:<subsample>)")
    f.add_argument("names", nargs="+", metavar="NAME", help="dataset name(s), e.g. ml-100k")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    lst = dsub.add_parser("list", help="known datasets: cached ones with their size and folder")
    for q in (f, lst):
        q.add_argument("--cache-dir", type=Path, default=None, help="data cache root (default HARNESS_CACHE_DIR "
                       "or the per-user cache, e.g. ~/.cache/recsys-harness); datasets go to <root>/data/<name>")
        q.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="tracebacks for user errors")
    _fetch_args(f)
    lst.add_argument("--registry", type=Path, default=None, metavar="FILE", help="JSON overriding dataset sources")


def _fetch_options(args: argparse.Namespace) -> dict:
    """offline / mirror / registry from the flags, else HARNESS_OFFLINE / HARNESS_DATA_MIRROR / _REGISTRY."""
    import os

    from harness.data import sources

    offline = args.offline if args.offline is not None else \
        os.environ.get("HARNESS_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")
    registry = args.registry or (Path(os.environ["HARNESS_DATA_REGISTRY"]) if os.environ.get("HARNESS_DATA_REGISTRY")
                                 else None)
    return {"offline": offline, "mirror": args.mirror or os.environ.get("HARNESS_DATA_MIRROR") or None,
            "registry": sources.load_registry(registry)}


def _data_dir(args: argparse.Namespace, dataset: str) -> Path | None:
    """``--data-dir``, or the cached copy of a fetchable public dataset (fetched on first use)."""
    from harness.data import fetch

    return fetch.resolve(dataset, args.data_dir, quiet=args.quiet, **_fetch_options(args))


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    ap.add_argument("--debug", action="store_true", help="show tracebacks for user errors too")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a hypothesis and write its verdict report")
    p.add_argument("hypothesis", nargs="?", default=None, help="hypothesis id, e.g. H1 (or --all)")
    p.add_argument("--all", action="store_true", help="run every hypothesis in --hypotheses, one after another")
    p.add_argument("--reference", action="store_true", help="write reference runs on synthetic data (synthetic-vk, "
                   "or synthetic-kion when the hypothesis declares it) into "
                   "<results-dir>/reference (one per hypothesis, committed to the repository)")
    _common(p)
    _data_args(p)
    p.add_argument("--save-runs", nargs="?", const="parquet", default=None, choices=("parquet", "csv", "trec"),
                   help="also write every arm's evaluated top-k lists to <run>/runs/ (default format parquet; "
                   "trec for ranx / trec_eval)")
    p = sub.add_parser("list", help="list hypotheses with their claims (and any broken files)")
    _common(p)
    p = sub.add_parser("show", help="print the verdict table of a run")
    p.add_argument("run", nargs="?", default="latest", help="run id, run folder, or 'latest'")
    p.add_argument("hypothesis", nargs="?", default=None, help="with 'latest': the hypothesis id")
    _common(p)
    p = sub.add_parser("gate", help="CI gate: exit 0 if a run is non-inferior to a baseline run, 1 if not")
    p.add_argument("hypothesis", help="hypothesis id, e.g. H1")
    p.add_argument("--baseline", type=Path, required=True, help="baseline run folder or its summary.json")
    p.add_argument("--run", type=Path, default=None, help="compare this existing run instead of re-running")
    p.add_argument("--metric", default=None, help="metric to gate on (default: the hypothesis' primary)")
    p.add_argument("--margin", type=float, required=True, help="tolerated drop in metric units, e.g. 0.002")
    p.add_argument("--arm", default=None, help="arm to compare (default: the hypothesis' treatment)")
    p.add_argument("--segment", default=None, help="segment (default: the hypothesis' target)")
    _common(p)
    _data_args(p)
    p = sub.add_parser("calibrate", help="A/A false-positive rate of the deciding interval and of naive tests "
                       "on this data (--seeds N trains the baseline N times; default max(10, 4 x the "
                       "hypothesis' seeds))")
    p.add_argument("hypothesis", help="hypothesis id, e.g. H1")
    _common(p)
    _data_args(p)
    p = sub.add_parser("index", help="rebuild results/README.md: latest verdict per hypothesis, runs per hypothesis")
    _common(p)
    p = sub.add_parser("diff", help="compare two runs cell by cell: deltas, verdict changes, users who moved most")
    p.add_argument("run_a", help="older run: run id, run folder, or its summary.json")
    p.add_argument("run_b", help="newer run: run id, run folder, or its summary.json")
    p.add_argument("--metric", default=None, help="metric for the users who moved most (default: B's primary)")
    p.add_argument("--top", type=_positive_int, default=5, help="users who moved most to show per cell (default 5)")
    _common(p)
    p = sub.add_parser("new", help="scaffold a hypothesis file that runs as is")
    p.add_argument("id", help="new hypothesis id, e.g. H6")
    p.add_argument("--claim", required=True, help="the claim in one sentence")
    p.add_argument("--hypotheses", type=Path, default=None, help="directory to write into (default ./hypotheses)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p = sub.add_parser("check-arm", help="check an arm against the contract (shape, float32, determinism, ...)")
    p.add_argument("arm", help="arm kind: a name, module:function or path/file.py:function")
    p.add_argument("--param", action="append", default=[], type=_mapping, metavar="KEY=VALUE",
                   help="a parameter passed to fit (a Python literal, e.g. --param factors=8)")
    p.add_argument("--seed", type=int, default=3, help="seed used for the fits (default 3)")
    _data_command(sub)
    return ap


def _check_results_dir(args: argparse.Namespace) -> None:
    d = getattr(args, "results_dir", None)
    if d is not None and d.exists() and not d.is_dir():
        raise HarnessError(f"--results-dir {d} is a file, not a directory; give a directory (it is created if "
                           "missing)")


def _load_hypothesis(args: argparse.Namespace):
    from harness.runner import discover as registry
    from harness.spec import Split

    _check_results_dir(args)
    hyp = registry.get(args.hypothesis, args.hypotheses)
    if args.command == "run":
        hyp = with_seeds(hyp, getattr(args, "seeds", None))
    if getattr(args, "positives", None):
        hyp = hyp.replace(positives=tuple(args.positives))
    if getattr(args, "split", None):
        kind, _, seed = args.split.partition(":")
        n = hyp.split.n if hyp.split is not None and hyp.split.n else 5
        hyp = hyp.replace(split=Split.random(n, int(seed or 0)) if kind == "random" else Split.file_order(n))
    if getattr(args, "no_header", False) and not args.names:
        raise HarnessError("--no-header needs the column names: add --names, e.g. --names user,item,rating")
    if getattr(args, "names", None) and not args.no_header:
        raise HarnessError("--names names the columns of a file without a header row: add --no-header")
    return hyp


def _load_options(args: argparse.Namespace) -> dict:
    """Tabular-file options of the data flags (``load_dataset`` keywords)."""
    return {"sep": args.sep, "names": args.names, "split": (args.split or "").partition(":")[0] or None,
            "item_features": args.item_features}


def cmd_gate(args: argparse.Namespace) -> int:
    from harness.runner import experiment
    from harness.outputs import gate

    hyp = _load_hypothesis(args)
    base_doc, base = gate.load_run(args.baseline)
    if args.run is not None:
        new_doc, new = gate.load_run(args.run)
    else:
        hyp = with_seeds(hyp, args.seeds)
        dataset = args.dataset or base_doc["dataset"]
        out = experiment.run(hyp, dataset=dataset, data_dir=_data_dir(args, dataset),
                             results_dir=args.results_dir, cache_dir=None if args.no_cache else args.cache_dir,
                             n_jobs=args.n_jobs, quiet=args.quiet, columns=dict(args.column),
                             load_options=_load_options(args))
        new_doc, new = gate.load_run(out.run_dir)
    res = gate.compare_runs(base_doc, base, new_doc, new, metric=args.metric or hyp.primary, margin=args.margin,
                            arm=args.arm, segment=args.segment, alpha=hyp.alpha)
    print(res.message)
    _reindex(args)
    return 0 if res.passed else 1


def cmd_calibrate(args: argparse.Namespace) -> int:
    from harness.runner import calibrate, experiment
    from harness.data import load_dataset

    hyp = _load_hypothesis(args)
    dataset = args.dataset or hyp.dataset
    if args.seeds == "auto":
        raise HarnessError("calibrate --seeds takes a number of seeds (the budget), e.g. --seeds 40")
    n_seeds = args.seeds if args.seeds is not None else max(10, 4 * len(hyp.seeds))
    if n_seeds < 2:
        raise HarnessError("--seeds must be at least 2 for an A/A pair")
    inter = load_dataset(dataset, _data_dir(args, dataset), args.cache_dir, columns=dict(args.column), positives=hyp.positives,
                         **_load_options(args))
    p = experiment.prepare_hypothesis(hyp.replace(dataset=dataset), inter)
    cal = calibrate.calibrate(p, n_seeds, n_jobs=args.n_jobs, quiet=args.quiet, backend=args.backend,
                              scheduler=args.scheduler, cache_dir=None if args.no_cache else args.cache_dir / "tasks")
    print(calibrate.render(cal))
    _reindex(args)
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from harness.runner import discover as registry
    from harness.cli import scaffold

    directory = args.hypotheses or registry.default_dir()
    path = scaffold.write(directory, args.id, args.claim, force=args.force)
    print(f"wrote {path}; run it with: python -m harness run {args.id}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from harness.runner import experiment

    if args.all or args.reference:
        return _run_many(args)
    if args.hypothesis is None:
        raise HarnessError("run: name a hypothesis (e.g. python -m harness run H1) or pass --all")
    hyp = _load_hypothesis(args)
    out = experiment.run(hyp, dataset=args.dataset, data_dir=_data_dir(args, args.dataset or hyp.dataset),
                         results_dir=args.results_dir,
                         cache_dir=None if args.no_cache else args.cache_dir, n_jobs=args.n_jobs, quiet=args.quiet,
                         backend=args.backend, scheduler=args.scheduler, columns=dict(args.column),
                         save_runs=args.save_runs, load_options=_load_options(args))
    print(f"report: {out.run_dir / 'report.md'}")
    print(out.verdict.line(hyp.id))
    _reindex(args)
    return 0


def _run_many(args: argparse.Namespace) -> int:
    """``run --all`` and/or ``--reference``: each hypothesis in turn; one line per failure, exit 2 if any."""
    from harness.runner import experiment, discover as registry
    from harness.outputs import reference_runs as ref

    if args.all and args.hypothesis is not None:
        raise HarnessError(f"run: pass either a hypothesis id ({args.hypothesis}) or --all, not both")
    if args.all:
        entries = registry.load_all(args.hypotheses)
        if not entries:
            raise HarnessError(f"run --all: no hypothesis files in {args.hypotheses or registry.default_dir()}")
    elif args.hypothesis is None:
        raise HarnessError("run --reference: name a hypothesis (e.g. H1) or pass --all")
    else:
        entries = [registry.Entry(Path(args.hypothesis), _load_hypothesis(args), None)]
    if args.reference:
        ref.check_dataset(args.dataset)  # a bad --dataset fails before any run
    results_dir = args.results_dir / ref.REFERENCE_DIR if args.reference else args.results_dir
    failed = 0
    for e in entries:
        if e.hypothesis is None:
            failed += 1
            print(f"error: {e.error}", file=sys.stderr)
            continue
        hyp = with_seeds(e.hypothesis, args.seeds)
        dataset = ref.check_dataset(args.dataset, hyp.dataset) if args.reference else args.dataset
        try:
            out = experiment.run(hyp, dataset=dataset, data_dir=_data_dir(args, dataset or hyp.dataset), results_dir=results_dir,
                                 cache_dir=None if args.no_cache else args.cache_dir, n_jobs=args.n_jobs,
                                 quiet=args.quiet, backend=args.backend, scheduler=args.scheduler,
                                 columns=dict(args.column), save_runs=args.save_runs,
                                 load_options=_load_options(args))
        except HarnessError as err:
            failed += 1
            print(f"error: {hyp.id}: {err}", file=sys.stderr)
            continue
        print(f"report: {out.run_dir / 'report.md'}")
        print(out.verdict.line(hyp.id))
        for line in ref.finish(out.run_dir) if args.reference else ():
            print(f"  {line}")
    _reindex(args)
    return 2 if failed else 0


def _reindex(args: argparse.Namespace) -> None:
    """Rebuild the results index after a command that writes runs; a problem is one warning line."""
    from harness.outputs import reference_runs
    from harness.runner import discover

    if not Path(args.results_dir).is_dir():
        return
    try:
        reference_runs.reindex(args.results_dir, lambda: discover.registered_ids(args.hypotheses))
    except (HarnessError, OSError) as e:
        print(f"warning: results index not rebuilt: {e}", file=sys.stderr)


def cmd_index(args: argparse.Namespace) -> int:
    from harness.outputs import reference_runs
    from harness.runner import discover

    root = Path(args.results_dir)
    if not root.is_dir():
        print(f"no results folder {root}; run a hypothesis first (python -m harness run H1) or pass --results-dir")
        return 0
    indexes = reference_runs.reindex(root, lambda: discover.registered_ids(args.hypotheses))
    for where, idx in zip((root, root / reference_runs.REFERENCE_DIR), indexes):
        for line in idx.skipped:
            print(line)
        if idx.n_runs:
            print(f"wrote {where / 'README.md'}: {len(idx.runs)} hypotheses, {idx.n_runs} runs")
        else:
            print(f"no runs under {where}; run one with: python -m harness run H1 (wrote an empty {where / 'README.md'})")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from harness.outputs import diff

    folders = [diff.resolve(r, args.results_dir) for r in (args.run_a, args.run_b)]
    (doc_a, pu_a), (doc_b, pu_b) = (diff.load(f) for f in folders)
    print(diff.render(diff.compare(doc_a, pu_a, doc_b, pu_b, metric=args.metric, top=args.top)))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from harness.runner import discover as registry

    broken = 0
    for e in registry.load_all(args.hypotheses):
        if e.hypothesis is not None:
            h = e.hypothesis
            per = f" per {h.unit[:-1]} (items -> users)" if h.unit != "users" else ""
            print(f"{h.id:<6} {h.claim}  [{h.baseline.name} vs {h.treatment.name}; {h.primary}{per}; "
                  f"{'; '.join(f'{s}: {d.rule}({d.margin:g})' for s, d in h.decisions)}; dataset {h.dataset}]")
        else:
            broken += 1
            print(f"ERROR  {e.error}")
    return 2 if broken else 0


def cmd_show(args: argparse.Namespace) -> int:
    from harness.outputs import report, run_folder as results, summary

    target = Path(args.run)
    if args.run == "latest":
        target = results.latest(args.results_dir, args.hypothesis)
        if target is None:
            raise HarnessError(f"no runs under {args.results_dir}; run one with: python -m harness run H1")
    elif not target.is_dir():
        found = sorted(Path(args.results_dir).glob(f"*/{args.run}"))
        if not found:
            raise HarnessError(f"run {args.run!r} not found under {args.results_dir}; use a run id, a folder, "
                               "or 'latest'")
        target = found[0]
    path = target / "summary.json"
    if not path.is_file():
        raise HarnessError(f"{path}: not found; is {target} a run folder?")
    doc = summary.migrate(json.loads(path.read_text()))
    print(report.terminal(doc))
    return 0


def cmd_check_arm(args: argparse.Namespace) -> int:
    import ast

    from harness.arms.check import check_arm
    from harness.arms.registry import absolute_kind

    params = {}
    for key, text in args.param:
        try:
            params[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            params[key] = text  # a bare word is a string
    res = check_arm(absolute_kind(args.arm, Path.cwd()), params, seed=args.seed)
    print(res.line())
    return 0 if res.ok else 1


def cmd_data(args: argparse.Namespace) -> int:
    from harness.data import fetch

    if args.data_command == "list":
        from harness.data import sources

        for line in fetch.listing(args.cache_dir, sources.load_registry(args.registry)):
            print(line)
        return 0
    for name in args.names:
        got = fetch.fetch(name, args.cache_dir, quiet=args.quiet, **_fetch_options(args))
        state = "downloaded and verified" if got.downloaded else "already cached"
        print(f"{name}: {state} ({got.verified}): {got.path}")
    return 0


COMMANDS = {"run": cmd_run, "list": cmd_list, "show": cmd_show, "gate": cmd_gate, "calibrate": cmd_calibrate,
            "new": cmd_new, "index": cmd_index, "diff": cmd_diff, "check-arm": cmd_check_arm, "data": cmd_data}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except HarnessError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished tasks are cached; rerun the same command to resume", file=sys.stderr)
        return 130
