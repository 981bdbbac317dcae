"""The report's statistical sections beyond the main tables: effect sizes and further tests, the
seed-noise floor (A/A) and what a seed-level test can show, and the adaptive-seed looks."""
from __future__ import annotations

from harness.outputs.formatting import md_table, num, pct, pvalue, units


def effects_section(summary: dict) -> list[str]:
    """Effect sizes and the remaining tests, one row per non-empty cell."""
    rows = []
    for c in summary["cells"]:
        if c["empty"]:
            continue
        t, e = c["tests"], c["effects"]
        rel = c["relative_pct"]
        rows.append([c["variant"], c["segment"], c["metric"], num(e["cohens_dz"], 3, signed=True),
                     num(e["rank_biserial"], 3, signed=True),
                     rel_ci(rel),
                     pvalue(t["sign"]["p"]), pvalue(t["randomization"]["p"]), pvalue(t["seed_level"]["p"])])
    if not rows:
        return []
    return ["### Effect sizes and further tests", "",
            md_table(["variant", "segment", "metric", "Cohen's d_z", "rank-biserial", "rel. delta CI",
                      "sign test p", "randomization p", "seed-level sign p"], rows), ""]


def rel_ci(rel: dict | None) -> str:
    """``[-12.30, +4.10] %``; a bound missing beside a finite one is infinite (resamples with a zero
    baseline mean: :func:`harness.stats.relative_bootstrap`), so ``[+200.00, +inf] %``."""
    if rel is None or rel["low"] is None and rel["high"] is None:
        return "n/a"
    low = "-inf" if rel["low"] is None else f"{rel['low']:+.2f}"
    high = "+inf" if rel["high"] is None else f"{rel['high']:+.2f}"
    return f"[{low}, {high}] %"


def noise_section(summary: dict, figures: dict) -> list[str]:
    """The baseline against itself on consecutive seed pairs (A/A), then :func:`seed_floor_lines`."""
    rows = []
    for c in summary["cells"]:
        nf = None if c["empty"] else c["noise_floor"]
        if nf is None:
            continue
        rows.append([c["variant"], c["segment"], c["metric"], num(c["delta"]["estimate"], signed=True),
                     num(nf["max_abs_mean"]), num(nf["seed_sd"]),
                     f"{100 * nf['share_ci_excludes_0']:.0f} % of {len(nf['pairs'])}"])
    if not rows:
        return ["## Seed-noise floor", "", "Only one seed: seed variance was not measured.", ""]
    out = ["## Seed-noise floor", "",
           "The baseline against itself on consecutive seed pairs (A/A). An effect smaller than this is "
           "indistinguishable from retraining with another seed.", "",
           md_table(["variant", "segment", "metric", "effect (delta)", "max A/A |delta|", "seed SD of baseline mean",
                     f"A/A pairs whose {units(summary)[0]}-only CI excludes 0"], rows), ""]
    return out + seed_floor_lines(summary)


def seed_floor_lines(summary: dict) -> list[str]:
    """What a seed-level test can and cannot show with this many seeds (asv's floor rule)."""
    alpha = summary["hypothesis"]["alpha"]
    for c in summary["cells"]:
        if c["empty"] or "seed_level" not in c["tests"]:
            continue
        t = c["tests"]["seed_level"]
        floor = t["min_attainable_p"]
        if floor is None:
            return []
        line = (f"Seed-level exact sign test over {t['n']} seed means: its smallest attainable p is {floor:.4g}")
        if floor > alpha:
            line += (f", above alpha = {alpha:g}: with {t['n']} seeds no seed-level test can be significant, so a "
                     "seed-level 'no effect' would be UNDERPOWERED, not evidence; the verdict uses the seed x "
                     f"{units(summary)[0]} interval instead. Add seeds for seed-level evidence.")
        else:
            line += "."
        return [line, ""]
    return []


def sequential_section(summary: dict) -> list[str]:
    """The adaptive-seed plan and each look's verdict (nothing for fixed seeds)."""
    seq = summary.get("sequential")
    if not seq:
        return []
    plan = seq["plan"]
    rows = [[str(i + 1), str(k["n_seeds"]), f"{k['alpha']:.3g}", pct(round(1 - k["alpha"], 6)), k["status"]]
            for i, k in enumerate(seq["looks"])]
    return ["## Adaptive seeds", "",
            f"Seeds were trained in rounds ({plan['start']}, then +{plan['step']}, at most {plan['max']}) and the "
            f"verdict was checked after each; {seq['spending']} alpha spending keeps its error rate at "
            f"alpha = {seq['alpha']:g} although the run may stop at any look (so each look's interval is wider than "
            f"the fixed design's). Stopped: {seq['stopped']}.", "",
            md_table(["look", "seeds", "nominal alpha", "interval", "verdict"], rows), ""]


def disparity_section(summary: dict) -> list[str]:
    """The no_disparity cells: each group's mean delta and the interval of their difference."""
    cells = [c for c in summary["cells"] if c.get("disparity")]
    if not cells:
        return []
    level = pct(round(1 - summary["hypothesis"]["alpha"], 6))
    rows = []
    for c in cells:
        d = c["disparity"]
        a, b = d["groups"]
        diff = d["difference"]
        rows.append([f"`{c['variant']}`", f"`{c['segment']}`", f"{d['attribute']}={a} ({d['n_users'][0]})",
                     f"{d['attribute']}={b} ({d['n_users'][1]})", f"{num(d['mean_delta'][0])} / {num(d['mean_delta'][1])}",
                     f"{num(diff['estimate'])} [{num(diff['low'])}, {num(diff['high'])}]", str(d["left_out"])])
    return ["## Disparity between user groups", "",
            f"The {c['metric']} delta (treatment - baseline) in each group and the {level} seed x user interval of "
            "their difference (A - B): per seed the difference of the two groups' mean deltas, its seed variance "
            "plus each group's user variance (harness.stats.disparity). Users in neither group are left out.", "",
            md_table(["positives", "segment", "group A (users)", "group B (users)", "delta A / B", "A - B [CI]",
                      "left out"], rows), ""]
