"""Run-to-run comparison: ``python -m harness diff RUN_A RUN_B``.

Per cell (positive definition x segment x metric) the two deltas and their intervals side by side,
whether the verdict changed, and which users moved most. Only fields of the versioned summary
schema are read (through :func:`harness.outputs.run_files.read_summary`), so runs written by different harness
versions that share the schema compare fine. Users are matched by their raw ``user_id``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.outputs.run_files import read_per_user, read_summary


@dataclass(frozen=True)
class CellDiff:
    """One (variant, segment, metric) cell in both runs.

    Attributes
    ----------
    variant, segment, metric : the cell key.
    a, b : the primary interval (``summary.json`` cell ``delta``) of run A / B; None when the cell is
        missing or empty in that run.
    status_a, status_b : the decision status of this cell in each run (decision cells only, else None).
    """

    variant: str
    segment: str
    metric: str
    a: dict | None
    b: dict | None
    status_a: str | None
    status_b: str | None

    @property
    def changed(self) -> bool:
        return self.status_a is not None and self.status_b is not None and self.status_a != self.status_b


@dataclass(frozen=True)
class Mover:
    """One user's seed-averaged delta (treatment - baseline) in run A and run B."""

    user_id: str
    delta_a: float
    delta_b: float


@dataclass(frozen=True)
class RunDiff:
    """Everything ``diff`` prints; :func:`render` turns it into text."""

    run_a: str
    run_b: str
    status_a: str
    status_b: str
    cells: tuple[CellDiff, ...]
    movers: dict[tuple[str, str], tuple[Mover, ...]]
    metric: str
    notes: tuple[str, ...]
    unit: str = "users"


def resolve(ref: str | Path, results_dir: Path) -> Path:
    """A run folder from a folder, its ``summary.json``, or a run id under ``results_dir``
    (``<results_dir>/<H>/<id>`` or ``<results_dir>/reference/<H>/<id>``)."""
    p = Path(ref)
    if p.is_file() and p.name == "summary.json":
        return p.parent
    if p.is_dir():
        return p
    root = Path(results_dir)
    found = sorted(root.glob(f"*/{p.name}")) + sorted(root.glob(f"reference/*/{p.name}"))
    found = [f for f in found if f.is_dir()]
    if not found:
        raise HarnessError(f"run {str(ref)!r} not found under {root} (nor {root / 'reference'}); pass a run id, a run "
                           "folder or its summary.json, or point --results-dir at the folder holding it")
    return found[0]


def load(folder: Path) -> tuple[dict, pd.DataFrame | None]:
    """``summary.json`` (migrated) and ``per_user.parquet`` (None when absent) of a run folder."""
    sj = Path(folder) / "summary.json"
    if not sj.is_file():
        raise HarnessError(f"{sj}: not found; {folder} is not a complete run folder (re-run its hypothesis)")
    pq = Path(folder) / "per_user.parquet"
    return read_summary(sj), (read_per_user(pq) if pq.is_file() else None)


def _statuses(doc: dict) -> dict[tuple[str, str], str]:
    return {(v["variant"], v["segment"]): v["status"] for v in doc["verdict"]["variants"]}


def user_deltas(per_user: pd.DataFrame, doc: dict, variant: str, segment: str, metric: str) -> pd.Series:
    """Seed-averaged per-user delta (treatment - baseline) of ``metric``, indexed by ``user_id``.

    Only users in ``segment`` who were scored by both arms under every seed present.
    """
    h = doc["hypothesis"]
    seg = f"seg_{segment}"
    if seg not in per_user.columns or metric not in per_user.columns:
        return pd.Series(dtype=float)
    d = per_user[(per_user["variant"] == variant) & per_user[seg] & per_user["arm"].isin([h["baseline"], h["treatment"]])]
    key = "user_id" if "user_id" in d.columns else "user_index"
    wide = d.pivot_table(index=key, columns="arm", values=metric, aggfunc="mean")
    if h["baseline"] not in wide.columns or h["treatment"] not in wide.columns:
        return pd.Series(dtype=float)
    out = (wide[h["treatment"]] - wide[h["baseline"]]).dropna()
    out.index = out.index.astype(str)
    return out


def movers(da: pd.Series, db: pd.Series, top: int) -> tuple[Mover, ...]:
    """The ``top`` users (in both series) whose delta changed most, largest |B - A| first (ties by id)."""
    both = da.index.intersection(db.index)
    if len(both) == 0 or top <= 0:
        return ()
    a, b = da.loc[both].to_numpy(), db.loc[both].to_numpy()
    ids = np.asarray(both, dtype=str)
    order = np.lexsort((ids, -np.abs(b - a)))[:top]
    return tuple(Mover(ids[i], float(a[i]), float(b[i])) for i in order)


def compare(doc_a: dict, pu_a: pd.DataFrame | None, doc_b: dict, pu_b: pd.DataFrame | None, *,
            metric: str | None = None, top: int = 5, name_a: str = "A", name_b: str = "B") -> RunDiff:
    """Compare two runs cell by cell; ``metric`` (default: B's primary) picks the metric for movers."""
    ha, hb = doc_a["hypothesis"], doc_b["hypothesis"]
    metric = metric or hb["primary"]
    known = {c["metric"] for d in (doc_a, doc_b) for c in d["cells"]}
    if metric not in known:
        raise HarnessError(f"--metric {metric!r} is in neither run (they have: {', '.join(sorted(known))})")
    notes = []
    if ha["id"] != hb["id"]:
        notes.append(f"the runs are of different hypotheses ({ha['id']} vs {hb['id']})")
    if (ha["baseline"], ha["treatment"]) != (hb["baseline"], hb["treatment"]):
        notes.append(f"arms differ: A {ha['baseline']} -> {ha['treatment']}, B {hb['baseline']} -> {hb['treatment']}")
    fa, fb = (d["provenance"].get("data_fingerprint") for d in (doc_a, doc_b))
    if fa != fb:
        notes.append(f"the runs used different data (datasets {doc_a['dataset']} / {doc_b['dataset']}): users are "
                     "matched by id only")
    cells_a = {(c["variant"], c["segment"], c["metric"]): c for c in doc_a["cells"]}
    cells_b = {(c["variant"], c["segment"], c["metric"]): c for c in doc_b["cells"]}
    sa, sb = _statuses(doc_a), _statuses(doc_b)
    rows = []
    for key in list(cells_a) + [k for k in cells_b if k not in cells_a]:
        ca, cb = cells_a.get(key), cells_b.get(key)
        rows.append(CellDiff(*key, a=None if ca is None or ca.get("empty") else ca.get("delta"),
                             b=None if cb is None or cb.get("empty") else cb.get("delta"),
                             status_a=sa.get(key[:2]) if key[2] == ha["primary"] else None,
                             status_b=sb.get(key[:2]) if key[2] == hb["primary"] else None))
    moved: dict[tuple[str, str], tuple[Mover, ...]] = {}
    missing = [n for n, pu in ((name_a, pu_a), (name_b, pu_b)) if pu is None]
    if missing:
        notes.append(f"no per_user.parquet in run {' and '.join(missing)}: users who moved are not shown")
    else:
        for variant, segment in [k for k in sb if k in sa] or [k[:2] for k in cells_b if k in cells_a][:1]:
            da = user_deltas(pu_a, doc_a, variant, segment, metric)
            db = user_deltas(pu_b, doc_b, variant, segment, metric)
            moved[(variant, segment)] = movers(da, db, top)
    return RunDiff(doc_a["run_id"], doc_b["run_id"], doc_a["verdict"]["status"], doc_b["verdict"]["status"],
                   tuple(rows), moved, metric, tuple(notes), hb.get("unit", "users"))


def _iv(d: dict | None) -> str:
    if d is None or d.get("estimate") is None:
        return "-"
    lo, hi = d.get("low"), d.get("high")
    bounds = "" if lo is None or hi is None else f" [{lo:+.4f}, {hi:+.4f}]"
    return f"{d['estimate']:+.4f}{bounds}"


def _change(c: CellDiff) -> str:
    if c.a is None or c.b is None or c.a.get("estimate") is None or c.b.get("estimate") is None:
        return "-"
    return f"{c.b['estimate'] - c.a['estimate']:+.4f}"


def _verdict(c: CellDiff) -> str:
    if c.status_a is None and c.status_b is None:
        return ""
    text = f"{c.status_a or '-'} -> {c.status_b or '-'}"
    return text + "  CHANGED" if c.changed else text


def _grid(table: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]


def render(d: RunDiff) -> str:
    """The terminal text: header, cell table, movers."""
    changed = d.status_a != d.status_b
    out = [f"A: {d.run_a}", f"B: {d.run_b}",
           f"verdict: {d.status_a} -> {d.status_b}" + ("  CHANGED" if changed else " (unchanged)")]
    out += [f"note: {n}" for n in d.notes]
    table = [["variant", "segment", "metric", "delta A [CI]", "delta B [CI]", "B - A", "verdict A -> B"]]
    table += [[c.variant, c.segment, c.metric, _iv(c.a), _iv(c.b), _change(c), _verdict(c)] for c in d.cells]
    out += [""] + _grid(table)
    us, u = d.unit, d.unit[:-1]  # items for item -> users runs (their user_id column holds the item id)
    for (variant, segment), ms in d.movers.items():
        out += ["", f"{us} who moved most ({d.metric}, {variant}, segment {segment}; per-{u} delta = treatment - "
                    "baseline, mean over seeds):"]
        if not ms:
            out.append(f"  (no {u} is in this segment in both runs)")
            continue
        out += ["  " + line for line in _grid([[f"{u}_id", "delta A", "delta B", "B - A"]] + [
            [m.user_id, f"{m.delta_a:+.4f}", f"{m.delta_b:+.4f}", f"{m.delta_b - m.delta_a:+.4f}"] for m in ms])]
    return "\n".join(out)
