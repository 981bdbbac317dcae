"""Repeated notes collapsed into one line with counts, for the report and the terminal.

Tasks repeat the same note with other numbers (``<positives> / <arm> / seed <s>: tuned on the validation
window (...): {'epochs': 5}`` for each of 20 tasks). :func:`collapse` keeps one line per shape (the
note after its task label, with every number a placeholder): ``20 tasks (arms cf, cf+content; 2
positive definitions; seeds 0-4): tuned ...: {'epochs': 4..27}``, a number that differs between the
tasks written as its range. Each task's own line stays in summary.json's ``notes``.
"""
from __future__ import annotations

import re

_LABEL = re.compile(r"^(?P<variant>.+?) / (?P<arm>.+?) / seed (?P<seed>\d+): (?P<rest>.*)$", re.DOTALL)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def collapse(lines: list[str]) -> list[str]:
    """``lines`` with task notes of one shape merged into one line (first appearance order); other lines
    kept, an exact repeat written once with ``(N times)``."""
    groups: dict[tuple, list] = {}
    for line in lines:
        m = _LABEL.match(line)
        key = ("task", _NUMBER.sub("#", m["rest"])) if m else ("line", line)
        groups.setdefault(key, []).append(m or line)
    out = []
    for (kind, _), items in groups.items():
        if kind == "line":
            out.append(items[0] + (f" ({len(items)} times)" if len(items) > 1 else ""))
        elif len(items) == 1:
            out.append(items[0].string)
        else:
            out.append(_merged(items))
    return out


def _merged(matches: list[re.Match]) -> str:
    """One line for task notes of one shape: how many tasks, their arms, positives and seeds, then the
    note with each number that differs between them as ``low..high``."""
    arms = list(dict.fromkeys(m["arm"] for m in matches))
    variants = list(dict.fromkeys(m["variant"] for m in matches))
    seeds = sorted({int(m["seed"]) for m in matches})
    values = [_NUMBER.findall(m["rest"]) for m in matches]
    parts = _NUMBER.split(matches[0]["rest"])
    text = parts[0]
    for i, tail in enumerate(parts[1:]):
        column = [v[i] for v in values]
        if len(set(column)) == 1:
            text += column[0]
        else:
            nums = sorted(column, key=float)
            text += f"{nums[0]}..{nums[-1]}"
        text += tail
    who = (f"arm{'s' if len(arms) > 1 else ''} {', '.join(arms)}; "
           + (f"positives {variants[0]}" if len(variants) == 1 else f"{len(variants)} positive definitions")
           + f"; seed{'s' if len(seeds) > 1 else ''} {_ranges(seeds)}")
    return f"{len(matches)} tasks ({who}): {text}"


def _ranges(xs: list[int]) -> str:
    """``0-4, 7`` from sorted integers."""
    out, start = [], None
    for i, x in enumerate(xs):
        if start is None:
            start = x
        if i + 1 == len(xs) or xs[i + 1] != x + 1:
            out.append(str(start) if start == x else f"{start}-{x}")
            start = None
    return ", ".join(out)
