"""Command line: ``python -m harness {run,list,show,new,gate,calibrate}``.

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


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hypotheses", type=Path, default=None, help="directory of hypothesis files (default ./hypotheses)")
    p.add_argument("--results-dir", type=Path, default=Path("results"), help="where run folders go (default results/)")


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=None, help="override the hypothesis' dataset: synthetic-vk, ml-100k, "
                   "vk-lsvd:<subsample>, ml-1m, ml-latest, kion, tabular:<file>")
    p.add_argument("--data-dir", type=Path, default=None, help="directory holding the dataset's files")
    p.add_argument("--cache-dir", type=Path, default=Path(".cache/harness"), help="task cache and generated data")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the task cache")
    p.add_argument("--n-jobs", type=_positive_int, default=2, help="parallel (arm, seed) tasks (default 2)")
    p.add_argument("--seeds", type=_positive_int, default=None, help="override: use seeds 0..N-1")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


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
    return ap


def cmd_run(args: argparse.Namespace) -> int:
    from harness import experiment, registry

    hyp = registry.get(args.hypothesis, args.hypotheses)
    if args.seeds is not None:
        hyp = hyp.replace(seeds=tuple(range(args.seeds)))
    out = experiment.run(hyp, dataset=args.dataset, data_dir=args.data_dir, results_dir=args.results_dir,
                         cache_dir=None if args.no_cache else args.cache_dir, n_jobs=args.n_jobs, quiet=args.quiet)
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
                  f"{h.decision.rule}({h.decision.margin:g}); dataset {h.dataset}]")
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


COMMANDS = {"run": cmd_run, "list": cmd_list, "show": cmd_show}


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
