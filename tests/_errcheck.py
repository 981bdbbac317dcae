"""Helpers for the CLI error tests: a tiny tabular dataset, a fast hypothesis (random vs popularity, about
2 s per run), the CLI in a subprocess, the one-line / exit-2 check and a snapshot of what a command wrote."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment, Seeds, Split
HYPOTHESIS = Hypothesis(id={id!r}, claim="c", dataset="tabular:{data}", positives=("rating>=3",),
    baseline=Arm("rnd", "random"), treatment={treatment},
    segments=({segment},), metrics=("ndcg@10",), primary="ndcg@10", seeds={seeds},
    decision={decision}, n_boot={n_boot}{extra})
"""


def interactions_csv(path: Path, n_users: int = 60, n_items: int = 40, seed: int = 0) -> Path:
    """12 interactions per user with a rating and a timestamp (popular items dominate)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1)
    rows = [(u, 100 + int(i), int(rng.integers(1, 6)), 1000 + 10 * j)
            for u in range(n_users) for j, i in enumerate(rng.choice(n_items, 12, replace=False, p=p / p.sum()))]
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"]).to_csv(path, index=False)
    return path


def write_hyp(folder: Path, data: Path, name: str = "ht.py", id: str = "HT",  # noqa: A002 - the spec's word
              treatment: str = 'Arm("pop", "popularity")', segment: str = "Segment.all()", seeds: str = "(0, 1)",
              decision: str = "Decision.not_worse(0.01)", n_boot: str = "200", extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(HYP.format(id=id, data=data, treatment=treatment, segment=segment, seeds=seeds, decision=decision,
                            n_boot=n_boot, extra=extra))
    return p


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd)


def one_line_exit_2(out: subprocess.CompletedProcess, pattern: str) -> str:
    """Assert the project's rule for bad input: exit 2, one ``error:`` line on stderr matching ``pattern``
    (a regex), no traceback; returns the line."""
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ") and re.search(pattern, lines[0]), lines[0]
    return lines[0]


def snapshot(root: Path) -> set[str]:
    """Every path under ``root``, relative."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def new_files(root: Path, before: set[str], allowed: tuple[str, ...] = ("cache/logs",)) -> list[str]:
    """Paths under ``root`` that appeared since ``before``, except under the ``allowed`` folders (a run's log
    goes to ``<cache-dir>/logs`` before anything can fail)."""
    def ok(p: str) -> bool:  # inside an allowed folder, or one of its parents
        return any(p == a or p.startswith(a + "/") or a.startswith(p + "/") for a in allowed)

    return sorted(p for p in snapshot(root) - before if not ok(p))


def run_of_ht(root: Path, hyps: Path, results: Path) -> tuple[Path, Path]:
    """A tiny dataset under ``root``, hypothesis HT on it in ``hyps``, and one run of it into ``results``
    (task cache ``root/cache``); returns (data file, run folder)."""
    data = interactions_csv(root / "d.csv")
    write_hyp(hyps, data)
    out = cli("run", "HT", "--hypotheses", str(hyps), "--results-dir", str(results), "--cache-dir",
              str(root / "cache"), "--quiet", "--n-jobs", "1", cwd=root)
    assert out.returncode == 0, out.stderr
    (summary,) = (results / "HT").glob("*/summary.json")
    return data, summary.parent
