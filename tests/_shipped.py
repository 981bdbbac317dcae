"""The hypothesis files shipped with the harness, by name, and the checks on the committed files that
depend on them. They read only the named files, so what a user adds to ``hypotheses/`` (the README's
``python -m harness new H99``) or to ``results/`` changes nothing; ``tests/test_user_files.py`` proves it
on a copy of both folders."""
from __future__ import annotations

import difflib
import re
from pathlib import Path

from harness.outputs import index, reference_runs
from harness.runner import discover

ROOT = Path(__file__).resolve().parents[1]

#: id -> file of every hypothesis shipped in ``hypotheses/`` (add a row when shipping a new one).
SHIPPED = {"H1": "h1_content_dense.py", "H1b": "h1b_content_only_dense.py", "H2": "h2_als_vs_popularity.py",
           "H3": "h3_itemknn_vs_als.py", "H4": "h4_rerank_map.py", "H5": "h5_content_vs_cf.py",
           "H6": "h6_gmm_profile_cold_items.py", "H7": "h7_hnsw_vs_exact.py", "H8": "h8_two_tower_cold.py",
           "H9": "h9_tuned_als.py", "H10": "h10_content_long_tail.py", "H1r": "h1r_content_dense_rolling.py"}


def shipped_ids(hypotheses: Path = ROOT / "hypotheses") -> list[str]:
    """The shipped ids in the order ``discover.registered_ids`` lists them (by file name), each file
    loaded and checked to declare its id."""
    out = []
    for hid, name in sorted(SHIPPED.items(), key=lambda kv: kv[1]):
        hyp = discover.load_file(Path(hypotheses) / name)
        assert hyp.id == hid, f"{name} declares {hyp.id!r}, not {hid!r}"
        out.append(hid)
    return out


def stale_reference_index(ref: Path, hypotheses: Path = ROOT / "hypotheses") -> list[str]:
    """What differs between the committed ``<ref>/README.md`` (and each ``<ref>/<H>/README.md``) and the
    index rebuilt from the run folders: unified-diff lines, empty when current."""
    idx = index.scan(ref)
    rebuilt = {ref / "README.md": index.render_root(idx, "Reference runs",
                                                    reference_runs.intro(ref, idx, shipped_ids(hypotheses)))}
    rebuilt.update({ref / h / "README.md": index.render_hypothesis(h, runs) for h, runs in idx.runs.items()})
    out = []
    for path, text in rebuilt.items():
        have = path.read_text() if path.is_file() else ""
        out += list(difflib.unified_diff(have.splitlines(), text.splitlines(), f"{path} (committed)",
                                         f"{path} (rebuilt from the run folders)", lineterm="", n=0))
    return out


def clashing_new_examples(hypotheses: Path = ROOT / "hypotheses") -> tuple[list[str], set[str]]:
    """Ids that ``python -m harness new <id>`` examples in the README and the scaffold use, and those of
    them a shipped hypothesis already has."""
    texts = [(ROOT / "README.md").read_text(), (ROOT / "harness" / "cli" / "scaffold.py").read_text()]
    ids = [m for t in texts for m in re.findall(r"python -m harness new (\S+)", t)]
    return ids, set(ids) & set(shipped_ids(hypotheses))
