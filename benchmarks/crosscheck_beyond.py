"""Cross-check: the beyond-accuracy metrics against reference libraries, on the same random cases.

    python benchmarks/crosscheck_beyond.py [--cases 3] [--cache-dir ~/.cache/harness-xcheck] [--no-install]

The reference libraries pin other numpy/pandas versions than the project (RecTools: numpy < 2), so
each lives in its own venv under ``--cache-dir`` (``venv-rectools``, ``venv-lenskit``,
``venv-recommenders``), created and pip-installed on the first run and reused after; they never enter
the project's environment. This script (project venv) draws deterministic cases (top-k lists with -1
padding, item vectors, 0/1 categories, train and test interactions), computes the harness' metrics,
writes the cases to a temp dir, runs ``benchmarks/crosscheck_ref.py`` in each reference venv
(subprocess) and prints one table: metric, reference, cases, max abs difference, verdict. Agreement
means max abs difference <= 1e-9 on every value both sides define; where the definitions differ the
row says how, and a companion row re-implements the reference's definition in numpy to show that the
number is the definition, not an error. Metrics with no implementation in these libraries (calibration,
APLT, group exposure share) are checked against an independent pure-Python loop (and scipy's KL) here and
against hand-computed cases in ``tests/test_beyond_metrics.py``.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp
from scipy import special, stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.evaluation import beyond as B  # noqa: E402
from harness.evaluation import exposure as E  # noqa: E402
from harness.evaluation import metrics as M  # noqa: E402
from harness.evaluation.topk import hit_matrix  # noqa: E402
from harness.evaluation.users import _padded_popularity  # noqa: E402

TOL = 1e-9
DRIVER = Path(__file__).resolve().with_name("crosscheck_ref.py")
VENVS = {"rectools": ["rectools"], "lenskit": ["lenskit"], "recommenders": ["recommenders"]}


# ----------------------------------------------------------------------------------------------- venvs
def ensure_venv(cache: Path, lib: str, install: bool) -> tuple[Path | None, str]:
    """The reference venv's python, or None and why not."""
    venv = cache / f"venv-{lib}"
    py = venv / "bin" / "python"
    check = [str(py), "-c", f"import {lib}"]
    if py.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return py, ""
    if not install:
        return None, f"{venv} missing (--no-install)"
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", *VENVS[lib]], capture_output=True, text=True)
    if r.returncode != 0 or subprocess.run(check, capture_output=True).returncode != 0:
        tail = [ln for ln in (r.stderr or r.stdout).splitlines() if not ln.startswith("WARNING: Location")]
        return None, f"pip install {' '.join(VENVS[lib])} failed: " + " | ".join(tail[-3:])
    return py, ""


# ----------------------------------------------------------------------------------------------- cases
def make_case(seed: int, n_users: int = 80, n_items: int = 60, k: int = 10, padded: bool = True) -> dict:
    """Skewed popularity (a few items in most histories), users without history, -1 padded lists."""
    rng = np.random.default_rng(seed)
    w = rng.permutation(1.0 / np.arange(1, n_items + 1) ** 1.1)
    w /= w.sum()
    train_u, train_i, test_u, test_i = [], [], [], []
    topk = np.full((n_users, k), -1, dtype=np.int64)
    for u in range(n_users):
        n_hist = 0 if u % 13 == 5 else int(rng.integers(1, 16))
        hist = rng.choice(n_items, n_hist, replace=False, p=w)
        rest = np.setdiff1d(np.arange(n_items), hist)
        p = w[rest] / w[rest].sum()
        test = rng.choice(rest, int(rng.integers(0, 6)), replace=False, p=p)
        length = k if not padded or rng.random() < 0.7 else int(rng.integers(0, k))
        cand = rest[rest < n_items - 5]  # the last 5 items are never listed: zero exposure
        q = 0.5 * w[cand] / w[cand].sum() + 0.5 / cand.size
        topk[u, :length] = rng.choice(cand, length, replace=False, p=q)
        train_u += [u] * n_hist
        train_i += hist.tolist()
        test_u += [u] * test.size
        test_i += test.tolist()
    cats = (rng.random((n_items, 6)) < 0.3).astype(np.float64)
    return dict(topk=topk, n_items=np.int64(n_items), users=np.arange(n_users),
                train_u=np.array(train_u), train_i=np.array(train_i), test_u=np.array(test_u),
                test_i=np.array(test_i), vectors=rng.normal(size=(n_items, 8)), categories=cats)


def csr(u: np.ndarray, i: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(u.size, dtype=np.float32), (u, i)), shape=shape)


# ----------------------------------------------------------------------------------------------- ours
def ours(c: dict) -> dict:
    """The harness' values, called as ``harness.evaluation.users.evaluate`` calls them."""
    topk, n_items = c["topk"], int(c["n_items"])
    n_users, k = topk.shape
    seen = csr(c["train_u"], c["train_i"], (n_users, n_items))
    relevant = csr(c["test_u"], c["test_i"], (n_users, n_items))
    item_users = np.bincount(seen.indices, minlength=n_items)
    n_train_users = max(int((np.diff(seen.indptr) > 0).sum()), 1)
    tail = B.long_tail(item_users)
    hits = hit_matrix(topk, relevant, c["users"])
    padded = bool(topk.min() < 0)
    history = [seen[u].indices for u in range(n_users)]
    counts = E.exposure(topk, n_items)
    groups = (np.arange(n_items) % 3)
    return dict(
        seen=seen, item_users=item_users, tail=tail, hits=hits, history=history,
        ild=B.ild(topk, c["vectors"]),
        novelty=(_padded_popularity("novelty", topk, item_users, n_train_users) if padded
                 else M.novelty(topk, item_users, n_train_users)),
        avgpop=(_padded_popularity("avgpop", topk, item_users, n_train_users) if padded
                else M.avg_popularity(topk, item_users)),
        user_pop=E.user_mean_popularity(topk, item_users),
        poplift=E.popularity_lift(topk, seen, c["users"], item_users),
        serendipity=B.serendipity(hits, topk, tail),
        aplt=B.aplt(topk, tail),
        calibration=B.calibration(topk, history, c["categories"]),
        counts=counts, exposure_discounted=E.exposure(topk, n_items, discount=True),
        gini=E.gini(counts), gini_discounted=E.gini(E.exposure(topk, n_items, discount=True)),
        entropy=E.entropy(counts), groups=groups, group_share=E.group_exposure_share(topk, groups, 3),
    )


def serendipity_weighted(hits: np.ndarray, topk: np.ndarray, weight: np.ndarray, per_listed: bool) -> np.ndarray:
    """``sum_r rel(r) w(u, r) / d``: d = listed items (RecTools) or k (the harness); one frame for both."""
    ok = topk >= 0
    num = np.where(ok, hits[:, :topk.shape[1]] * weight, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / (ok.sum(axis=1) if per_listed else topk.shape[1])


def rectools_serendipity_weight(topk: np.ndarray, item_users: np.ndarray, n_items: int) -> np.ndarray:
    """RecTools' graded unexpectedness ``max(p(rank) - p_pop(item), 0)``, ``p(x) = (n_items + 1 - x) / n_items``,
    popularity rank dense over the distinct training counts (1 = most popular), p_pop = 0 for unseen items."""
    levels = np.unique(item_users[item_users > 0])[::-1]
    rank_pop = {int(v): r + 1 for r, v in enumerate(levels)}
    p_pop = np.array([(n_items + 1 - rank_pop[int(v)]) / n_items if v > 0 else 0.0 for v in item_users])
    p_rank = (n_items + 1 - np.arange(1, topk.shape[1] + 1)) / n_items
    return np.maximum(p_rank[None, :] - p_pop[np.where(topk >= 0, topk, 0)], 0.0)


# -------------------------------------------------------------------------- independent loops (no library)
def loop_calibration(topk, history, cats, alpha=B.CALIBRATION_ALPHA) -> np.ndarray:
    """Steck 2018 written out item by item; the KL by scipy.special.rel_entr (natural log; not
    scipy.stats.entropy, which renormalises q~ to sum 1 and so differs when the list has uncategorised items)."""
    def mix(items):
        acc, n = np.zeros(cats.shape[1]), 0
        for i in items:
            s = cats[i].sum()
            if s > 0:
                acc, n = acc + cats[i] / s, n + 1
        return acc / n if n else acc
    out = []
    for row, hist in zip(topk, history):
        p = mix(hist)
        if p.sum() == 0:
            out.append(math.nan)
            continue
        q = mix([i for i in row if i >= 0])
        out.append(float(special.rel_entr(p, (1 - alpha) * q + alpha * p).sum()))
    return np.array(out)


def loop_tail(item_users) -> np.ndarray:
    """Head = items at least as popular as the ceil(20 %)-th most popular one (and seen at all)."""
    order = sorted(item_users.tolist(), reverse=True)
    cut = order[max(math.ceil(0.2 * len(order)), 1) - 1]
    return np.array([not (v >= cut and v > 0) for v in item_users.tolist()])


def loop_aplt(topk, tail) -> np.ndarray:
    out = []
    for row in topk:
        items = [i for i in row if i >= 0]
        out.append(sum(bool(tail[i]) for i in items) / len(items) if items else math.nan)
    return np.array(out)


def loop_group_share(topk, groups, n_groups) -> np.ndarray:
    acc = [0.0] * n_groups
    for row in topk:
        for r, i in enumerate(row):
            if i >= 0:
                acc[groups[i]] += 1 / math.log2(r + 2)
    return np.array(acc) / sum(acc)


# ----------------------------------------------------------------------------------------------- compare
class Row:
    def __init__(self, metric: str, ref: str, note: str = ""):
        self.metric, self.ref, self.note = metric, ref, note
        self.cases, self.diff, self.compared, self.nan_mismatch = 0, 0.0, 0, 0

    def add(self, mine, theirs) -> None:
        a, b = np.atleast_1d(np.asarray(mine, float)), np.atleast_1d(np.asarray(theirs, float))
        both = np.isfinite(a) & np.isfinite(b)
        self.cases += 1
        self.compared += int(both.sum())
        self.nan_mismatch += int((np.isfinite(a) != np.isfinite(b)).sum())
        if both.any():
            self.diff = max(self.diff, float(np.max(np.abs(a[both] - b[both]))))

    def verdict(self) -> str:
        ok = self.diff <= TOL and not self.nan_mismatch
        if self.note:
            return self.note
        return f"agrees (<= {TOL:g})" if ok else "DISAGREES"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3)
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "harness-xcheck")
    ap.add_argument("--no-install", action="store_true", help="use existing reference venvs only")
    args = ap.parse_args()

    refs, missing = {}, {}
    for lib in VENVS:
        py, why = ensure_venv(args.cache_dir, lib, not args.no_install)
        (refs.__setitem__(lib, py) if py else missing.__setitem__(lib, why))

    cases = [make_case(s, padded=s > 0) for s in range(args.cases)]  # case 0: full lists (no -1)
    mine = [ours(c) for c in cases]
    got: dict[str, list[dict]] = {}
    versions: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for s, (c, o) in enumerate(zip(cases, mine)):
            np.savez(d / f"case{s}.npz", **c, counts=o["counts"], exposure_discounted=o["exposure_discounted"])
        for lib, py in refs.items():
            r = subprocess.run([str(py), str(DRIVER), lib, str(d)], capture_output=True, text=True)
            if r.returncode != 0:
                missing[lib] = "driver failed: " + r.stderr.strip().splitlines()[-1]
                continue
            versions[lib] = json.loads((d / f"{lib}.json").read_text())
            got[lib] = [dict(np.load(d / f"case{s}.{lib}.npz")) for s in range(len(cases))]

    def name(lib: str) -> str:
        return f"{lib} {versions[lib][lib]}" if lib in versions else lib

    rows: list[Row] = []

    def row(metric, ref, note=""):
        rows.append(Row(metric, ref, note))
        return rows[-1]

    if "rectools" in got:
        rt = got["rectools"]
        ild = row("ild@10", f"{name('rectools')} IntraListDiversity (scipy cosine distance)")
        one_item = 0
        nov = row("novelty@10", f"{name('rectools')} MeanInvUserFreq")
        ap_ = row("avgpop@10", f"{name('rectools')} AvgRecPopularity")
        gap_r = row("poplift GAP_r (per user)", f"{name('rectools')} AvgRecPopularity")
        gap_p = row("poplift GAP_p (per user)", f"{name('rectools')} AvgRecPopularity on histories")
        lift = row("poplift@10", f"{name('rectools')} ARP(lists) / ARP(histories) - 1")
        ser = row("serendipity@10", f"{name('rectools')} Serendipity")
        ser_rt = row("  RecTools' serendipity re-implemented in numpy", f"{name('rectools')} Serendipity")
        # the harness' formula in the same frame: weight = long-tail indicator, denominator k
        own = row("  harness' serendipity in that frame (w = tail, d = k)", "harness serendipity")
        for c, o, r in zip(cases, mine, rt):
            ok2 = (c["topk"] >= 0).sum(axis=1) >= 2
            one = (c["topk"] >= 0).sum(axis=1) == 1
            one_item += int((one & np.isnan(o["ild"]) & (r["ild"] == 0)).sum())
            # RecTools gives 0 to a one-item list (no pair); the harness NaN: compared on >= 2 items
            ild.add(o["ild"][ok2], r["ild"][ok2])
            nov.add(o["novelty"], r["novelty"])
            ap_.add(o["avgpop"], r["avgpop"])
            gap_r.add(o["user_pop"], r["avgpop"])
            hp = np.array([o["item_users"][h].mean() if h.size else np.nan for h in o["history"]])
            gap_p.add(hp, r["history_pop"])
            lift.add(o["poplift"], np.nanmean(r["avgpop"]) / np.nanmean(r["history_pop"]) - 1)
            ser.add(o["serendipity"], r["serendipity"])
            w = rectools_serendipity_weight(c["topk"], o["item_users"], int(c["n_items"]))
            ser_rt.add(serendipity_weighted(o["hits"], c["topk"], w, per_listed=True), r["serendipity"])
        if ild.diff <= TOL and ild.nan_mismatch == 0:
            ild.note = (f"agrees (<= {TOL:g}) on lists of >= 2 items; both average unordered pairs; "
                        f"a 1-item list: RecTools 0, harness NaN (no pair; {one_item} users)")
        ser.note = ("definitional: RecTools weights a relevant item by max(p(rank) - p(pop rank), 0) and divides "
                    "by the listed items; the harness counts relevant long-tail items / k (an empty list: harness 0, "
                    "RecTools no value)")
        for c, o in zip(cases, mine):
            tail_w = o["tail"][np.where(c["topk"] >= 0, c["topk"], 0)].astype(float)
            own.add(serendipity_weighted(o["hits"], c["topk"], tail_w, per_listed=False), o["serendipity"])

    if "lenskit" in got:
        lk = got["lenskit"]
        g = row("gini@10 (list counts)", f"{name('lenskit')} ListGini")
        gd = row("gini, 1/log2(rank+1) exposure", f"{name('lenskit')} ExposureGini(LogRankWeight(offset=1))")
        gs = row("  same, exposure in float64", f"{name('lenskit')} lenskit.stats.gini")
        en = row("entropy@10", f"{name('lenskit')} matrix_column_entropy (one-hot items)")
        en_re = row("  entropy of counts + 1e-6 (LensKit's smoothing) in numpy",
                    f"{name('lenskit')} matrix_column_entropy")
        for o, r in zip(mine, lk):
            g.add(o["gini"], r["gini"])
            gd.add(o["gini_discounted"], r["gini_discounted"])
            gs.add(o["gini_discounted"], r["stats_gini_discounted"])
            en.add(o["entropy"], r["entropy"])
            en_re.add(stats.entropy(o["counts"] + 1e-6, base=2), r["entropy"])
        if gd.diff > TOL:
            gd.note = "precision: ExposureGini sums exposure in float32 (see the float64 row below)"
        if en.diff > TOL:
            en.note = "definitional: LensKit adds 1e-6 to every item's count (all n_items columns) before p log p"
        if g.diff <= TOL:
            g.note = f"agrees (<= {TOL:g}); both count zero-exposure items, no n/(n-1) correction"

    if "recommenders" in got:
        rc = got["recommenders"]
        ild2 = row("ild@10", f"{name('recommenders')} user_diversity (item_feature_vector)")
        en2 = row("entropy@10", f"{name('recommenders')} distributional_coverage")
        for o, r in zip(mine, rc):
            ild2.add(o["ild"], r["ild"])
            en2.add(o["entropy"], r["entropy"])

    sc = row("entropy@10", f"scipy {scipy.__version__} stats.entropy(base=2)")
    cal = row("calibration@10", "no library; item-by-item loop + scipy special.rel_entr (KL)")
    lt = row("long tail cut", "no library; sort-based loop")
    apl = row("aplt@10", "no library; loop")
    gsh = row("group exposure share", "no library; loop")
    for c, o in zip(cases, mine):
        sc.add(o["entropy"], stats.entropy(o["counts"], base=2))
        cal.add(o["calibration"], loop_calibration(c["topk"], o["history"], c["categories"]))
        lt.add(o["tail"], loop_tail(o["item_users"]))
        apl.add(o["aplt"], loop_aplt(c["topk"], o["tail"]))
        gsh.add(o["group_share"], loop_group_share(c["topk"], o["groups"], 3))

    n = [(c["topk"] >= 0).sum() for c in cases]
    zero = sum(int((o["counts"] == 0).sum()) for o in mine)
    print(f"{len(cases)} cases: {cases[0]['topk'].shape[0]} users x {int(cases[0]['n_items'])} items, k = "
          f"{cases[0]['topk'].shape[1]}, {sum(n)} listed items (case 0 full lists, others -1 padded), "
          f"{zero} zero-exposure items")
    for lib, v in versions.items():
        print(f"reference venv {lib}: " + ", ".join(f"{a} {b}" for a, b in v.items()))
    for lib, why in missing.items():
        print(f"reference {lib}: NOT AVAILABLE - {why}")
    print()
    print("| metric | reference | cases | values compared | max abs difference | verdict |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        nan = f" ({r.nan_mismatch} NaN only on one side)" if r.nan_mismatch else ""
        print(f"| {r.metric} | {r.ref} | {r.cases} | {r.compared}{nan} | {r.diff:.3g} | {r.verdict()} |")


if __name__ == "__main__":
    main()
