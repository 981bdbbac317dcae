"""``python -m harness new H99 --claim "..."``: write a hypothesis file that runs as is."""
from __future__ import annotations

import re
from pathlib import Path

from harness.errors import HarnessError
from harness.runner.discover import load_all, load_file

TEMPLATE = '''"""{id}: {claim}

Scaffolded by `python -m harness new`. Edit the arms, positives, segments and decision; run with
`python -m harness run {id}` (add --dataset ml-100k for MovieLens: fetched and cached on first use).
"""
from harness.spec import Arm, Decision, Hypothesis, Segment

HYPOTHESIS = Hypothesis(
    id={id!r},
    claim={claim!r},
    dataset="synthetic-vk",
    positives=("like|share|bookmark",),
    baseline=Arm("popularity", "popularity"),
    treatment=Arm("lightfm-warp", "lightfm", loss="warp", no_components=32, learning_rate=0.05, epochs=5),
    segments=(Segment.all(), Segment.activity_quantile(0.7, name="dense")),
    metrics=("ndcg@10", "recall@10"),
    primary="ndcg@10",
    seeds=tuple(range(3)),
    decision=Decision.better(margin=0.0),
)
'''


def write(directory: Path, hid: str, claim: str, force: bool = False) -> Path:
    """Write ``<directory>/<id>_<slug>.py`` and check that it loads; return its path."""
    if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", hid):
        raise HarnessError(f"new: id {hid!r} must start with a letter and use letters, digits, _ or -, e.g. H99")
    if not claim.strip():
        raise HarnessError("new: --claim is empty; state the claim in one sentence")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    taken = [e.hypothesis.id for e in load_all(directory) if e.hypothesis is not None]
    if hid in taken and not force:
        raise HarnessError(f"new: hypothesis id {hid!r} already exists in {directory}; pick another id or --force")
    slug = re.sub(r"[^a-z0-9]+", "_", claim.lower()).strip("_")[:40] or "hypothesis"
    path = directory / f"{hid.lower()}_{slug}.py"
    if path.exists() and not force:
        raise HarnessError(f"new: {path} exists; pass --force to overwrite")
    path.write_text(TEMPLATE.format(id=hid, claim=claim.strip()))
    try:
        load_file(path)
    except HarnessError:
        path.unlink()
        raise
    return path
