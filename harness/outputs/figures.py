"""The report's PNG figures (forest plot, per-seed deltas, per-unit delta distribution, learning curves),
drawn from summary.json and the per-unit table."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.outputs.formatting import units
from harness.outputs.report_folds import decided_cells


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
    if decided_cells(summary):
        made["folds"] = folds_figure(summary, out_dir, plt)
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


def folds_figure(summary: dict, out_dir: Path, plt) -> str:
    """The per-fold forest figure of a rolling-origin run: for every decision's cell, each fold's mean delta
    with its seed x unit interval, and the combined interval below them; margins dashed. Returns its path."""
    h = summary["hypothesis"]
    pairs = decided_cells(summary)
    n_rows = sum(len(c["folds"]["per_fold"]) + 2 for _, c in pairs)
    fig, ax = plt.subplots(figsize=(7, 0.35 * n_rows + 1.5))
    y, ticks, labels = n_rows, [], []
    for vv, cell in pairs:
        for pf in cell["folds"]["per_fold"]:
            y -= 1
            d = pf["delta"]
            if d is not None:
                ax.errorbar(d["estimate"], y, xerr=[[d["estimate"] - d["low"]], [d["high"] - d["estimate"]]],
                            fmt="o", color="C0", capsize=3)
            ticks.append(y)
            labels.append(pf["fold"])
        y -= 1
        d = cell["delta"]
        ax.errorbar(d["estimate"], y, xerr=[[d["estimate"] - d["low"]], [d["high"] - d["estimate"]]],
                    fmt="D", color="C3", capsize=4)
        ticks.append(y)
        labels.append(f"combined: {vv['variant']} / {vv['segment']}")
        y -= 1
    ax.axvline(0, color="k", lw=0.8)
    for m in {d["margin"] for d in h["decisions"] if d["margin"]}:
        for x in (m, -m):
            ax.axvline(x, color="C3", ls="--", lw=0.8)
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.set_xlabel(f"delta {pairs[0][1]['metric']} ({h['treatment']} - {h['baseline']}); dots: folds (seed x "
                  f"{units(summary)[0]} CI), diamonds: combined", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "folds.png", dpi=110)
    plt.close(fig)
    return "figures/folds.png"
