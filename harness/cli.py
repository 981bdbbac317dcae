"""Command line: ``python -m harness {run,list,show,new,gate,calibrate,data}``.

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


def _mapping(text: str) -> tuple[str, str]:
    key, sep, col = text.partition("=")
    if not sep or not key or not col:
        raise argparse.ArgumentTypeError(f"expected KEY=COL, e.g. user=uid, got {text!r}")
    return key.strip(), col.strip()


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
    p.add_argument("--cache-dir", type=Path, default=Path(".cache/harness"), help="task cache and generated data")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the task cache")
    p.add_argument("--n-jobs", type=_positive_int, default=2, help="parallel (arm, seed) tasks (default 2)")
    p.add_argument("--seeds", type=_positive_int, default=None, help="override: use seeds 0..N-1")
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
    p.add_argument("hypothesis", help="hypothesis id, e.g. H1")
    _common(p)
    _data_args(p)
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
    p = sub.add_parser("calibrate", help="A/A false-positive rate of each test on this data")
    p.add_argument("hypothesis", help="hypothesis id, e.g. H1")
    _common(p)
    _data_args(p)
    p.set_defaults(seeds=10)
    p = sub.add_parser("new", help="scaffold a hypothesis file that runs as is")
    p.add_argument("id", help="new hypothesis id, e.g. H6")
    p.add_argument("--claim", required=True, help="the claim in one sentence")
    p.add_argument("--hypotheses", type=Path, default=None, help="directory to write into (default ./hypotheses)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    _data_command(sub)
    return ap


def _load_hypothesis(args: argparse.Namespace):
    from harness import registry

    hyp = registry.get(args.hypothesis, args.hypotheses)
    if getattr(args, "seeds", None) is not None and args.command == "run":
        hyp = hyp.replace(seeds=tuple(range(args.seeds)))
    return hyp


def cmd_gate(args: argparse.Namespace) -> int:
    from harness import experiment, gate

    hyp = _load_hypothesis(args)
    base_doc, base = gate.load_run(args.baseline)
    if args.run is not None:
        new_doc, new = gate.load_run(args.run)
    else:
        if args.seeds is not None:
            hyp = hyp.replace(seeds=tuple(range(args.seeds)))
        dataset = args.dataset or base_doc["dataset"]
        out = experiment.run(hyp, dataset=dataset, data_dir=_data_dir(args, dataset),
                             results_dir=args.results_dir, cache_dir=None if args.no_cache else args.cache_dir,
                             n_jobs=args.n_jobs, quiet=args.quiet, columns=dict(args.column))
        new_doc, new = gate.load_run(out.run_dir)
    res = gate.compare_runs(base_doc, base, new_doc, new, metric=args.metric or hyp.primary, margin=args.margin,
                            arm=args.arm, segment=args.segment, alpha=hyp.alpha)
    print(res.message)
    return 0 if res.passed else 1


def cmd_calibrate(args: argparse.Namespace) -> int:
    from harness import calibrate, experiment
    from harness.data import load_dataset

    hyp = _load_hypothesis(args)
    dataset = args.dataset or hyp.dataset
    inter = load_dataset(dataset, _data_dir(args, dataset), args.cache_dir, columns=dict(args.column),
                         positives=hyp.positives)
    if args.seeds < 2:
        raise HarnessError("--seeds must be at least 2 for A/A pairs (default 10)")
    p = experiment.prepare_hypothesis(hyp.replace(dataset=dataset), inter)
    rows = calibrate.calibrate(p, args.seeds, n_jobs=args.n_jobs, quiet=args.quiet,
                               cache_dir=None if args.no_cache else args.cache_dir / "tasks")
    print(calibrate.render(rows, hyp.alpha, hyp.primary))
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from harness import registry, scaffold

    directory = args.hypotheses or registry.default_dir()
    path = scaffold.write(directory, args.id, args.claim, force=args.force)
    print(f"wrote {path}; run it with: python -m harness run {args.id}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from harness import experiment

    hyp = _load_hypothesis(args)
    out = experiment.run(hyp, dataset=args.dataset, data_dir=_data_dir(args, args.dataset or hyp.dataset),
                         results_dir=args.results_dir,
                         cache_dir=None if args.no_cache else args.cache_dir, n_jobs=args.n_jobs, quiet=args.quiet,
                         backend=args.backend, scheduler=args.scheduler, columns=dict(args.column))
    print(f"report: {out.run_dir / 'report.md'}")
    print(out.verdict.line(hyp.id))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from harness import registry

    broken = 0
    for e in registry.load_all(args.hypotheses):
        if e.hypothesis is not None:
            h = e.hypothesis
            print(f"{h.id:<6} {h.claim}  [{h.baseline.name} vs {h.treatment.name}; {h.primary}; "
                  f"{'; '.join(f'{s}: {d.rule}({d.margin:g})' for s, d in h.decisions)}; dataset {h.dataset}]")
        else:
            broken += 1
            print(f"ERROR  {e.error}")
    return 2 if broken else 0


def cmd_show(args: argparse.Namespace) -> int:
    from harness import report, results, summary

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
            "new": cmd_new, "data": cmd_data}


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
