"""How the report and ``show`` write numbers, p-values, intervals, units and tables (shared by
:mod:`.report`, its sections and :mod:`.figures`)."""
from __future__ import annotations

from harness.design.validation import VALIDATION_SHARE

#: The validation window as written: the last ``VALIDATION_PCT`` of each user's training interactions.
VALIDATION_PCT = f"{100 * VALIDATION_SHARE:g} %"


def num(x, digits: int = 4, signed: bool = False) -> str:
    """``0.1234`` (``+0.1234`` when ``signed``); ``n/a`` for None."""
    if x is None:
        return "n/a"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def pvalue(x) -> str:
    """A p-value: ``0.012``, ``3.40e-05``; ``<1e-300`` for an underflow; ``n/a`` for None."""
    if x is None:
        return "n/a"
    if x == 0:
        return "<1e-300"  # underflow: printing 0 would claim certainty
    return f"{x:.2e}" if x < 1e-3 else f"{x:.3f}"


def interval(d) -> str:
    """``[-0.0120, +0.0340]`` from a ``{low, high}`` dict; ``n/a`` for None."""
    return "n/a" if d is None else f"[{num(d['low'], signed=True)}, {num(d['high'], signed=True)}]"


def units(summary: dict) -> tuple[str, str]:
    """(singular, plural) name of the units of analysis: ``("user", "users")`` or ``("item", "items")``."""
    plural = summary["hypothesis"].get("unit", "users")
    return plural[:-1], plural


def pct(level: float) -> str:
    """A confidence level as a percentage: ``95 %``, ``99.8 %``, ``99.998 %``."""
    return f"{100 * level:.6g} %" if round(100 * level) != 100 * level else f"{100 * level:.0f} %"


def md_cell(text) -> str:
    """One markdown table cell: ``|`` escaped (variant names such as ``like|share|bookmark`` and the
    header ``max A/A |delta|`` hold pipes; GFM unescapes ``\\|`` inside code spans too), newlines as spaces."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table, every cell escaped (:func:`md_cell`), so each row has the header's columns."""
    out = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(md_cell(x) for x in r) + " |" for r in rows]
    return "\n".join(out)
