"""Bad hypothesis files and CLI misuse: one line naming the file/field and the fix, exit 2, no results."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GOOD = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id={id!r}, claim="c", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("pop", "popularity"), treatment=Arm("lfm", {kind!r}, epochs=1),
    segments=({segment},), metrics=({metric!r},), primary={metric!r}, seeds={seeds},
    decision=Decision.not_worse({margin}))
"""


def write_hyp(d: Path, name="h1_x.py", id="H1", kind="lightfm", segment="Segment.all()", metric="ndcg@10",
              seeds="(0,)", margin="0.01", text=None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text(text if text is not None else GOOD.format(id=id, kind=kind, segment=segment, metric=metric,
                                                            seeds=seeds, margin=margin))
    return p


def cli(*args, cwd: Path):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd)


CASES = {
    "syntax error": (dict(text="HYPOTHESIS = Hypothesis(\n"), r"h1_x\.py:\d+: syntax error"),
    "missing HYPOTHESIS": (dict(text="x = 1\n"), r"no HYPOTHESIS defined; add HYPOTHESIS = Hypothesis"),
    "unknown arm kind": (dict(kind="lightfmm"), r"Unknown arm kind 'lightfmm'. Did you mean: lightfm\?"),
    "unknown metric": (dict(metric="ndgc@10"), r"Unknown metric 'ndgc'. Did you mean: ndcg\?"),
    "k <= 0": (dict(metric="ndcg@0"), r"k=0; k must be a positive integer"),
    "empty seeds": (dict(seeds="()"), r"field 'seeds' is empty"),
    "margin of the wrong sign": (dict(margin="-0.01"), r"decision.margin=-0.01 is negative.*use 0.01"),
    "unknown segment": (dict(segment="'dense'"), r"unknown segment 'dense'; use Segment.all\(\)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_hypothesis_file(case, tmp_path):
    kw, pattern = CASES[case]
    hyps = tmp_path / "hyps"
    write_hyp(hyps, **kw)
    for cmd in (["list"], ["run", "H1", "--data-dir", str(tmp_path)]):
        out = cli(*cmd, "--hypotheses", str(hyps), "--results-dir", str(tmp_path / "results"), cwd=tmp_path)
        assert out.returncode == 2, (case, cmd, out.stdout, out.stderr)
        msg = out.stderr if cmd[0] == "run" else out.stdout
        import re
        assert re.search(pattern, msg), (case, msg)
        assert "Traceback" not in out.stderr
        if cmd[0] == "run":
            assert len(out.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "results").exists()


def test_duplicate_ids_across_files(tmp_path):
    hyps = tmp_path / "hyps"
    write_hyp(hyps, name="h1_a.py")
    write_hyp(hyps, name="h1_b.py")
    out = cli("list", "--hypotheses", str(hyps), cwd=tmp_path)
    assert out.returncode == 2
    assert "duplicate hypothesis id 'H1'" in out.stdout and "h1_a.py" in out.stdout
    out = cli("run", "H1", "--hypotheses", str(hyps), cwd=tmp_path)
    assert out.returncode == 2 and "duplicate hypothesis id 'H1'" in out.stderr


def test_a_broken_file_is_named_by_the_id_it_declares(tmp_path):
    """A file not named like its id (mine.py declaring id="HX") fails to load: `run HX` prints that file's
    error, not "unknown hypothesis"."""
    hyps = tmp_path / "hyps"
    write_hyp(hyps, name="mine.py", id="HX", metric="ndgc@10")
    write_hyp(hyps, name="h2_ok.py", id="H2")
    out = cli("run", "HX", "--hypotheses", str(hyps), "--results-dir", str(tmp_path / "results"), cwd=tmp_path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "mine.py" in out.stderr and "Unknown metric 'ndgc'" in out.stderr, out.stderr
    out = cli("run", "HY", "--hypotheses", str(hyps), cwd=tmp_path)  # an id nobody declares: suggestions
    assert out.returncode == 2 and "Unknown hypothesis 'HY'" in out.stderr and "mine.py" not in out.stderr


def test_unknown_hypothesis_suggests_close_ids(tmp_path):
    hyps = tmp_path / "hyps"
    write_hyp(hyps, id="H12")
    out = cli("run", "H13", "--hypotheses", str(hyps), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: Unknown hypothesis 'H13'. Did you mean: H12? Available: H12"


def test_unknown_dataset(tmp_path):
    hyps = tmp_path / "hyps"
    write_hyp(hyps)
    out = cli("run", "H1", "--dataset", "ml-100", "--hypotheses", str(hyps), "--results-dir",
              str(tmp_path / "results"), cwd=tmp_path)
    assert out.returncode == 2
    assert "Unknown dataset 'ml-100'. Did you mean: ml-100k" in out.stderr
    assert not (tmp_path / "results").exists()


def test_missing_data_dir(tmp_path):
    hyps = tmp_path / "hyps"
    write_hyp(hyps)
    out = cli("run", "H1", "--hypotheses", str(hyps), cwd=tmp_path)  # the session runs with HARNESS_OFFLINE=1
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1
    assert "ml-100k is not in the data cache and --offline / HARNESS_OFFLINE=1 is set: download " \
           "https://files.grouplens.org/datasets/movielens/ml-100k.zip by hand, unzip it and pass --data-dir " \
           "with the unzipped folder (the one holding u.data, u.item, u.user)" in out.stderr
    out = cli("run", "H1", "--hypotheses", str(hyps), "--data-dir", str(tmp_path / "nope"), cwd=tmp_path)
    assert out.returncode == 2 and "is not a directory" in out.stderr


@pytest.mark.parametrize("flag", [["--n-jobs", "0"], ["--n-jobs", "two"], ["--seeds", "-1"]])
def test_bad_flag_values(flag, tmp_path):
    out = cli("run", "H1", *flag, cwd=tmp_path)
    assert out.returncode == 2
    assert "expected a positive integer" in out.stderr


def test_debug_shows_traceback(tmp_path):
    hyps = tmp_path / "hyps"
    write_hyp(hyps)
    out = cli("run", "H9", "--hypotheses", str(hyps), "--debug", cwd=tmp_path)
    assert out.returncode != 0 and "Traceback" in out.stderr and "HarnessError" in out.stderr


def test_new_scaffolds_a_loadable_file(tmp_path):
    hyps = tmp_path / "hyps"
    out = cli("new", "H99", "--claim", "ALS beats popularity", "--hypotheses", str(hyps), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = cli("list", "--hypotheses", str(hyps), cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("H99") and "ALS beats popularity" in out.stdout
    again = cli("new", "H99", "--claim", "again", "--hypotheses", str(hyps), cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_documented_new_examples_use_free_ids():
    """`python -m harness new <id>` in the README and scaffold docs must not name a shipped hypothesis
    (following it would fail with 'already exists'). Only the shipped files count (tests/_shipped.py): a
    user who followed the README and kept hypotheses/h99_*.py does not fail this."""
    from _shipped import clashing_new_examples

    ids, clashes = clashing_new_examples()
    assert ids and all(i.startswith("H") for i in ids)
    assert not clashes, f"examples {ids} clash with shipped hypotheses {sorted(clashes)}"


def test_rerank_without_lightgbm_says_how_to_install(tmp_path):
    """H4 with LightGBM hidden: one line with the install command, exit 2, nothing written."""
    code = ("import sys; sys.modules['lightgbm'] = None\n"
            "from harness import cli\n"
            f"raise SystemExit(cli.main(['run', 'H4', '--data-dir', {str(tmp_path)!r}, '--results-dir', "
            f"{str(tmp_path / 'results')!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 2
    assert out.stderr.strip() == "error: arm 'rerank' needs LightGBM: pip install -e \".[rerank]\""
    assert not (tmp_path / "results").exists()
