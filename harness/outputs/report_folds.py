"""The report's rolling-origin section: each fold's delta with its interval, tau beside the seed SD and
"the verdict holds in k of F folds", for every decision of a run with ``Split.rolling`` (empty otherwise)."""
from __future__ import annotations

from harness.outputs.formatting import interval, md_table, num, pct, units


def decided_cells(summary: dict) -> list[tuple[dict, dict]]:
    """``(verdict variant, its cell)`` for every decision whose cell has rolling-origin folds."""
    primary = summary["hypothesis"]["primary"]
    out = []
    for vv in summary["verdict"]["variants"]:
        metric = vv.get("metric", primary)
        cell = next((c for c in summary["cells"] if (c["variant"], c["segment"], c["metric"]) ==
                     (vv["variant"], vv["segment"], metric)), None)
        if cell is not None and cell.get("folds"):
            out.append((vv, cell))
    return out


def holds_line(vv: dict, cell: dict) -> str:
    """``tau 0.0040 beside the seed SD 0.0021; the verdict (CONFIRMED) holds in 3 of 4 folds``."""
    f = cell["folds"]
    holds = vv["folds"]
    return (f"fold-to-fold SD (tau) {num(f['tau'])} beside the seed SD {num(f['seed_sd'])}; the verdict "
            f"({vv['status']}) holds in {holds['holds']} of {holds['of']} folds")


def folds_section(summary: dict, figures: dict[str, str]) -> list[str]:
    """Markdown lines of the rolling-origin section (none for a run without folds)."""
    pairs = decided_cells(summary)
    if not pairs:
        return []
    h = summary["hypothesis"]
    u, us = units(summary)
    level = pct(round(1 - h["alpha"], 6))
    first = pairs[0][1]
    lines = ["## Across test windows (rolling-origin folds)", "",
             f"Each fold trains on every interaction before its test window and is evaluated on that window "
             f"({len(first['folds']['per_fold'])} folds; segments are computed from each fold's training data, so "
             f"a {u} may be in some folds only). The deciding interval combines the folds: "
             f"{first['delta']['method']}. A fold's status is the decision applied to that fold's own "
             f"{level} seed x {u} interval.", ""]
    for vv, cell in pairs:
        on = f", metric `{cell['metric']}`" if vv.get("metric") else ""
        lines += [f"- positives `{vv['variant']}`, segment `{vv['segment']}`{on}: {holds_line(vv, cell)}.", ""]
        agree = cell["folds"].get("agreement_p")
        if agree is not None and agree < 0.05:
            lines += [f"  - note: the fold means agree more closely than their own intervals imply (P(Q <= q) = "
                      f"{agree:.3f} for Cochran's Q on {len(cell['folds']['per_fold']) - 1} df under independent "
                      "folds), so the Hartung-Knapp interval is narrower than any fold's. Seeds (one stream per "
                      "fold) and shared users are modelled; if the folds share more (e.g. the same item "
                      "catalogue's quirks), read the per-fold intervals too.", ""]
        rows = [[pf["fold"], str(pf["n_users"]), num(pf["mean_delta"], signed=True), interval(pf["delta"]),
                 num(pf["weight"], 3), status]
                for pf, status in zip(cell["folds"]["per_fold"], vv["folds"]["statuses"])]
        rows.append(["combined", f"{cell['n_users']} ({u}, fold) pairs", num(cell["delta"]["estimate"], signed=True),
                     interval(cell["delta"]), "1.000", vv["status"]])
        lines += [md_table(["fold", f"{us}", f"mean delta {cell['metric']}", f"{level} CI", "weight", "status"],
                           rows), ""]
    data_folds = summary["data"].get("folds") or []
    if data_folds:
        rows = [[f["fold"], f["split"], str(f["split_counts"].get("train_rows", "n/a")),
                 str(f["split_counts"].get("test_rows", "n/a")),
                 ", ".join(f"{v}: {c.get('eval_users', 'n/a')}" for v, c in f["variants"].items())]
                for f in data_folds]
        lines += [md_table(["fold", "split", "train rows", "test rows", f"evaluated {us}"], rows), ""]
    if "folds" in figures:
        lines += [f"![per-fold deltas with CIs]({figures['folds']})", ""]
    return lines
