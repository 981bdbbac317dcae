"""The markdown verdict report (report.md) and the ``show`` summary, rendered from summary.json (so they
always agree): the verdict with what undercuts it (the warnings) right under it, the interval each
decision rests on, one table per positive definition, then the sections of
:mod:`.report_evidence` (further statistics) and :mod:`.report_setup` (tuning, ANN, data, provenance).
The figures are drawn by :mod:`.figures`; :func:`figures` is re-exported here for the runner."""
from __future__ import annotations

import re

from harness.design.validation import CURVE_UNITS
from harness.evaluation.beyond import LIST_METRICS
from harness.evaluation.metrics import DEFINITIONS
from harness.spec.metric import BEYOND_ACCURACY
from harness.outputs import report_evidence, report_exposure, report_folds, report_setup
from harness.outputs.figures import figures
from harness.outputs.formatting import VALIDATION_PCT, interval, md_table, num, pct, pvalue, units
from harness.outputs.repeats import collapse

__all__ = ["render", "terminal", "table_rows", "warnings", "figures", "units", "pct"]

#: Re-exported for the tests, which check how a relative-delta interval is written.
_rel_ci = report_evidence.rel_ci


def table_rows(summary: dict, variant: str) -> list[dict]:
    """The report's table rows for one variant (one per segment x metric), as plain values.

    Tests check the rendered tables against these rows, and these rows against summary.json.
    """
    rows = []
    for c in summary["cells"]:
        if c["variant"] != variant:
            continue
        if c["empty"]:
            rows.append({"segment": c["segment"], "metric": c["metric"], "users": 0})
            continue
        t = c["tests"]
        rows.append({
            "segment": c["segment"], "metric": c["metric"], "users": c["n_users"],
            "baseline": num(c["mean_baseline"]), "treatment": num(c["mean_treatment"]),
            "delta": num(c["delta"]["estimate"], signed=True),
            "rel": "n/a" if (c["relative_pct"] or {}).get("estimate") is None
            else f"{c['relative_pct']['estimate']:+.2f} %",
            "ci": interval(c["delta"]), "ci_user": interval(c["delta_user_only"]),
            "p": f"{pvalue(c['p_primary'])} / {pvalue(c['adjusted_p']['primary'])}",
            "wilcoxon": f"{pvalue(t['wilcoxon']['p'])} / {pvalue(c['adjusted_p']['wilcoxon'])}" if t["wilcoxon"]["defined"]
            else "undefined (all deltas 0)",
            "t": f"{pvalue(t['paired_t']['p'])} / {pvalue(c['adjusted_p']['paired_t'])}",
            "zeros": f"{100 * t['wilcoxon']['zero_share']:.0f} %",
            "seeds": f"{c['seeds_agree'][0]}/{c['seeds_agree'][1]}",
            "mde": num(c["mde"]),
        })
    return rows


_COLS = [("segment", "segment"), ("metric", "metric"), ("users", "{units}"), ("baseline", "{base}"),
         ("treatment", "{treat}"), ("delta", "delta"), ("rel", "rel. delta"), ("ci", "95 % CI (seed x {unit})"),
         ("ci_user", "CI ({units} only)"), ("p", "p raw / adj"), ("wilcoxon", "Wilcoxon p raw / adj"),
         ("t", "t-test p raw / adj"), ("zeros", "zero deltas"), ("seeds", "seeds agree"), ("mde", "MDE (80 %)")]


def render(summary: dict, figures: dict[str, str]) -> str:
    """report.md text; ``figures`` maps a figure name to its path relative to the run folder."""
    h = summary["hypothesis"]
    v = summary["verdict"]
    u, us = units(summary)
    level = pct(round(1 - h["alpha"], 6))
    rules = "; ".join(f"`{d['rule']}({_attribute(d)}margin={d['margin']:g})` "
                      f"{'on `' + d['metric'] + '` ' if d.get('metric') else ''}in segment `{d['segment']}`"
                      for d in h["decisions"])
    lines = [f"# {h['id']}: {v['status']}", "",
             f"**Verdict: {v['status']}** - {v['reason']}.", ""]
    lines += [f"- **warning:** {w}" for w in warnings(summary)] + ([""] if warnings(summary) else [])
    lines += [f"**Claim.** {h['claim']}", "",
             f"Baseline `{h['baseline']}` vs treatment `{h['treatment']}` on `{summary['dataset']}`; "
             f"primary metric `{h['primary']}`; decision {rules}, on the {level} {_deciding(summary, u)} "
             f"of the mean per-{u} delta (treatment - baseline).", ""]
    if us == "items":
        lines += [f"Units of analysis: **items** (direction `{h.get('direction')}`): each evaluated item ranks "
                  "the users with training history (users seen with it in training masked); every statistic "
                  "below is paired over items x seeds.", ""]
    methods = _decision_methods(summary)
    if any(vv.get("metric") for vv in v["variants"]):
        lines += ["The claim is the AND of its decisions (`all_of`): CONFIRMED only when every one is, REJECTED when "
                  "any is. This is an intersection-union test: each decision uses its own interval at the stated "
                  "level and no multiplicity correction is needed, since confirming a false AND needs a false "
                  "part to be confirmed, which happens with probability <= alpha.", ""]
    for vv in v["variants"]:
        on = f", metric `{vv['metric']}`" if vv.get("metric") else ""
        lines.append(f"- positives `{vv['variant']}`, segment `{vv['segment']}`{on}: **{vv['status']}** - {vv['reason']}")
        if methods.get((vv["variant"], vv["segment"])):
            lines.append(f"  - interval: {methods[(vv['variant'], vv['segment'])]}")
    lines.append("")
    lines += report_folds.folds_section(summary, figures)
    lines += report_evidence.sequential_section(summary)
    variants = list(dict.fromkeys(c["variant"] for c in summary["cells"]))
    for var in variants:
        lines += [f"## Positives: `{var}`", ""]
        rows = table_rows(summary, var)
        header = [label.format(base=h["baseline"], treat=h["treatment"], unit=u, units=us).replace("95 %", level) for _, label in _COLS]
        lines.append(md_table(header, [[r.get(k, "-") for k, _ in _COLS] for r in rows]))
        cov = summary.get("coverage", {}).get(var)
        if cov:
            parts = "; ".join(f"`{arm}` " + ", ".join(f"{k} {x:.3f}" for k, x in d.items()) for arm, d in cov.items())
            what = "User coverage (share of candidate users in some item's top-k" if us == "items" \
                else "Catalogue coverage ("
            lines += ["", f"{what}{'; ' if us == 'items' else ''}mean over seeds): {parts}."]
        ref = summary.get("reference", {}).get(var)
        if ref:
            parts = ", ".join(f"{s} {num(m)}" for s, m in ref.items())
            ref_name = "users ranked by training activity" if us == "items" else "popularity"
            lines += ["", f"Reference: {ref_name} {h['primary']} = {parts} (a trained arm below this is suspect)."]
        lines.append("")
    lines += [f"p-values: `p` from the seed x {u} interval's estimate/SE; Wilcoxon ({_wilcoxon_method(summary)}) "
              f"and paired t on each {u}'s seed-averaged delta; adjusted with `{h['correction']}` across the "
              f"accuracy-metric cells ({_family(summary)} cells are a separate family). Wilcoxon tests a shift of the median, not the mean delta; "
              f"the verdict rests on the seed x {u} interval.", ""]
    lines += metric_notes(summary)
    lines += report_evidence.disparity_section(summary)
    lines += report_evidence.effects_section(summary)
    if "forest" in figures:
        lines += [f"![delta with CIs per segment]({figures['forest']})", ""]
    lines += report_evidence.noise_section(summary, figures)
    lines += report_setup.tuning_section(summary)
    lines += report_setup.ann_section(summary)
    lines += report_exposure.exposure_section(summary)
    lines += report_setup.data_section(summary)
    for name, label in (("seeds", "per-seed deltas"), ("distribution", f"per-{u} deltas"),
                        ("curves", f"learning curves on the validation window inside training (last {VALIDATION_PCT} of each user's "
                                   f"training interactions; mean over up to {CURVE_UNITS} {us}, per epoch)")):
        if name in figures:
            lines += [f"![{label}]({figures[name]})", ""]
    lines += report_setup.provenance_section(summary)
    return "\n".join(lines) + "\n"


def _deciding(summary: dict, unit: str) -> str:
    """What the decisions rest on: ``seed x user interval``, or with rolling-origin folds the interval over
    the test windows."""
    if report_folds.decided_cells(summary):
        return f"interval over the test windows (random-effects combination of each fold's seed x {unit} estimate)"
    return f"seed x {unit} interval"


def _attribute(decision: dict) -> str:
    """``attribute=gender, groups=(F, M), `` for a no_disparity decision, else empty."""
    if decision["rule"] != "no_disparity":
        return ""
    groups = f"groups=({', '.join(map(str, decision['groups']))}), " if decision.get("groups") else ""
    return f"attribute={decision['attribute']}, {groups}"


def _family(summary: dict) -> str:
    """The beyond-accuracy family as the p-value line names it (unchanged wording for runs without the
    list metrics ild/calibration/serendipity/aplt)."""
    used = {c["metric"].split("@")[0] for c in summary["cells"]}
    if not used & set(LIST_METRICS):
        return "novelty/avgpop"
    return "beyond-accuracy (" + "/".join(BEYOND_ACCURACY) + ")"


def metric_notes(summary: dict) -> list[str]:
    """One line defining each metric of the tables (binary relevance, rank i = 1..k)."""
    names = dict.fromkeys(c["metric"].split("@")[0] for c in summary["cells"])
    parts = [f"`{n}@k` = {DEFINITIONS[n]}" for n in names if n in DEFINITIONS]
    return [f"Metrics (binary relevance, rank i = 1..k): {'; '.join(parts)}.", ""] if parts else []


def warnings(summary: dict) -> list[str]:
    """What undercuts the verdict, one line each, repeats collapsed (none in a summary.json written
    before it recorded warnings)."""
    return collapse(list(summary.get("warnings") or []))


def _decision_methods(summary: dict) -> dict[tuple[str, str], str]:
    """(positives, segment) of each decision -> how its primary-metric interval was computed, in the
    run's units (the statistics name their columns users; with ``unit="items"`` they are items)."""
    primary = summary["hypothesis"]["primary"]
    unit = units(summary)[0]
    return {(c["variant"], c["segment"]): re.sub(r"\buser", unit, c["delta"]["method"]) for c in summary["cells"]
            if c["metric"] == primary and not c["empty"] and c.get("delta")}


def _wilcoxon_method(summary: dict) -> str:
    """The Wilcoxon variant the cells used (the same for every cell)."""
    for c in summary["cells"]:
        if not c["empty"]:
            return c["tests"]["wilcoxon"]["method"]
    return "n/a"


def terminal(summary: dict) -> str:
    """The verdict, each warning (``warning: ...``) and one compact table per variant, for
    ``python -m harness show``."""
    h, v = summary["hypothesis"], summary["verdict"]
    out = [f"{h['id']}: {v['status']} - {v['reason']}"] + [f"warning: {w}" for w in warnings(summary)]
    out += [f"claim: {h['claim']}", f"run: {summary['run_id']}"]
    if units(summary)[1] == "items":
        out.append(f"units: items (direction {h.get('direction')}; deltas per item, seed x item interval)")
    out += [f"folds: {vv['variant']} / {vv['segment']}: {report_folds.holds_line(vv, cell)}"
            for vv, cell in report_folds.decided_cells(summary)]
    keys = ["segment", "metric", "users", "baseline", "treatment", "delta", "ci", "p", "wilcoxon", "seeds"]
    for var in dict.fromkeys(c["variant"] for c in summary["cells"]):
        rows = table_rows(summary, var)
        out += ["", f"positives {var}  ({h['baseline']} -> {h['treatment']})"]
        table = [[units(summary)[1] if k == "users" else k for k in keys]] + \
            [[str(r.get(k, "-")) for k in keys] for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(keys))]
        out += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in table]
    return "\n".join(out)
