"""Reference runs kept in the repository (``results/reference/``) and re-indexing a results folder.

``python -m harness run --all --reference`` runs every hypothesis on ``synthetic-vk`` (generated
offline, identical for every user; a hypothesis declared on ``synthetic-kion`` runs on that) into ``<results-dir>/reference/<H>/<run-id>/``, keeps only the
newest run per hypothesis, leaves out per-user tables above :data:`PER_USER_LIMIT` bytes, and
indexes the folder. Everything shown in its README is read back from the run folders.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

from harness.outputs import index
from harness.errors import HarnessError

REFERENCE_DIR = "reference"
REFERENCE_DATASET = "synthetic-vk"
#: Datasets a reference run may use: generated offline by the harness, identical for every user.
SYNTHETIC_DATASETS = ("synthetic-vk", "synthetic-kion")
PER_USER_LIMIT = 1_000_000  # bytes; larger per_user.parquet files are not committed
COMMAND = "python -m harness run --all --reference"


def check_dataset(dataset: str | None, declared: str | None = None) -> str:
    """The dataset of a reference run: ``dataset`` if given, else the hypothesis' ``declared`` one when it
    is synthetic, else synthetic-vk; anything but a synthetic dataset (any size) is refused."""
    if dataset is None:
        return declared if declared and declared.split(":")[0] in SYNTHETIC_DATASETS else REFERENCE_DATASET
    if dataset.split(":")[0] not in SYNTHETIC_DATASETS:
        raise HarnessError(f"--reference runs use --dataset {' or '.join(SYNTHETIC_DATASETS)} only (every user can "
                           f"generate them offline; MovieLens, KION and VK-LSVD data are not redistributable); drop "
                           f"--dataset {dataset}")
    return dataset


def finish(run_dir: Path, limit: int = PER_USER_LIMIT) -> list[str]:
    """Keep ``run_dir`` as its hypothesis' only reference run and drop a per-user table above ``limit``.

    Returns one line per change made.
    """
    done = []
    for other in sorted(p for p in run_dir.parent.iterdir() if p.is_dir() and p != run_dir):
        if not other.name.startswith(".") and ((other / "summary.json").exists() or (other / "report.md").exists()):
            shutil.rmtree(other)
            done.append(f"removed older reference run {other}")
    pq = run_dir / "per_user.parquet"
    if pq.is_file() and pq.stat().st_size > limit:
        size = pq.stat().st_size
        pq.unlink()
        done.append(f"left out {pq} ({size / 1e6:.1f} MB > {limit / 1e6:g} MB)")
    return done


def _wall(root: Path, rows) -> tuple[float, int, int]:
    """Total wall seconds of the runs and their (fitted, cached) task counts, from provenance.json."""
    total, fitted, cached = 0.0, 0, 0
    for r in rows:
        try:
            prov = json.loads((root / r.path / "provenance.json").read_text())
        except (OSError, ValueError):
            continue
        total += float(prov.get("wall_seconds") or 0.0)
        tasks = prov.get("tasks") or []
        cached += sum(bool(t.get("cached")) for t in tasks)
        fitted += sum(not t.get("cached") for t in tasks)
    return total, fitted, cached


def intro(root: Path, idx: index.Index, registered: list[str]) -> tuple[str, ...]:
    """The reference README's text above the table, computed from the run folders and the registry."""
    latest = [runs[0] for runs in idx.runs.values()]
    lines = [f"Reference verdicts of every hypothesis on `{REFERENCE_DATASET}`: synthetic data in the VK-LSVD "
             "layout that the harness generates offline (identical for every user), so anyone can reproduce "
             "these runs; hypotheses declared on `synthetic-kion` (the KION layout, `harness/data/synthetic_kion.py`) "
             "run on it. Regenerate them all with:", "", "```bash", COMMAND, "```", ""]
    if latest:
        total, fitted, cached = _wall(root, latest)
        lines += [f"Recorded wall time of the runs below: {total / 60:.1f} min ({fitted} tasks trained, {cached} "
                  "read from the task cache; see each run's `provenance.json`).", ""]
    lines += ["Hypotheses declared on another dataset (MovieLens) run here on synthetic-vk; when their positive "
              "definitions need columns synthetic-vk lacks (`rating>=4`), the dataset's default positives are used "
              "and a warning under each report's verdict says so. These verdicts describe the synthetic data's "
              "planted structure (`harness/data/synthetic.py`), not MovieLens. Each run is a CI baseline, e.g. "
              "`python -m harness gate H1 --baseline results/reference/H1/<run-id> --margin 0.002`.", ""]
    no_pu = [r for r in latest if not r.has_per_user]
    if no_pu:
        lines += [f"Per-user tables above {PER_USER_LIMIT / 1e6:g} MB are not committed (left out: "
                  f"{', '.join(r.hypothesis for r in no_pu)}); regenerate the run to get them (needed by `gate` "
                  "and by `diff`'s movers).", ""]
    missing = [h for h in registered if h not in idx.runs]
    if missing:
        lines += [f"No reference run yet for: {', '.join(missing)} (run `python -m harness run <id> --reference`; "
                  "if it fails on synthetic-vk, the error says why).", ""]
    return tuple(lines)


def write_index(root: Path, registered: list[str]) -> index.Index:
    """Rebuild ``<root>/README.md`` (root = ``results/reference``) with the reference intro."""
    root = Path(root)
    idx = index.scan(root)
    return index.write(root, title="Reference runs", intro=intro(root, idx, registered))


def reindex(results_dir: Path, registered: Callable[[], list[str]], reference: bool = False) -> list[index.Index]:
    """Rebuild the index of ``results_dir`` and, with ``reference`` (``run --reference`` only), of its
    committed reference runs (``registered()``: the ids of the hypothesis files that load, e.g.
    :func:`harness.runner.discover.registered_ids`; called only then). An ordinary run or ``index`` never
    rewrites ``<results_dir>/reference/README.md``, which is committed: it would list the user's own
    hypotheses as missing reference runs."""
    results_dir = Path(results_dir)
    ref = results_dir / REFERENCE_DIR
    out = []
    if reference and ref.is_dir():
        out.append(write_index(ref, registered()))
    link = (f"Reference runs (committed, on `{REFERENCE_DATASET}`): [{REFERENCE_DIR}/README.md]"
            f"({REFERENCE_DIR}/README.md)",) if (ref / "README.md").is_file() else ()
    out.insert(0, index.write(results_dir, intro=link + (("",) if link else ())))
    return out
