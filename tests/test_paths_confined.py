"""Every name that becomes a path is confined: arm and segment names follow one rule (spec), positive-definition
slugs are one plain component, and every writer checks its output path lies under its root (second line of
defence): the run folder, the ``--save-runs`` files, the data cache."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.data.safe_write import confined, is_within, plain_name_problem
from harness.errors import HarnessError
from harness.outputs.run_folder import write_run
from harness.runner.saved_runs import variant_folders, variant_slug, write_runs
from harness.spec import Arm, Segment
from harness.spec.names import name_problem

ROOT = Path(__file__).resolve().parents[1]


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` -> its bytes (None for folders)."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))}


# --------------------------------------------------------------------------- the name rule (spec)
def _names_in_repo() -> set[str]:
    """Every literal arm / segment name written in hypotheses/, tests/, README.md and docs/."""
    names = set()
    files = [*ROOT.glob("hypotheses/*.py"), *ROOT.glob("tests/*.py"), ROOT / "README.md", *ROOT.glob("docs/*"),
             *ROOT.glob("harness/**/*.py"), *ROOT.glob("benchmarks/**/*.py")]
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        names |= set(re.findall(r"""Arm\(\s*["']([^"']*)["']""", text))
        for call in re.findall(r"Segment\.[a-z_]+\(([^()]*)\)", text):
            names |= set(re.findall(r"""name\s*=\s*["']([^"']*)["']""", call))
    return names - {""}


def test_every_name_used_in_the_repo_follows_the_rule():
    names = _names_in_repo()
    assert {"cf+content", "als-hnsw", "lightfm+features", "pop", "dense"} <= names  # the scan found them
    assert {n: name_problem(n) for n in names if name_problem(n)} == {}
    for n in ("als (k64)", "model@v2", "ALS_64.b", "модель", "x" * 64):
        assert Arm(n, "popularity").name == n


@pytest.mark.parametrize("name, problem", [
    ("../../../../tmp/x", "contains '/'"),
    ("a\\b", "contains '\\\\'"),
    ("..", "starts with '.'"),
    (".hidden", "starts with '.'"),
    ("C:x", "contains ':'"),
    ("nul\0", "contains '\\x00'"),
    (" pad", "starts with ' '"),
    ("pad ", "ends with a space"),
    ("x" * 65, "has 65 characters (at most 64)"),
    ("", "is empty"),
    (3, "is not a string (int)"),
])
def test_bad_arm_and_segment_names_are_one_line_naming_the_field_and_the_rule(name, problem):
    with pytest.raises(HarnessError) as arm:
        Arm(name, "popularity")
    with pytest.raises(HarnessError) as seg:
        Segment.history_bucket(0, 20, name=name)
    for exc, field in ((arm, "Arm.name"), (seg, "Segment name")):
        msg = str(exc.value)
        assert msg.startswith(f"{field} {name!r} {problem}; use 1-64 letters, digits, spaces and _ - + . @ ( ), "
                              "not starting with '.' or a space (names become file names), e.g. ")
        assert "\n" not in msg


@pytest.mark.parametrize("variant", ["rating>=4", "..", ".", "../../x", "a/b", "..\\..", "|", "", ".5>=1",
                                     "watch_ratio>=0.5&like", "x" * 300])
def test_a_variant_slug_is_always_one_plain_component(variant):
    slug = variant_slug(variant)
    assert plain_name_problem(slug) is None and not slug.startswith(".") and re.fullmatch(r"[A-Za-z0-9_.]+", slug)
    assert variant_slug("rating>=4") == "rating_ge_4" and variant_slug("like|share") == "like_or_share"


def test_clashing_variant_slugs_get_distinct_folders():
    folders = variant_folders(["rating>=4", "rating >= 4", "like|share", "rating>=4"])
    assert folders["like|share"] == "like_or_share"  # no clash: the plain slug
    a, b = folders["rating>=4"], folders["rating >= 4"]
    assert a != b and a.startswith("rating_ge_4-") and b.startswith("rating_ge_4-")


# --------------------------------------------------------------------------- the confinement check itself
def test_confined_refuses_dotdot_absolute_and_symlinked_folders(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "inner").symlink_to(root / "sub", target_is_directory=True)
    assert confined(root, root / "sub" / "f.txt", "x") == root / "sub" / "f.txt"
    assert confined(root, root / "new" / "deeper" / "f.txt", "x")  # not yet existing: fine
    assert confined(root, root / "inner" / "f.txt", "x")  # a symlink that stays inside: fine
    assert is_within(root, root)
    for bad in (root / ".." / "outside" / "f.txt", root / "sub" / ".." / ".." / "f.txt", root / "link" / "f.txt",
                root / "link", Path("/etc/passwd"), tmp_path / "rootx" / "f"):
        with pytest.raises(HarnessError, match=r"^arm 'a': refusing to write .* outside .*; nothing was written$"):
            confined(root, bad, "arm 'a'")


def test_plain_file_names():
    assert plain_name_problem("ml-100k.zip") is None and plain_name_problem("a..b.zip") is None
    for bad in ("../../x", "/abs", "a\\b", "C:x", "..", ".", "", "a\0b", None, 12):
        assert plain_name_problem(bad) is not None, bad


# --------------------------------------------------------------------------- second line of defence in the writers
def test_write_run_refuses_a_folder_that_escapes_its_root(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (results / "H1").symlink_to(outside, target_is_directory=True)
    before = _tree(tmp_path)
    for final in (results / "H1" / "run", results / ".." / "escaped" / "run"):
        with pytest.raises(HarnessError, match=r"run folder 'run': refusing to write"):
            write_run(final, lambda tmp: (tmp / "summary.json").write_text("{}"), root=results)
    assert _tree(tmp_path) == before
    good = write_run(results / "H2" / "run", lambda tmp: (tmp / "summary.json").write_text("{}"), root=results)
    assert (good / "summary.json").is_file()


def test_write_runs_checks_every_path_before_writing_any(tmp_path):
    """An arm name that escaped the spec's check (built around Arm's validation) is still refused, and the
    valid file before it is not written either."""
    def task(name: str) -> SimpleNamespace:
        arm = SimpleNamespace(name=name)
        return SimpleNamespace(task=SimpleNamespace(variant="rating>=4", arm=arm, seed=0), top=np.array([[0]]))

    p = SimpleNamespace(hyp=SimpleNamespace(unit="users"),
                        inter=SimpleNamespace(user_ids=np.array([7]), item_ids=np.array([5])),
                        data={"rating>=4": SimpleNamespace(users=np.array([0]))})
    runs = tmp_path / "run" / "runs"
    with pytest.raises(HarnessError, match=r"^--save-runs: arm '\.\./\.\./\.\./x': refusing to write"):
        write_runs(runs, [task("ok"), task("../../../x")], p, "csv")
    assert _tree(tmp_path) == {}
    write_runs(runs, [task("ok")], p, "csv")
    assert (runs / "rating_ge_4" / "ok_seed0.csv").read_text() == "user,item,rank\n7,5,1\n"


# --------------------------------------------------------------------------- end to end: the CLI
HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="H1", claim="c", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("pop", "popularity"), treatment=Arm({name!r}, "itemknn", K=20),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0,),
    decision=Decision.not_worse(0.01), n_boot=1000)
"""


def test_an_arm_name_with_dotdot_is_refused_by_run_save_runs(ml100k_dir, tmp_path):
    """Before: ``--save-runs`` wrote ``<tmp_path>/escaped_seed0.parquet`` outside the results folder, exit 0."""
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "h1.py").write_text(HYP.format(name="../../../../../escaped"))
    before = _tree(tmp_path)
    out = subprocess.run([sys.executable, "-m", "harness", "run", "H1", "--hypotheses", str(hyps), "--data-dir",
                          str(ml100k_dir), "--results-dir", str(tmp_path / "results"), "--cache-dir",
                          str(tmp_path / "cache"), "--save-runs", "parquet", "--quiet"],
                         capture_output=True, text=True, cwd=tmp_path, env={**os.environ})
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith(f"error: {hyps / 'h1.py'}: Arm.name '../../../../../escaped' contains '/'; use 1-64 "
                                 "letters, digits")
    assert _tree(tmp_path) == before  # nothing created, changed or deleted anywhere under tmp_path
