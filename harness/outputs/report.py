"""The markdown verdict report and its figures, rendered from summary.json (so they always agree)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.design.validation import CURVE_UNITS, VALIDATION_SHARE

_SHARE = f"{100 * VALIDATION_SHARE:g} %"


def _f(x, digits: int = 4, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _p(x) -> str:
    if x is None:
        return "n/a"
    if x == 0:
        return "<1e-300"  # underflow: printing 0 would claim certainty
    return f"{x:.2e}" if x < 1e-3 else f"{x:.3f}"


def _ci(d) -> str:
    return "n/a" if d is None else f"[{_f(d['low'], signed=True)}, {_f(d['high'], signed=True)}]"


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
            "baseline": _f(c["mean_baseline"]), "treatment": _f(c["mean_treatment"]),
            "delta": _f(c["delta"]["estimate"], signed=True),
            "rel": "n/a" if (c["relative_pct"] or {}).get("estimate") is None
            else f"{c['relative_pct']['estimate']:+.2f} %",
            "ci": _ci(c["delta"]), "ci_user": _ci(c["delta_user_only"]),
            "p": f"{_p(c['p_primary'])} / {_p(c['adjusted_p']['primary'])}",
            "wilcoxon": f"{_p(t['wilcoxon']['p'])} / {_p(c['adjusted_p']['wilcoxon'])}" if t["wilcoxon"]["defined"]
            else "undefined (all deltas 0)",
            "t": f"{_p(t['paired_t']['p'])} / {_p(c['adjusted_p']['paired_t'])}",
            "zeros": f"{100 * t['wilcoxon']['zero_share']:.0f} %",
            "seeds": f"{c['seeds_agree'][0]}/{c['seeds_agree'][1]}",
            "mde": _f(c["mde"]),
        })
    return rows


_COLS = [("segment", "segment"), ("metric", "metric"), ("users", "{units}"), ("baseline", "{base}"),
         ("treatment", "{treat}"), ("delta", "delta"), ("rel", "rel. delta"), ("ci", "95 % CI (seed x {unit})"),
         ("ci_user", "CI ({units} only)"), ("p", "p raw / adj"), ("wilcoxon", "Wilcoxon p raw / adj"),
         ("t", "t-test p raw / adj"), ("zeros", "zero deltas"), ("seeds", "seeds agree"), ("mde", "MDE (80 %)")]


def units(summary: dict) -> tuple[str, str]:
    """(singular, plural) name of the units of analysis: ``("user", "users")`` or ``("item", "items")``."""
    plural = summary["hypothesis"].get("unit", "users")
    return plural[:-1], plural


def pct(level: float) -> str:
    """A confidence level as a percentage: ``95 %``, ``99.8 %``, ``99.998 %``."""
    return f"{100 * level:.6g} %" if round(100 * level) != 100 * level else f"{100 * level:.0f} %"


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


def render(summary: dict, figures: dict[str, str]) -> str:
    """report.md text; ``figures`` maps a figure name to its path relative to the run folder."""
    h = summary["hypothesis"]
    v = summary["verdict"]
    u, us = units(summary)
    level = pct(round(1 - h["alpha"], 6))
    rules = "; ".join(f"`{d['rule']}(margin={d['margin']:g})` in segment `{d['segment']}`" for d in h["decisions"])
    lines = [f"# {h['id']}: {v['status']}", "",
             f"**Verdict: {v['status']}** - {v['reason']}.", "",
             f"**Claim.** {h['claim']}", "",
             f"Baseline `{h['baseline']}` vs treatment `{h['treatment']}` on `{summary['dataset']}`; "
             f"primary metric `{h['primary']}`; decision {rules}, on the {level} seed x {u} interval "
             f"of the mean per-{u} delta (treatment - baseline).", ""]
    if us == "items":
        lines += [f"Units of analysis: **items** (direction `{h.get('direction')}`): each evaluated item ranks "
                  "the users with training history (users seen with it in training masked); every statistic "
                  "below is paired over items x seeds.", ""]
    for vv in v["variants"]:
        lines.append(f"- positives `{vv['variant']}`, segment `{vv['segment']}`: **{vv['status']}** - {vv['reason']}")
    lines.append("")
    lines += _sequential_section(summary)
    variants = list(dict.fromkeys(c["variant"] for c in summary["cells"]))
    for var in variants:
        lines += [f"## Positives: `{var}`", ""]
        rows = table_rows(summary, var)
        header = [label.format(base=h["baseline"], treat=h["treatment"], unit=u, units=us).replace("95 %", level) for _, label in _COLS]
        lines.append(_md_table(header, [[r.get(k, "-") for k, _ in _COLS] for r in rows]))
        cov = summary.get("coverage", {}).get(var)
        if cov:
            parts = "; ".join(f"`{arm}` " + ", ".join(f"{k} {x:.3f}" for k, x in d.items()) for arm, d in cov.items())
            what = "User coverage (share of candidate users in some item's top-k" if us == "items" \
                else "Catalogue coverage ("
            lines += ["", f"{what}{'; ' if us == 'items' else ''}mean over seeds): {parts}."]
        ref = summary.get("reference", {}).get(var)
        if ref:
            parts = ", ".join(f"{s} {_f(m)}" for s, m in ref.items())
            ref_name = "users ranked by training activity" if us == "items" else "popularity"
            lines += ["", f"Reference: {ref_name} {h['primary']} = {parts} (a trained arm below this is suspect)."]
        lines.append("")
    lines += [f"p-values: `p` from the seed x {u} interval's estimate/SE; Wilcoxon ({_wilcoxon_method(summary)}) "
              f"and paired t on each {u}'s seed-averaged delta; adjusted with `{h['correction']}` across the "
              f"accuracy-metric cells (novelty/avgpop cells are a separate family). Wilcoxon tests a shift of the median, not the mean delta; "
              f"the verdict rests on the seed x {u} interval.", ""]
    lines += _effects_section(summary)
    if "forest" in figures:
        lines += [f"![delta with CIs per segment]({figures['forest']})", ""]
    lines += _noise_section(summary, figures)
    lines += _tuning_section(summary)
    lines += _ann_section(summary)
    lines += _data_section(summary)
    for name, label in (("seeds", "per-seed deltas"), ("distribution", f"per-{u} deltas"),
                        ("curves", f"learning curves on the validation window inside training (last {_SHARE} of each user's "
                                   f"training interactions; mean over up to {CURVE_UNITS} {us}, per epoch)")):
        if name in figures:
            lines += [f"![{label}]({figures[name]})", ""]
    lines += _provenance_section(summary)
    return "\n".join(lines) + "\n"


def _effects_section(summary: dict) -> list[str]:
    """Effect sizes and the remaining tests, one row per non-empty cell."""
    rows = []
    for c in summary["cells"]:
        if c["empty"]:
            continue
        t, e = c["tests"], c["effects"]
        rel = c["relative_pct"]
        rows.append([c["variant"], c["segment"], c["metric"], _f(e["cohens_dz"], 3, signed=True),
                     _f(e["rank_biserial"], 3, signed=True),
                     _rel_ci(rel),
                     _p(t["sign"]["p"]), _p(t["randomization"]["p"]), _p(t["seed_level"]["p"])])
    if not rows:
        return []
    return ["### Effect sizes and further tests", "",
            _md_table(["variant", "segment", "metric", "Cohen's d_z", "rank-biserial", "rel. delta CI",
                       "sign test p", "randomization p", "seed-level sign p"], rows), ""]


def _rel_ci(rel: dict | None) -> str:
    """``[-12.30, +4.10] %``; a bound missing beside a finite one is infinite (resamples with a zero
    baseline mean: :func:`harness.stats.relative_bootstrap`), so ``[+200.00, +inf] %``."""
    if rel is None or rel["low"] is None and rel["high"] is None:
        return "n/a"
    low = "-inf" if rel["low"] is None else f"{rel['low']:+.2f}"
    high = "+inf" if rel["high"] is None else f"{rel['high']:+.2f}"
    return f"[{low}, {high}] %"


def _wilcoxon_method(summary: dict) -> str:
    for c in summary["cells"]:
        if not c["empty"]:
            return c["tests"]["wilcoxon"]["method"]
    return "n/a"


def _noise_section(summary: dict, figures: dict) -> list[str]:
    rows = []
    for c in summary["cells"]:
        nf = None if c["empty"] else c["noise_floor"]
        if nf is None:
            continue
        rows.append([c["variant"], c["segment"], c["metric"], _f(c["delta"]["estimate"], signed=True),
                     _f(nf["max_abs_mean"]), _f(nf["seed_sd"]),
                     f"{100 * nf['share_ci_excludes_0']:.0f} % of {len(nf['pairs'])}"])
    if not rows:
        return ["## Seed-noise floor", "", "Only one seed: seed variance was not measured.", ""]
    out = ["## Seed-noise floor", "",
           "The baseline against itself on consecutive seed pairs (A/A). An effect smaller than this is "
           "indistinguishable from retraining with another seed.", "",
           _md_table(["variant", "segment", "metric", "effect (delta)", "max A/A |delta|", "seed SD of baseline mean",
                      f"A/A pairs whose {units(summary)[0]}-only CI excludes 0"], rows), ""]
    return out + _seed_floor_lines(summary)


def _seed_floor_lines(summary: dict) -> list[str]:
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


def _segment_part(name: str, n: int, info: dict | None, unit: str = "users") -> str:
    """``dense 270 users (28.6 %; 31.0 % of active users, asked 30 %, threshold 61, 3 tied, ties above)``."""
    if not info:
        return f"{name} {n}"
    out = f"{name} {n} {unit} ({100 * info['share']:.1f} % of evaluated"
    if info.get("requested_share") is not None:
        out += (f"; {100 * info['realised_share']:.1f} % of active users, asked {100 * info['requested_share']:.0f} %, "
                f"threshold {info['threshold']:g} training positives, {info['n_tied']} tied, ties {info['ties']}"
                + (" - WARNING: far from the requested share" if info.get("warning") else ""))
    return out + ")"


def _sequential_section(summary: dict) -> list[str]:
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
            _md_table(["look", "seeds", "nominal alpha", "interval", "verdict"], rows), ""]


def _tuning_section(summary: dict) -> list[str]:
    """The searches on the validation window: chosen parameters and the tuning curve per seed."""
    tuning = summary.get("tuning")
    if not tuning:
        return []
    rows = []
    for var, arms in tuning.items():
        for arm, t in arms.items():
            per = "per seed" if t["per"] == "seed" else "once (seed 0), reused"
            for seed, r in t["seeds"].items():
                params = ", ".join(f"{k}={_param(v)}" for k, v in r["params"].items())
                curve = " ".join(_f(x) for x in r["best_so_far"])
                rows.append([f"`{var}`", f"`{arm}`", seed, t["sampler"], per, str(t["n_trials"]),
                             _f(r["best_so_far"][-1] if r["best_so_far"] else None), _f(r.get("test")), params,
                             curve])
    per_item = " per item (each item with a validation positive ranks the users with earlier training history)" \
        if units(summary)[1] == "items" else ""
    return ["## Tuning on the validation window", "",
            f"Parameters were chosen on each user's last {_SHARE} of training interactions (never the test window) "
            f"by the validation primary metric{per_item}, then the arm was refitted on the whole training window. "
            "`grid` is exhaustive; `tpe` / `random` are optuna samplers seeded from the seed, so a rerun "
            "picks the same parameters. Trials run one after another inside each (arm, seed) task. "
            "Tuning curve: best validation score after each trial. \"test\": the refitted arm's mean of the same "
            "metric on the test window (validation and test windows differ in time and users, so the two are "
            "comparable in trend, not equal).", "",
            _md_table(["positives", "arm", "seed", "sampler", "tuned", "trials", "best validation", "test", "chosen",
                       "tuning curve"], rows), ""]


def _ann_section(summary: dict) -> list[str]:
    """Approximate search: recall@k against exact search and exact - ANN per metric, on a sample of units."""
    ann = summary.get("ann")
    if not ann:
        return []
    u, us = units(summary)
    other = "users" if us == "items" else "items"
    rows = []
    for var, arms in ann.items():
        for arm, a in arms.items():
            params = ", ".join(f"{k}={v}" for k, v in a["params"].items())
            deltas = "; ".join(f"{m} {_f(d['estimate'], signed=True)} {_ci(d)}" for m, d in a["delta"].items())
            rows.append([f"`{var}`", f"`{arm}`", params, str(a["n_users"]), str(len(a["seeds"])),
                         f"{_f(a['recall']['mean'], 3)} (seeds {' '.join(_f(x, 3) for x in a['recall']['seed_means'])})",
                         deltas])
    level = pct(next(iter(next(iter(ann.values())).values()))["delta"][summary["hypothesis"]["primary"]]["level"])
    twins = {(arm, a["exact_twin"]) for arms in ann.values() for arm, a in arms.items() if a.get("exact_twin")}
    twin_lines = [f"`{arm}` is `{exact}` with `ann=` (same model, same seeds): the hypothesis' own delta above "
                  f"compares them on every evaluated {u}; this table adds recall@k on the sample." for arm, exact in sorted(twins)]
    return ["## Approximate search (ANN)", "",
            "Arms with `ann=` were ranked through an approximate index instead of exact scoring. On a sample of "
            f"evaluated {us} (drawn with seed 0, the same {us} under every seed), each seed's ANN top-k {other} "
            f"per {u} are compared with exact search: recall@k = share of the exact top-k the ANN list holds (k = the "
            f"largest metric k), and the metric difference exact - ANN with its {level} seed x {u} interval (positive: "
            f"the approximation loses that much). {other.capitalize()} seen with the {u} in training are excluded "
            "before ranking in both.", "",
            _md_table(["positives", "arm", "index", us, "seeds", "recall@k (mean)",
                       "exact - ANN [interval]"], rows), ""] + [x for t in twin_lines for x in (t, "")]


def _param(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _data_section(summary: dict) -> list[str]:
    d = summary["data"]
    lines = ["## Data and split", "", f"- dataset `{summary['dataset']}`: {d['n_users']} users, {d['n_items']} items, "
             f"{d['n_events']} interactions; {d['split']}", f"- item content: {d.get('content') or 'none'}"]
    if d.get("split_counts"):
        lines.append("- split: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["split_counts"].items()))
    for var, counts in d["variants"].items():
        parts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
        lines.append(f"- `{var}`: {parts}")
    for var, segs in d["segments"].items():
        info = d.get("segment_info", {}).get(var, {})
        parts = ", ".join(_segment_part(s, n, info.get(s), units(summary)[1]) for s, n in segs.items())
        lines.append(f"- segments (`{var}`): {parts}")
    if d.get("counts"):
        lines.append("- data quality: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["counts"].items()))
    for n in summary.get("notes", []):
        lines.append(f"- note: {n}")
    return lines + [""]


def _provenance_section(summary: dict) -> list[str]:
    p = summary["provenance"]
    u = units(summary)[0]
    versions = ", ".join(f"{k} {v}" for k, v in p.get("versions", {}).items())
    return ["## Provenance and how to recompute", "",
            f"- run id `{summary['run_id']}`; harness {p.get('harness')}; git commit `{p.get('git_commit')}`; "
            f"data fingerprint `{p.get('data_fingerprint')}`",
            f"- versions: {versions}",
            f"- BLAS: {_blas_line(p)} (float32 scores may differ in the last bits on another CPU or BLAS; "
            "same machine and versions reproduce every number exactly)",
            "- resolved spec: `provenance.json`",
            f"- every number above is recomputable from `per_user.parquet` (one row per variant, arm, seed, {u}"
            + ("; `user_index` holds the item, as does `item_index`" if u == "item" else "") + "): filter `variant` and "
            f"`seg_<segment>`, pivot `seed x {u}_index` for each arm, subtract baseline "
            "from treatment; e.g. `python -c \"import pandas as pd; d=pd.read_parquet('per_user.parquet'); "
            f"print(d[d.seg_{summary['hypothesis']['target']}].groupby(['variant','arm'])"
            f"['{summary['hypothesis']['primary']}'].mean())\"`", ""]


def _blas_line(p: dict) -> str:
    libs = [f"{b.get('internal_api', '?')} {b.get('version', '?')} ({b.get('architecture', 'core type unknown')} kernels)"
            for b in p.get("blas", [])]
    forced = p.get("blas_env", {}).get("OPENBLAS_CORETYPE")
    return (", ".join(libs) or "not recorded") + (f", OPENBLAS_CORETYPE={forced}" if forced else "")


def figures(summary: dict, per_user: pd.DataFrame, out_dir: Path) -> dict[str, str]:
    """Write the PNG figures into ``out_dir``; return name -> path relative to the run folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    h = summary["hypothesis"]
    prim = [c for c in summary["cells"] if c["metric"] == h["primary"] and not c["empty"]]
    made = {}
    if prim:
        fig, ax = plt.subplots(figsize=(7, 0.6 * len(prim) + 1.5))
        y = np.arange(len(prim))[::-1]
        for yi, c in zip(y, prim):
            ax.errorbar(c["delta"]["estimate"], yi, xerr=[[c["delta"]["estimate"] - c["delta"]["low"]],
                                                          [c["delta"]["high"] - c["delta"]["estimate"]]],
                        fmt="o", color="C0", capsize=4, label=f"seed x {units(summary)[0]} CI" if yi == y[0] else None)
            u = c["delta_user_only"]
            ax.errorbar(c["delta"]["estimate"], yi - 0.2, xerr=[[u["estimate"] - u["low"]], [u["high"] - u["estimate"]]],
                        fmt="none", color="C1", capsize=2, label=f"{units(summary)[1]}-only CI" if yi == y[0] else None)
        ax.axvline(0, color="k", lw=0.8)
        for m in {d["margin"] for d in h["decisions"] if d["margin"]}:
            for x in (m, -m):
                ax.axvline(x, color="C3", ls="--", lw=0.8)
        ax.set_yticks(y, [f"{c['variant']}\n{c['segment']}" for c in prim], fontsize=8)
        ax.set_xlabel(f"delta {h['primary']} ({h['treatment']} - {h['baseline']})")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "forest.png", dpi=110)
        plt.close(fig)
        made["forest"] = "figures/forest.png"

        fig, ax = plt.subplots(figsize=(7, 3.5))
        for i, c in enumerate(prim):
            d = np.array(c["seed_means_treatment"]) - np.array(c["seed_means_baseline"])
            ax.plot(np.full(len(d), i), d, "o", alpha=0.7)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(prim)), [f"{c['variant']}\n{c['segment']}" for c in prim], fontsize=7)
        ax.set_ylabel(f"per-seed delta {h['primary']}")
        fig.tight_layout()
        fig.savefig(out_dir / "seeds.png", dpi=110)
        plt.close(fig)
        made["seeds"] = "figures/seeds.png"

        fig, ax = plt.subplots(figsize=(7, 3.5))
        seg = f"seg_{h['target']}"
        for var in dict.fromkeys(c["variant"] for c in prim):
            d = per_user[(per_user["variant"] == var) & per_user[seg]]
            if d.empty:
                continue
            wide = d.pivot_table(index="user_index", columns="arm", values=h["primary"], aggfunc="mean")
            delta = (wide[h["treatment"]] - wide[h["baseline"]]).to_numpy()
            ax.hist(delta, bins=60, alpha=0.5, label=f"{var} (zero: {100 * np.mean(delta == 0):.0f} %)")
        ax.set_xlabel(f"per-{units(summary)[0]} delta {h['primary']} (seed-averaged), segment {h['target']}")
        ax.set_ylabel(units(summary)[1])
        ax.set_yscale("log")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "distribution.png", dpi=110)
        plt.close(fig)
        made["distribution"] = "figures/distribution.png"
    if summary.get("curves"):
        variants = list(summary["curves"])
        fig, axes = plt.subplots(1, len(variants), figsize=(4.5 * len(variants), 3.5), squeeze=False)
        for ax, var in zip(axes[0], variants):
            for j, (arm, c) in enumerate(summary["curves"][var].items()):
                for s in c["seeds"].values():
                    ax.plot(range(1, len(s) + 1), s, color=f"C{j}", alpha=0.25, lw=0.8)
                ax.plot(range(1, len(c["mean"]) + 1), c["mean"], color=f"C{j}", lw=2, label=arm)
                ax.set_ylabel(c["metric"])
            ax.set_xlabel("epoch")
            ax.set_title(var, fontsize=9)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "learning_curves.png", dpi=110)
        plt.close(fig)
        made["curves"] = "figures/learning_curves.png"
    return made


def terminal(summary: dict) -> str:
    """The verdict and one compact table per variant, for ``python -m harness show``."""
    h, v = summary["hypothesis"], summary["verdict"]
    out = [f"{h['id']}: {v['status']} - {v['reason']}", f"claim: {h['claim']}", f"run: {summary['run_id']}"]
    if units(summary)[1] == "items":
        out.append(f"units: items (direction {h.get('direction')}; deltas per item, seed x item interval)")
    keys = ["segment", "metric", "users", "baseline", "treatment", "delta", "ci", "p", "wilcoxon", "seeds"]
    for var in dict.fromkeys(c["variant"] for c in summary["cells"]):
        rows = table_rows(summary, var)
        out += ["", f"positives {var}  ({h['baseline']} -> {h['treatment']})"]
        table = [[units(summary)[1] if k == "users" else k for k in keys]] + \
            [[str(r.get(k, "-")) for k in keys] for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(keys))]
        out += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in table]
    return "\n".join(out)
