"""The report's sections on how the run was set up: tuning on the validation window, approximate
search (ANN), the data and split (with the run's notes, repeats collapsed), and provenance."""
from __future__ import annotations

from harness.design import leakage
from harness.outputs.formatting import VALIDATION_PCT, interval, md_table, num, pct, units
from harness.outputs.repeats import collapse


def tuning_section(summary: dict) -> list[str]:
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
                curve = " ".join(num(x) for x in r["best_so_far"])
                rows.append([f"`{var}`", f"`{arm}`", seed, t["sampler"], per, str(t["n_trials"]),
                             num(r["best_so_far"][-1] if r["best_so_far"] else None), num(r.get("test")), params,
                             curve])
    per_item = " per item (each item with a validation positive ranks the users with earlier training history)" \
        if units(summary)[1] == "items" else ""
    return ["## Tuning on the validation window", "",
            f"Parameters were chosen on each user's last {VALIDATION_PCT} of training interactions (never the test window) "
            f"by the validation primary metric{per_item}, then the arm was refitted on the whole training window. "
            "`grid` is exhaustive; `tpe` / `random` are optuna samplers seeded from the seed, so a rerun "
            "picks the same parameters. Trials run one after another inside each (arm, seed) task. "
            "Tuning curve: best validation score after each trial. \"test\": the refitted arm's mean of the same "
            "metric on the test window (validation and test windows differ in time and users, so the two are "
            "comparable in trend, not equal).", "",
            md_table(["positives", "arm", "seed", "sampler", "tuned", "trials", "best validation", "test", "chosen",
                      "tuning curve"], rows), ""]


def ann_section(summary: dict) -> list[str]:
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
            deltas = "; ".join(f"{m} {num(d['estimate'], signed=True)} {interval(d)}" for m, d in a["delta"].items())
            rows.append([f"`{var}`", f"`{arm}`", params, str(a["n_users"]), str(len(a["seeds"])),
                         f"{num(a['recall']['mean'], 3)} (seeds {' '.join(num(x, 3) for x in a['recall']['seed_means'])})",
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
            md_table(["positives", "arm", "index", us, "seeds", "recall@k (mean)",
                      "exact - ANN [interval]"], rows), ""] + [x for t in twin_lines for x in (t, "")]


def _param(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def data_section(summary: dict) -> list[str]:
    """The data, split, positives and segments, then the run's notes (the warnings stand under the verdict)."""
    d = summary["data"]
    lines = ["## Data and split", "", f"- dataset `{summary['dataset']}`: {d['n_users']} users, {d['n_items']} items, "
             f"{d['n_events']} interactions; {d['split']}", f"- item content: {d.get('content') or 'none'}"]
    if d.get("folds"):
        lines.append(f"- rolling-origin folds: the split, positives, segments and leakage audit below describe the last "
                     f"fold ({d['folds'][-1]['fold']}); every fold's are in summary.json `data.folds`")
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
    if d.get("leakage"):
        lines += [""] + leakage.lines(d["leakage"]) + [""]
    for n in collapse(summary.get("notes", [])):
        lines.append(f"- note: {n}")
    return lines + [""]


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


def provenance_section(summary: dict) -> list[str]:
    """Run id, versions and BLAS, and how to recompute every number from ``per_user.parquet``."""
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
