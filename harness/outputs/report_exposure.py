"""The report's catalogue-exposure section (summary.json ``exposure``): one value per (arm, seed)."""
from __future__ import annotations

from harness.outputs.formatting import md_table, num, pct

_WHAT = {"gini": "Gini of item exposure", "entropy": "entropy of exposure (bits)",
         "poplift": "popularity lift"}


def exposure_section(summary: dict) -> list[str]:
    """Gini / entropy / popularity lift of each arm's top-k over all evaluated users, mean over seeds with a
    t interval over seeds (users are not the unit: each seed gives one value)."""
    exp = summary.get("exposure")
    if not exp:
        return []
    rows, level = [], None
    for var, arms in exp.items():
        for arm, metrics in arms.items():
            for name, c in metrics.items():
                level = c.get("confidence_level", level)
                iv = "" if c.get("low") is None else f" [{num(c['low'], 4)}, {num(c['high'], 4)}]"
                seeds = " ".join(num(v, 4) for v in c["seeds"].values())
                rows.append([f"`{var}`", f"`{arm}`", f"`{name}`", f"{num(c['mean'], 4)}{iv}", seeds])
    lvl = pct(level) if level is not None else ""
    return ["## Catalogue exposure", "",
            "Each seed's top-k lists of all evaluated users give one value per arm: Gini of item exposure over every "
            "catalogue item (items in no list count as zero exposure; 0 = equal, near 1 = concentrated), Shannon "
            "entropy of the exposure distribution in bits, and popularity lift (GAP_r - GAP_p) / GAP_p, the mean "
            "training popularity of recommended items over that of the users' training histories, minus 1 "
            "(Abdollahpouri et al. 2021; > 0: lists more popular than what users consumed). "
            f"The {lvl} interval is a t interval over seeds on k - 1 df: the seed is the unit here, not the user, "
            "so with few seeds it is wide; there is no paired test and no verdict on these.", "",
            md_table(["positives", "arm", "metric", f"mean over seeds [{lvl} interval]", "per seed"], rows), ""]
