"""``python -m harness list``: the hypotheses with their claims (and any broken files)."""
from __future__ import annotations

import argparse

from harness.cli.options import _common


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list hypotheses with their claims (and any broken files)")
    _common(p)


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
