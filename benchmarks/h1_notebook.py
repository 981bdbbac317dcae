"""H1 at the notebook's size: harness overhead against bare LightFM fits, peak memory, Dask, threads per task.

Usage::

    python benchmarks/h1_notebook.py                      # everything, ~30 min on 2 cores at 1 epoch
    python benchmarks/h1_notebook.py --parts overhead e2e  # a subset: overhead e2e dask threads
    python benchmarks/h1_notebook.py --dataset synthetic-vk --epochs 2   # quick, on the small default

It writes a copy of H1 (``hypotheses/h1_content_dense.py``: the same arms, positives, segments and metrics)
with ``--epochs`` FIXED epochs (H1 as shipped uses ``epochs="auto"``), then measures, each in a subprocess
with its own empty ``--cache-dir`` (the synthetic data is generated once into ``--data-cache``; that time is
printed and not counted):

``overhead``
    ``python -m harness run`` with ``--n-jobs 1`` on one positive definition (``--overhead-positives``), and
    the same LightFM fits run bare: the same training matrix and item features (identity + the first 32
    embedding columns), the same parameters and seeds, a ``fit_partial`` loop of the same epochs on one
    thread. Prints per task the harness's fit, validation-curve and evaluation seconds (from its
    ``provenance.json``) beside the bare fit seconds, load/split seconds once, and the ratios harness / bare:
    per task (fit + evaluation vs bare fit) and end to end (wall vs bare load/split + fits). Target <= 1.2.
``e2e``
    ``--n-jobs 2`` (loky), both positive definitions, ``--seeds``: wall time, stages, the peak memory of
    the whole process tree, and the extrapolated 5-seed time.
``dask``
    the same with ``--backend dask`` (a LocalCluster of ``--n-jobs`` single-threaded workers).
``auto``
    H1 as shipped (``epochs="auto"``, ``refit="full"``) on ``--auto-dataset`` (default the small
    ``synthetic-vk``: at the notebook's size it would take hours), ``--seeds``, ``--n-jobs``: per task the epochs
    chosen, the seconds of the validation curve (the inner fit, run to the end of ``patience``) and of the
    refit (one fit of the chosen epochs), and their ratio (inner + refit) / refit; ``refit="none"`` would save
    the refit.
``threads``
    ``--n-jobs 2`` on one positive definition with ``--threads-seeds`` seeds (an odd count leaves one long
    content task alone at the end: the straggler), ``--threads-per-task`` 1 vs 2.

Peak memory is sampled every 0.5 s over the run's process and all its descendants (workers, Dask nannies):
the sum of RSS (counts pages shared by processes, e.g. the memory-mapped data, once per process: an upper
bound), the sum of PSS (shared pages split between the processes sharing them: the real footprint), and the
sum over processes of each one's own peak RSS (VmHWM; an upper bound that ignores when the peaks happened).
Nothing is asserted; the machine's load is printed before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HYP = '''from harness.spec import Arm, Decision, Hypothesis, Segment

_LIGHTFM = dict(loss="warp", no_components=64, learning_rate=0.05, epochs={epochs})

HYPOTHESIS = Hypothesis(
    id="H1",
    claim="Content embeddings do not improve NDCG@10 for the most active 30 % of users ({epochs} fixed epochs)",
    dataset="synthetic-vk",
    positives=("watch_ratio>=0.5", "like|share|bookmark"),
    baseline=Arm("cf", "lightfm", **_LIGHTFM),
    treatment=Arm("cf+content", "lightfm", item_features="embedding[:32]", **_LIGHTFM),
    segments=(Segment.activity_quantile(0.7, name="dense"), Segment.all()),
    metrics=("ndcg@10", "recall@10"),
    primary="ndcg@10",
    seeds=tuple(range(5)),
    decision=Decision.not_better(margin=0.002, alpha=0.05),
)
'''
#: The arms of H1 as (name, item content columns or None) and their LightFM parameters (fixed epochs added).
ARMS = (("cf", None), ("cf+content", 32))
LIGHTFM = dict(loss="warp", no_components=64, learning_rate=0.05)


# ---------------------------------------------------------------- memory of a process tree (/proc, Linux)
def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids[ppid].append(int(d))
    return kids


def _tree(pid: int) -> list[int]:
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def _kb(path: str, field: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakMemory:
    """Samples the process tree of ``pid`` every ``every`` seconds in a thread (see the module docstring)."""

    def __init__(self, pid: int, every: float = 0.5):
        self.pid, self.every = pid, every
        self.rss = self.pss = 0
        self.hwm: dict[int, int] = {}
        self.procs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(self.pid)
            rss = pss = 0
            for p in pids:
                rss += _kb(f"/proc/{p}/status", "VmRSS:")
                pss += _kb(f"/proc/{p}/smaps_rollup", "Pss:")
                self.hwm[p] = max(self.hwm.get(p, 0), _kb(f"/proc/{p}/status", "VmHWM:"))
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            self.procs = max(self.procs, len(pids))
            self._stop.wait(self.every)

    def stop(self) -> PeakMemory:
        self._stop.set()
        self._thread.join()
        return self

    def text(self) -> str:
        gib = 1 / 2**20
        return (f"peak sum PSS {self.pss * gib:.2f} GiB, sum RSS {self.rss * gib:.2f} GiB, sum of per-process peaks "
                f"{sum(self.hwm.values()) * gib:.2f} GiB ({self.procs} processes at most)")


# ---------------------------------------------------------------- runs
def harness_run(hyp_dir: Path, dataset: str, data_cache: Path, seeds: int, extra: list[str],
                label: str) -> dict:
    """One ``python -m harness run H1`` in a subprocess with an empty task cache; wall, memory, provenance."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-h1nb-{label}-"))
    cache = work / "cache"
    cache.mkdir()
    os.symlink(data_cache / "data", cache / "data")  # the generated dataset, not regenerated
    cmd = [sys.executable, "-m", "harness", "run", "H1", "--hypotheses", str(hyp_dir), "--dataset", dataset,
           "--seeds", str(seeds), "--quiet", "--results-dir", str(work / "results"), "--cache-dir", str(cache), *extra]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem = PeakMemory(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    mem.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{label}: `{' '.join(cmd[1:])}` exited {proc.returncode}:\n{(err or out)[-3000:]}")
    prov = json.loads(next((work / "results" / "H1").glob("*/provenance.json")).read_text())
    summary = json.loads(next((work / "results" / "H1").glob("*/summary.json")).read_text())
    return {"wall": wall, "mem": mem, "prov": prov, "summary": summary, "stdout": out, "work": work}


def bare(dataset: str, data_cache: Path, positives: str, seeds: int, epochs: int) -> dict:
    """The same LightFM fits without the harness (run in a subprocess: ``--bare``)."""
    cmd = [sys.executable, __file__, "--bare", "--dataset", dataset, "--data-cache", str(data_cache),
           "--overhead-positives", positives, "--seeds", str(seeds), "--epochs", str(epochs)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem = PeakMemory(proc.pid)
    out, err = proc.communicate()
    mem.stop()
    if proc.returncode != 0:
        raise SystemExit(f"bare fits failed:\n{err[-3000:]}")
    doc = json.loads(out.strip().splitlines()[-1])
    doc.update(wall=time.perf_counter() - t, mem=mem)
    return doc


def bare_main(args) -> None:
    """``--bare``: load and split with the harness's loader (timed as load/split), then time bare fits."""
    import numpy as np
    import scipy.sparse as sp
    from lightfm import LightFM
    from threadpoolctl import threadpool_limits

    from harness.data import load_dataset
    from harness.design.prepare import prepare
    from harness.design.split import split

    t = time.perf_counter()
    inter = load_dataset(args.dataset, None, args.data_cache)
    data = prepare(inter, split(inter, inter.default_split), args.overhead_positives)
    coo = data.train.positives.tocoo()
    load = time.perf_counter() - t
    n_items = data.train.n_items
    fits = []
    with threadpool_limits(1):
        for name, cols in ARMS:
            for seed in range(args.seeds):
                t = time.perf_counter()
                itf = None
                if cols:
                    emb = np.asarray(data.train.item_content[:, :cols], dtype=np.float32)
                    itf = sp.hstack([sp.identity(n_items, dtype=np.float32, format="csr"), sp.csr_matrix(emb)]).tocsr()
                model = LightFM(random_state=np.random.RandomState(seed), **LIGHTFM)
                for _ in range(args.epochs):
                    model.fit_partial(coo, item_features=itf, epochs=1, num_threads=1)
                fits.append({"arm": name, "seed": seed, "seconds": time.perf_counter() - t})
    print(json.dumps({"load_split": load, "fits": fits, "positives": int(coo.nnz)}))


# ---------------------------------------------------------------- reports
def task_table(prov: dict) -> list[tuple]:
    rows = []
    for t in prov["tasks"]:
        ph = t.get("phases") or {}
        rows.append((t["variant"], t["arm"], t["seed"], t["seconds"], ph.get("fit", 0.0), ph.get("curve", 0.0),
                     ph.get("evaluate", 0.0)))
    return rows


def overhead(args, hyp_dir: Path) -> None:
    print(f"\n== overhead: harness (--n-jobs 1) vs bare LightFM fits, {args.overhead_positives}, {args.seeds} seeds, "
          f"{args.epochs} fixed epoch(s)")
    h = harness_run(hyp_dir, args.dataset, args.data_cache, args.seeds,
                    ["--n-jobs", "1", "--positives", args.overhead_positives], "overhead")
    b = bare(args.dataset, args.data_cache, args.overhead_positives, args.seeds, args.epochs)
    st = h["prov"]["stage_seconds"]
    print(f"load/split once: harness load {st['load']:.1f} s + prepare {st['prepare']:.1f} s; bare (same loader, "
          f"split and matrices) {b['load_split']:.1f} s; training positives {b['positives']:,}")
    bare_s = {(f["arm"], f["seed"]): f["seconds"] for f in b["fits"]}
    print(f"{'arm':<12}{'seed':>5}{'fit s':>9}{'curve s':>9}{'eval s':>9}{'task s':>9}{'bare fit s':>12}{'ratio':>8}")
    tot_h = tot_b = 0.0
    for _, arm, seed, sec, fit, curve, ev in task_table(h["prov"]):
        bs = bare_s[(arm, seed)]
        tot_h, tot_b = tot_h + sec, tot_b + bs
        print(f"{arm:<12}{seed:>5}{fit:>9.1f}{curve:>9.1f}{ev:>9.1f}{sec:>9.1f}{bs:>12.1f}{sec / bs:>8.3f}")
    e2e_bare = b["load_split"] + tot_b
    print(f"tasks: harness {tot_h:.1f} s / bare fits {tot_b:.1f} s = {tot_h / tot_b:.3f} (target <= 1.2)")
    print(f"end to end: harness wall {h['wall']:.1f} s (stages {fmt(st)}) / bare load+split+fits {e2e_bare:.1f} s "
          f"= {h['wall'] / e2e_bare:.3f} (target <= 1.2)")
    print(f"memory: harness {h['mem'].text()}")
    print(f"        bare    {b['mem'].text()}")


def fmt(stages: dict) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in stages.items())


def e2e(args, hyp_dir: Path, backend: str) -> None:
    extra = ["--n-jobs", str(args.n_jobs)] + (["--backend", "dask"] if backend == "dask" else [])
    print(f"\n== {backend}: H1 ({args.epochs} fixed epoch(s)) on {args.dataset}, both positive definitions, "
          f"--seeds {args.seeds}, --n-jobs {args.n_jobs}")
    h = harness_run(hyp_dir, args.dataset, args.data_cache, args.seeds, extra, backend)
    st = h["prov"]["stage_seconds"]
    rows = task_table(h["prov"])
    print(f"{'variant':<22}{'arm':<12}{'seed':>5}{'fit s':>9}{'eval s':>9}{'task s':>9}")
    for v, arm, seed, sec, fit, _, ev in rows:
        print(f"{v:<22}{arm:<12}{seed:>5}{fit:>9.1f}{ev:>9.1f}{sec:>9.1f}")
    tasks = sum(r[3] for r in rows)
    print(f"wall {h['wall']:.1f} s; stages {fmt(st)}; tasks sum {tasks:.1f} s on {args.n_jobs} workers")
    print(f"memory: {h['mem'].text()}")
    fixed = h["wall"] - st["tasks_and_analysis"]
    five = fixed + st["tasks_and_analysis"] * 5 / args.seeds
    print(f"extrapolated 5 seeds (tasks x 5/{args.seeds}, load/prepare/summary once): {five / 60:.1f} min "
          f"at {args.epochs} epoch(s)")
    per_epoch = defaultdict(float)
    for v, arm, _, _, fit, _, _ in rows:
        per_epoch[(v, arm)] += fit / args.epochs / args.seeds
    for (v, arm), s in per_epoch.items():
        print(f"  one epoch of {arm} on {v}: {s:.1f} s")
    e = args.auto_epochs
    auto = sum(s * (e + 3) * 0.8 + s * e for s in per_epoch.values()) * 5 / args.n_jobs + fixed
    print(f"H1 as shipped (epochs='auto', refit='full') if it chose {e} epochs: each task's inner fit runs e+3 "
          f"epochs on ~80 % of the training data, then e epochs are refitted: ~{auto / 3600:.1f} h for 5 seeds on "
          f"{args.n_jobs} workers (evaluation not counted)")
    verdict = h["summary"]["verdict"]
    print(f"verdict: {verdict['status']}")


def auto(args) -> None:
    print(f"\n== epochs='auto': H1 as shipped on {args.auto_dataset}, --seeds {args.seeds}, --n-jobs {args.n_jobs}")
    name, _, preset = args.auto_dataset.partition(":")
    from harness.data import synthetic

    synthetic.ensure(args.data_cache / "data", preset=preset or None)
    h = harness_run(REPO / "hypotheses", args.auto_dataset, args.data_cache, args.seeds,
                    ["--n-jobs", str(args.n_jobs)], "auto")
    print(f"{'variant':<22}{'arm':<12}{'seed':>5}{'epochs':>8}{'curve s':>9}{'refit s':>9}{'eval s':>8}"
          f"{'(curve+refit)/refit':>21}")
    tot_c = tot_f = 0.0
    for t in h["prov"]["tasks"]:
        ph = t.get("phases") or {}
        c, f = ph.get("curve", 0.0), ph.get("fit", 0.0)
        tot_c, tot_f = tot_c + c, tot_f + f
        print(f"{t['variant']:<22}{t['arm']:<12}{t['seed']:>5}{(t['tuned'] or {}).get('epochs', '-'):>8}{c:>9.1f}"
              f"{f:>9.1f}{ph.get('evaluate', 0.0):>8.1f}{(c + f) / f:>21.2f}")
    print(f"all tasks: curve {tot_c:.1f} s + refit {tot_f:.1f} s = {(tot_c + tot_f) / tot_f:.2f} x the refit alone; "
          f"wall {h['wall']:.1f} s")


def threads(args, hyp_dir: Path) -> None:
    print(f"\n== threads per task: {args.overhead_positives}, --seeds {args.threads_seeds}")
    out = {}
    for jobs, n in ((2, 1), (2, 2), (1, 2)):
        h = harness_run(hyp_dir, args.dataset, args.data_cache, args.threads_seeds,
                        ["--n-jobs", str(jobs), "--positives", args.overhead_positives, "--threads-per-task", str(n)],
                        f"threads{jobs}x{n}")
        out[(jobs, n)] = h
        tasks = h["prov"]["tasks"]
        last = max(tasks, key=lambda t: t["seconds"])
        print(f"--n-jobs {jobs} --threads-per-task {n}: wall {h['wall']:.1f} s, tasks sum "
              f"{sum(t['seconds'] for t in tasks):.1f} s, longest task {last['arm']} seed {last['seed']} "
              f"{last['seconds']:.1f} s; not reproducible: {', '.join(h['prov']['not_reproducible']) or 'none'}")
    base = out[(2, 1)]["wall"]
    print(f"wall / (--n-jobs 2, 1 thread): --n-jobs 2 x 2 threads {out[(2, 2)]['wall'] / base:.3f}, "
          f"--n-jobs 1 x 2 threads {out[(1, 2)]['wall'] / base:.3f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="synthetic-vk:notebook")
    ap.add_argument("--data-cache", type=Path, default=REPO / ".cache" / "harness",
                    help="where the synthetic data is generated once (its data/ folder)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1, help="fixed LightFM epochs of the H1 copy (default 1)")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--overhead-positives", default="like|share|bookmark")
    ap.add_argument("--threads-seeds", type=int, default=3)
    ap.add_argument("--auto-epochs", type=int, default=10,
                    help="epochs epochs='auto' is assumed to choose, for the H1-as-shipped extrapolation")
    ap.add_argument("--auto-dataset", default="synthetic-vk", help="dataset of the epochs='auto' part")
    ap.add_argument("--parts", nargs="+", default=["overhead", "e2e", "dask", "threads", "auto"],
                    choices=["overhead", "e2e", "dask", "threads", "auto"])
    ap.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.bare:
        return bare_main(args)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    from harness.data import synthetic

    name, _, preset = args.dataset.partition(":")
    assert name == "synthetic-vk", "this benchmark runs on synthetic-vk[:preset]"
    t = time.perf_counter()
    synthetic.ensure(args.data_cache / "data", preset=preset or None)
    print(f"data {args.dataset}: ready in {time.perf_counter() - t:.1f} s (generated once, not counted)")
    hyp_dir = Path(tempfile.mkdtemp(prefix="bench-h1nb-hyp-"))
    (hyp_dir / "h1_fixed.py").write_text(HYP.format(epochs=args.epochs))
    for part in args.parts:
        if part == "overhead":
            overhead(args, hyp_dir)
        elif part in ("e2e", "dask"):
            e2e(args, hyp_dir, "loky" if part == "e2e" else "dask")
        elif part == "auto":
            auto(args)
        else:
            threads(args, hyp_dir)
    print(f"\nload average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
