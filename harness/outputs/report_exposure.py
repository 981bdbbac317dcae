"""The report's catalogue-exposure section (summary.json ``exposure`` and ``group_exposure``): one value per
(arm, seed), intervals over seeds."""
from __future__ import annotations

from harness.outputs.formatting import md_table, num, pct

_WHAT = {"gini": "Gini of item exposure", "entropy": "entropy of exposure (bits)",
         "poplift": "popularity lift"}


def _iv(c: dict | None, digits: int = 4) -> str:
    if not c:
        return ""
    iv = "" if c.get("low") is None else f" [{num(c['low'], digits)}, {num(c['high'], digits)}]"
    return f"{num(c['mean'], digits)}{iv}"


def exposure_section(summary: dict) -> list[str]:
    """Gini / entropy / popularity lift of each arm's top-k over all evaluated users, mean over seeds with a
    t interval over seeds (users are not the unit: each seed gives one value), the treatment - baseline
    difference with its interval, and the group exposure shares when the hypothesis names ``exposure_groups``."""
    exp = summary.get("exposure")
    if not exp:
        return []
    rows, level = [], None
    for var, arms in exp.items():
        for arm, metrics in arms.items():
            for name, c in metrics.items():
                level = c.get("confidence_level", level)
                seeds = " ".join(num(v, 4) for v in c["seeds"].values())
                rows.append([f"`{var}`", f"`{arm}`", f"`{name}`", _iv(c), seeds, _iv(c.get("delta"))])
    lvl = pct(level) if level is not None else ""
    lines = ["## Catalogue exposure", "",
             "Each seed's top-k lists of all evaluated users give one value per arm: Gini of item exposure over every "
             "catalogue item (items in no list count as zero exposure; 0 = equal, near 1 = concentrated), Shannon "
             "entropy of the exposure distribution in bits, and popularity lift (GAP_r - GAP_p) / GAP_p, the mean "
             "training popularity of recommended items over that of the users' training histories, minus 1 "
             "(Abdollahpouri et al. 2021; > 0: lists more popular than what users consumed). "
             f"The {lvl} interval is a t interval over seeds on k - 1 df: the seed is the unit here, not the user, "
             "so with few seeds it is wide; the treatment - baseline column pairs the arms by seed. These are "
             "descriptive: the verdict rests on the per-user metrics above.", "",
             md_table(["positives", "arm", "metric", f"mean over seeds [{lvl} interval]", "per seed",
                       f"treatment - baseline [{lvl} interval]"], rows), ""]
    return lines + group_section(summary)


def group_section(summary: dict) -> list[str]:
    """Each item group's share of rank-discounted exposure per arm and the treatment - baseline difference."""
    ge = summary.get("group_exposure")
    if not ge:
        return []
    lvl = pct(ge["confidence_level"])
    delta = {(d["variant"], d["metric"], d["group"]): d for d in ge["deltas"]}
    by: dict = {}
    for r in ge["rows"]:
        by.setdefault((r["variant"], r["metric"], r["group"]), {})[r["arm"]] = r
    base, treat = summary["hypothesis"]["baseline"], summary["hypothesis"]["treatment"]
    rows = [[f"`{var}`", f"`{name}`", f"`{g}`", _iv(arms.get(base)), _iv(arms.get(treat)),
             _iv(delta.get((var, name, g)))] for (var, name, g), arms in by.items()]
    return ["### Exposure by item group", "",
            f"Item groups from `{ge['column']}`: {ge['description']}. Exposure is rank-discounted, each list position "
            "r weighted 1 / log2(r + 1), the expected exposure of a user who reads down the list with the DCG browsing "
            "model (Diaz et al. 2020, \"Evaluating stochastic rankings with expected exposure\", CIKM); a group's share "
            f"is its part of the total over all evaluated users' top-k. Mean over seeds [{lvl} t interval over seeds].",
            "", md_table(["positives", "metric", "group", f"`{base}`", f"`{treat}`", "treatment - baseline"], rows), ""]
