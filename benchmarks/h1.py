"""End-to-end wall time of ``python -m harness run H1`` on synthetic-vk at growing sizes (one run).

Usage::

    python benchmarks/h1.py [--sizes 1 4 16] [--n-jobs 2] [--cache-dir .cache/harness] [--keep]

For each N: ``python -m harness run H1 --dataset synthetic-vk:xN --quiet --no-cache --results-dir
<tmp>`` in a subprocess from the repository root (N times the users of the default synthetic
VK-LSVD). The synthetic data is generated once per size and cached under ``--cache-dir`` (that
one-off time is printed separately and not counted); ``--no-cache`` only turns off the task cache,
so every run fits and evaluates all (arm, seed) tasks. Prints seconds per size and the ratio to
the smallest size, i.e. how cost grows with the number of users. No asserts.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - t, p


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16], help="user multiples (default 1 4 16)")
    ap.add_argument("--n-jobs", type=int, default=2, help="parallel (arm, seed) tasks (default 2)")
    ap.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "harness",
                    help="where generated synthetic data is cached")
    ap.add_argument("--keep", action="store_true", help="keep the results directories")
    args = ap.parse_args(argv)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    rows = []
    for n in args.sizes:
        dataset = f"synthetic-vk:x{n}"
        code = ("import sys; from pathlib import Path; from harness.data import synthetic; "
                f"synthetic.ensure(Path(sys.argv[1]) / 'data', scale={n})")
        gen = [sys.executable, "-c", code, str(args.cache_dir)]
        t_gen, p = _run(gen, env)
        if p.returncode != 0:
            print(f"x{n}: generating {dataset} failed:\n{p.stderr.strip()[-2000:]}")
            continue
        out = Path(tempfile.mkdtemp(prefix=f"bench-h1-x{n}-"))
        cmd = [sys.executable, "-m", "harness", "run", "H1", "--dataset", dataset, "--quiet", "--no-cache",
               "--results-dir", str(out), "--cache-dir", str(args.cache_dir), "--n-jobs", str(args.n_jobs)]
        t, p = _run(cmd, env)
        if p.returncode != 0:
            print(f"x{n}: `{' '.join(cmd[1:])}` exited {p.returncode}:\n{(p.stderr or p.stdout).strip()[-2000:]}")
            continue
        rows.append((n, t))
        print(f"x{n:<3} {t:8.1f} s   (data generation, cached, not counted: {t_gen:.1f} s)   results: "
              f"{out if args.keep else 'deleted'}")
        if not args.keep:
            import shutil

            shutil.rmtree(out, ignore_errors=True)
    if rows:
        n0, t0 = rows[0]
        print(f"{'size':<6}{'seconds':>10}{'ratio to x' + str(n0):>16}{'users ratio':>14}")
        for n, t in rows:
            print(f"x{n:<5}{t:>10.1f}{t / t0:>16.2f}{n / n0:>14.0f}")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
