"""Load a VK-LSVD-sized synthetic subsample and build the training CSR, reporting time and peak RSS.

Usage::

    python benchmarks/load_vk.py [--cache .cache/bench] [--scale 100] [--seed 0]

``--scale 100`` is ~400k users x 2k items, ~21 M interactions (26 weekly parquet files). The data
is generated once (streamed user batch by user batch, in a child process so its memory is reported
separately) and cached under ``--cache``; then this process reads it with
:func:`harness.data.vk_lsvd.load` and builds ``scipy.sparse.csr_matrix`` of the weeks < 25.
Target: peak RSS of load + CSR under 4 GiB.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

TARGET_GIB = 4.0
_REPO = str(Path(__file__).resolve().parents[1])     # run from a checkout without installing


def _harness():
    if _REPO not in sys.path:
        sys.path.insert(0, _REPO)
    from harness.data import synthetic, vk_lsvd

    return synthetic, vk_lsvd


def _peak_gib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 2 ** 20          # ru_maxrss is KiB on Linux


def _generate(cache: str, scale: int, seed: int) -> None:
    synthetic, _ = _harness()
    synthetic.ensure(Path(cache), scale=scale, seed=seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=".cache/bench", help="directory for the generated data (default .cache/bench)")
    ap.add_argument("--scale", type=int, default=100, help="users = 4000 x scale (default 100: ~21 M interactions)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    synthetic, vk_lsvd = _harness()

    root = synthetic.cache_path(Path(args.cache), args.scale, args.seed)
    cached = (root / "SYNTHETIC.json").is_file()
    t0 = time.perf_counter()
    if not cached:
        proc = mp.get_context("spawn").Process(target=_generate, args=(args.cache, args.scale, args.seed))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            print(f"generation failed (exit code {proc.exitcode})", file=sys.stderr)
            return 1
    t_gen = time.perf_counter() - t0
    info = synthetic.info(root)
    size_gib = sum(p.stat().st_size for p in root.rglob("*.parquet")) / 2 ** 30
    gen = "cached" if cached else f"{t_gen:.1f} s, peak RSS {_peak_gib(resource.RUSAGE_CHILDREN):.2f} GiB"
    print(f"data      {root}  ({info['n_users']:,} users x {info['n_items']:,} items, {info['rows']:,} rows, "
          f"{size_gib:.2f} GiB parquet; generation: {gen})")

    t0 = time.perf_counter()
    data = vk_lsvd.load(root, synthetic.SUBSAMPLE)
    t_load = time.perf_counter() - t0
    rss_load = _peak_gib(resource.RUSAGE_SELF)

    t0 = time.perf_counter()
    ev = data.events
    train = (ev["time"] < 25).to_numpy()
    user = ev["user"].to_numpy()[train]
    item = ev["item"].to_numpy()[train]
    csr = sp.csr_matrix((np.ones(len(user), dtype=np.float32), (user, item)), shape=(data.n_users, data.n_items))
    t_csr = time.perf_counter() - t0
    rss = _peak_gib(resource.RUSAGE_SELF)

    rows = data.counts["rows_read"]
    print(f"load      {rows:,} rows read, {len(ev):,} events after dedup, {t_load:.1f} s "
          f"({rows / t_load / 1e6:.2f} M rows/s), peak RSS {rss_load:.2f} GiB")
    print(f"train CSR {csr.shape[0]:,} x {csr.shape[1]:,}, nnz {csr.nnz:,}, {t_csr:.1f} s")
    print(f"total     {t_load + t_csr:.1f} s; peak RSS {rss:.2f} GiB (target < {TARGET_GIB:g} GiB: "
          f"{'OK' if rss < TARGET_GIB else 'OVER'}; {rss / TARGET_GIB:.0%} of target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
