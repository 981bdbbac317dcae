"""What counts as a positive: small boolean expressions over event columns.

Grammar (whitespace ignored)::

    expr  := term ('|' term)*          OR
    term  := atom ('&' atom)*          AND
    atom  := column OP number | column  (a bool column)
    OP    := >= | > | <= | < | == | !=

Examples: ``"watch_ratio>=0.5"``, ``"like|share|bookmark"``, ``"rating>=4"``.
Comparisons with a missing value (NaN, e.g. ``watch_ratio`` of a zero-duration video, an empty
rating) are False: such rows are non-positive, and :func:`missing_notes` counts them for the report.
"""
from __future__ import annotations

import difflib
import operator
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.errors import HarnessError

_OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt}
_ATOM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?))?$")


@dataclass(frozen=True)
class Atom:
    column: str
    op: str | None = None
    value: float | None = None


def parse(expr: str) -> tuple[tuple[Atom, ...], ...]:
    """Parse ``expr`` into OR-of-ANDs of atoms; raise a one-line error naming the bad part."""
    if not isinstance(expr, str) or not expr.strip():
        raise HarnessError(f"positives: empty definition {expr!r}; e.g. 'rating>=4' or 'like|share'")
    terms = []
    for term in expr.replace(" ", "").split("|"):
        atoms = []
        for part in term.split("&"):
            m = _ATOM.match(part)
            if not m:
                raise HarnessError(f"positives: cannot parse {part!r} in {expr!r}; write column>=number or "
                                   "a bool column, joined with | (or) and & (and)")
            col, op, val = m.groups()
            atoms.append(Atom(col, op, None if val is None else float(val)))
        terms.append(tuple(atoms))
    return tuple(terms)


def columns(expr: str) -> set[str]:
    """The event columns ``expr`` reads."""
    return {a.column for term in parse(expr) for a in term}


def applicable(expr: str, events: pd.DataFrame) -> bool:
    """True when every column of ``expr`` exists in ``events``."""
    return columns(expr) <= set(events.columns)


def positive_mask(expr: str, events: pd.DataFrame) -> np.ndarray:
    """Boolean array (len(events),): which events are positives under ``expr``."""
    missing = sorted(columns(expr) - set(events.columns))
    if missing:
        raise HarnessError(f"positives {expr!r}: the data has no column(s) {missing}; "
                           f"available: {', '.join(c for c in events.columns if c not in ('user', 'item'))}")
    out = np.zeros(len(events), dtype=bool)
    for term in parse(expr):
        acc = np.ones(len(events), dtype=bool)
        for a in term:
            col = events[a.column].to_numpy()
            if a.op is None:
                if col.dtype != bool:
                    raise HarnessError(f"positives {expr!r}: column {a.column!r} is {col.dtype}, not bool; "
                                       f"compare it, e.g. '{a.column}>=1'")
                acc &= col
            else:
                with np.errstate(invalid="ignore"):
                    acc &= np.asarray(_OPS[a.op](col.astype(np.float64), a.value), dtype=bool)
        out |= acc
    return out


def missing_notes(definitions: tuple[str, ...], events: pd.DataFrame) -> list[str]:
    """One report note per definition and column it reads that has missing values: how many
    interactions lack a value there (they count as non-positive)."""
    out = []
    for expr in definitions:
        for col in sorted(columns(expr) & set(events.columns)):
            n = int(events[col].isna().sum())
            if n:
                out.append(f"positives {expr!r}: {n} of {len(events)} interactions have no value in column "
                           f"{col!r} and count as non-positive")
    return out


def resolve(wanted: tuple[str, ...], events: pd.DataFrame, defaults: tuple[str, ...],
            explicit: bool = False) -> tuple[tuple[str, ...], str]:
    """The positive definitions to run on this data, and a note when some were substituted.

    ``explicit``: the definitions were given for this run (``--positives``); one that reads a column
    the data lacks is then a one-line error naming the column and the columns the data has, never
    replaced. Otherwise (a hypothesis' own definitions) those whose columns the data lacks are
    dropped; if none remain, the dataset's defaults are used (e.g. H1's watch-ratio positives become
    ``rating>=4`` on MovieLens) and the note says so; if the data has no applicable default either, a
    one-line error names the missing columns and the ``--positives`` flag.
    """
    for e in wanted:
        parse(e)
    have = [c for c in events.columns if c not in ("user", "item", "time")]
    if explicit:
        for e in wanted:
            missing = sorted(columns(e) - set(events.columns))
            if missing:
                close = sorted({m for c in missing for m in difflib.get_close_matches(c, have, n=1, cutoff=0.6)})
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise HarnessError(f"--positives {e!r} reads column(s) {', '.join(missing)}{hint}, which the data "
                                   f"lacks (columns: {', '.join(have) or 'none'}); fix the expression in --positives")
    ok = tuple(e for e in wanted if applicable(e, events))
    dropped = [e for e in wanted if e not in ok]
    if not ok:
        usable = tuple(d for d in defaults if applicable(d, events))
        if not usable:
            lacking = sorted(set().union(*(columns(e) for e in wanted)) - set(events.columns))
            example = f"'{have[0]}>=1'" if have else "'clicked'"
            raise HarnessError(f"positives {list(wanted)} read column(s) {', '.join(lacking)}, which the data lacks, "
                               f"and it has no default positive definition (columns: {', '.join(have) or 'none'}); "
                               f"give one with --positives, e.g. --positives {example}")
        return usable, (f"positives {list(wanted)} need columns this dataset lacks; "
                        f"using the dataset's default {list(usable)}")
    if dropped:
        return ok, f"positives {dropped} need columns this dataset lacks and were skipped"
    return ok, ""
