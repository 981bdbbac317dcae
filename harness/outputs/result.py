"""A finished run as Python objects: :class:`Result` (what :func:`harness.run` returns) and :func:`load`
(a run folder read back). Every number comes from the run's summary.json, per_user.parquet and
provenance.json, so a loaded run and a fresh one give the same frames."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.errors import HarnessError

#: The tests whose raw and Holm-adjusted p-values become columns of :attr:`Result.cells`.
TESTS = ("wilcoxon", "paired_t", "sign", "randomization", "seed_level")


@dataclass(frozen=True)
class VerdictLine:
    """The hypothesis' status and the one-line reason; ``str()`` is the verdict line the CLI prints."""

    hypothesis: str
    status: str
    reason: str

    def __str__(self) -> str:
        return f"{self.hypothesis}: {self.status} - {self.reason}"


def _num(x) -> float:
    return float("nan") if x is None else float(x)


def cells_frame(doc: dict) -> pd.DataFrame:
    """One row per (positives, segment, metric): the delta and its seed x unit interval, the tests' raw
    and adjusted p-values, effect sizes, the minimum detectable effect, n_users, and, for the decision
    cells, the decision rule and status."""
    decided = {(v["variant"], v["segment"]): v for v in doc.get("verdict", {}).get("variants", [])}
    primary = doc.get("hypothesis", {}).get("primary")
    rules = {d["segment"]: f"{d['rule']}({d['margin']:g})" for d in doc.get("hypothesis", {}).get("decisions", [])}
    rows = []
    for c in doc.get("cells", []):
        d = c.get("delta") or {}
        eff = c.get("effects") or {}
        adj = c.get("adjusted_p") or {}
        row = {"positives": c["variant"], "segment": c["segment"], "metric": c["metric"],
               "n_users": c.get("n_users"), "n_seeds": c.get("n_seeds"),
               "mean_baseline": _num(c.get("mean_baseline")), "mean_treatment": _num(c.get("mean_treatment")),
               "delta": _num(d.get("estimate")), "ci_low": _num(d.get("low")), "ci_high": _num(d.get("high")),
               "se": _num(d.get("se")), "ci_level": _num(d.get("level")), "ci_method": d.get("method"),
               "p": _num(c.get("p_primary")), "p_adjusted": _num(adj.get("primary"))}
        for t in TESTS:
            test = (c.get("tests") or {}).get(t) or {}
            row[f"p_{t}"] = _num(test.get("p"))
            row[f"p_{t}_adjusted"] = _num(adj.get(t))
        row.update({"relative_pct": _num((c.get("relative_pct") or {}).get("estimate")),
                    "cohens_dz": _num(eff.get("cohens_dz")), "rank_biserial": _num(eff.get("rank_biserial")),
                    "mde": _num(c.get("mde"))})
        v = decided.get((c["variant"], c["segment"])) if c["metric"] == primary else None
        row["decision"] = rules.get(c["segment"]) if v is not None else None
        row["status"] = v["status"] if v is not None else None
        rows.append(row)
    return pd.DataFrame(rows)


def arms_frame(per_user: pd.DataFrame | None, provenance: dict | None) -> pd.DataFrame:
    """Per (positives, arm, seed): each metric's mean over the evaluated units, the task's seconds (fit and
    evaluation; 0 when it came from the cache), whether it was cached, and the epochs it trained (chosen by
    ``epochs="auto"`` or tuning; NaN when fixed or unknown)."""
    if per_user is None or per_user.empty:
        return pd.DataFrame()
    metrics = [c for c in per_user.columns if "@" in c]
    out = per_user.groupby(["variant", "arm", "seed"], sort=False)[metrics].mean().reset_index()
    tasks = {(t.get("variant"), t.get("arm"), t.get("seed")): t for t in (provenance or {}).get("tasks", [])}
    info = [tasks.get((v, a, int(s)), {}) for v, a, s in zip(out["variant"], out["arm"], out["seed"])]
    out["seconds"] = [_num(t.get("seconds")) for t in info]
    out["cached"] = [t.get("cached") for t in info]
    out["epochs"] = [_num((t.get("tuned") or {}).get("epochs")) for t in info]
    return out.rename(columns={"variant": "positives"})


@dataclass(frozen=True, eq=False)
class Result:
    """A run: its summary (the dict of summary.json), the per-user table and provenance, and the folder it
    was written to (None when run with ``results_dir=None``).

    Attributes
    ----------
    verdict : :class:`VerdictLine` (``.status``; ``str()`` is the verdict line).
    cells : DataFrame, one row per (positives, segment, metric); see :func:`cells_frame`.
    per_user : DataFrame, one row per (positives, arm, seed, unit) with the metric values and segments.
    arms : DataFrame per (positives, arm, seed): metric means, seconds, epochs; see :func:`arms_frame`.
    warnings : what undercuts the verdict (list of str).
    report_path, figures : the report and figure files (None / [] when nothing was written).
    """

    summary: dict
    per_user: pd.DataFrame | None
    run_dir: Path | None = None
    provenance: dict | None = None

    @property
    def verdict(self) -> VerdictLine:
        v = self.summary.get("verdict") or {}
        return VerdictLine(self.summary.get("hypothesis", {}).get("id", "?"), v.get("status", "?"), v.get("reason", ""))

    @property
    def run_id(self) -> str:
        return self.summary.get("run_id", "")

    @property
    def cells(self) -> pd.DataFrame:
        return cells_frame(self.summary)

    @property
    def arms(self) -> pd.DataFrame:
        return arms_frame(self.per_user, self.provenance)

    @property
    def warnings(self) -> list[str]:
        return list(self.summary.get("warnings") or [])

    @property
    def report_path(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / "report.md"

    @property
    def figures(self) -> list[Path]:
        return [] if self.run_dir is None else sorted((self.run_dir / "figures").glob("*.png"))

    def __repr__(self) -> str:
        where = f", run_dir={str(self.run_dir)!r}" if self.run_dir is not None else ""
        return f"Result({str(self.verdict)!r}{where})"

    def _repr_markdown_(self) -> str:
        """Jupyter: the verdict, the warnings and the decision cells."""
        lines = [f"**{self.verdict.hypothesis}: {self.verdict.status}** - {self.verdict.reason}", ""]
        lines += [f"- warning: {w}" for w in self.warnings] + ([""] if self.warnings else [])
        cells = self.cells
        if not cells.empty:
            dec = cells[cells["status"].notna()]
            lines += ["| positives | segment | metric | delta | 95 % CI | status |", "|---|---|---|---|---|---|"]
            for r in dec.itertuples(index=False):
                pos = str(r.positives).replace("|", "\\|")
                lines.append(f"| {pos} | {r.segment} | {r.metric} | {r.delta:+.4f} | "
                             f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}] | {r.status} |")
        return "\n".join(lines)


def _run_folder(run: str | Path, results_dir: Path) -> Path:
    from harness.outputs import run_folder

    folder = run_folder.find(run, results_dir)
    if folder is None and len(Path(run).parts) == 1:  # a hypothesis id: its newest run
        folder = run_folder.latest(results_dir, str(run))
    if folder is None:
        raise HarnessError(f"run {str(run)!r} not found: give a run folder, a run id or a hypothesis id with runs "
                           f"under results_dir={results_dir}")
    return folder


def load(run: str | Path, results_dir: str | Path = "results") -> Result:
    """A finished run read back: ``run`` is its folder, its run id, or a hypothesis id (its newest run)
    under ``results_dir``."""
    from harness.outputs import summary

    folder = _run_folder(run, Path(results_dir))
    try:
        doc = summary.migrate(json.loads((folder / "summary.json").read_text()))
        per_user = pd.read_parquet(folder / "per_user.parquet")
        prov_path = folder / "provenance.json"
        prov = json.loads(prov_path.read_text()) if prov_path.is_file() else None
    except (OSError, ValueError) as e:
        raise HarnessError(f"{folder}: not a readable run folder ({type(e).__name__}: {e}); rerun the hypothesis") \
            from None
    return Result(doc, per_user, folder, prov)


__all__ = ["Result", "VerdictLine", "load", "cells_frame", "arms_frame"]
