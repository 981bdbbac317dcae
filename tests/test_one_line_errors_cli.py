"""Bad input that used to end in a traceback (or a wrong answer) is one line, exit 2, naming the file or
flag and the fix, with nothing written: non-finite times, numeric spec fields out of range, unusable
--results-dir / --cache-dir, corrupt run files for gate / show / index, gate --margin nan, a broken runs
file (reported once), a one-user dataset; a stale cache entry is recomputed; ``| head`` exits quietly."""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _errcheck import cli, new_files, one_line_exit_2, run_of_ht, snapshot, write_hyp
from harness import cli as harness_cli


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A tiny dataset, hypothesis HT on it (random vs popularity, seeds 0 and 1) and one run of it."""
    root = tmp_path_factory.mktemp("oneline")
    hyps = root / "hyps"
    data, run_dir = run_of_ht(root, hyps, root / "res")
    return root, data, hyps, run_dir


def _run(tmp: Path, hyps: Path, *extra: str, hid: str = "HT") -> subprocess.CompletedProcess:
    return cli("run", hid, "--hypotheses", str(hyps), "--results-dir", str(tmp / "res"), "--cache-dir",
               str(tmp / "cache"), "--quiet", *extra, cwd=tmp)


# ------------------------------------------------------------------ data
@pytest.mark.parametrize("value, shown", [("inf", "inf"), ("-inf", "-inf"), ("1e300", "1e+300")])
def test_a_non_finite_or_out_of_range_time_names_file_column_and_line(env, tmp_path, value, shown):
    """Before: ``inf`` became INT64_MIN silently (the row sorted first in time)."""
    _, data, hyps, _ = env
    frame = pd.read_csv(data).astype({"timestamp": object})
    frame.loc[5, "timestamp"] = value
    frame.to_csv(tmp_path / "bad.csv", index=False)
    before = snapshot(tmp_path)
    one_line_exit_2(_run(tmp_path, hyps, "--dataset", "tabular:bad.csv"),
                    rf"bad\.csv: time column 'timestamp' has a value '{re.escape(shown)}' at line 7 \(1 rows\) that is not a "
                    r"finite time within \+-2\*\*63; use unix seconds or ISO dates")
    assert new_files(tmp_path, before, allowed=()) == []


# ------------------------------------------------------------------ spec fields
SPEC_CASES = {
    "margin inf": (dict(decision="Decision.not_worse(float('inf'))"),
                   r"decision\.margin=inf must be a finite number"),
    "margin nan": (dict(decision="Decision.better(float('nan'))"), r"decision\.margin=nan must be a finite number"),
    "alpha 0.7": (dict(decision="Decision.better(0.0, alpha=0.7)"),
                  r"decision\.alpha=0\.7 must be a finite number in \(0, 0\.5\)"),
    "seed 2**63": (dict(seeds="(0, 2**63)"), r"seed=9223372036854775808 is not a valid seed; seeds are integers "
                                             r"0 <= seed < 2\*\*32 \(numpy's RandomState"),
    "seed 2**32": (dict(seeds="(2**32,)"), r"seed=4294967296 is not a valid seed"),
    "negative seed": (dict(seeds="(-1, 0)"), r"seed=-1 is not a valid seed"),
    "n_boot inf": (dict(n_boot="float('inf')"), r"n_boot=inf must be an integer in \[100, 1000000\]"),
    "split seed": (dict(extra=", split=Split.random(5, seed=-2)"), r"split: seed=-2 is not a valid seed"),
    "split n": (dict(extra=", split=Split.leave_last(2.5)"), r"split: n=2\.5 must be an integer >= 1"),
    "quantile nan": (dict(segment="Segment.activity_quantile(float('nan'))"),
                     r"Segment 'dense': quantile q=nan must be strictly between 0 and 1"),
    "bucket inf": (dict(segment="Segment.history_bucket(0, float('inf'), name='b')"),
                   r"Segment 'b': need integers 0 <= low < high"),
    "adaptive max": (dict(seeds="Seeds.adaptive(max=10**9)"),
                     r"Seeds\.adaptive: max=1000000000 is more seeds than a plan may train"),
}


@pytest.mark.parametrize("case", list(SPEC_CASES))
def test_numeric_spec_fields_are_checked_when_the_file_loads(env, tmp_path, case):
    """Before: ``Decision.not_worse(inf)`` and seeds >= 2**63 loaded fine and crashed after all the training.
    Now ``run`` stops before reading any data (nothing cached, nothing written) and ``list`` shows the file."""
    _, data, _, _ = env
    kw, pattern = SPEC_CASES[case]
    hyps = tmp_path / "hyps"
    write_hyp(hyps, data, **kw)
    before = snapshot(tmp_path)
    one_line_exit_2(_run(tmp_path, hyps), r"ht\.py: .*" + pattern)
    assert new_files(tmp_path, before, allowed=()) == []
    listed = cli("list", "--hypotheses", str(hyps), cwd=tmp_path)
    assert listed.returncode == 2 and listed.stdout.startswith("ERROR  ") and "Traceback" not in listed.stderr
    assert re.search(pattern, listed.stdout), listed.stdout


def test_the_seed_bound_is_what_lightfm_needs():
    """The bound is the tightest consumer's: numpy's RandomState (LightFM, scikit-learn) takes < 2**32."""
    from harness.spec._numbers import SEED_LIMIT

    np.random.RandomState(SEED_LIMIT - 1)
    with pytest.raises(ValueError):
        np.random.RandomState(SEED_LIMIT)


# ------------------------------------------------------------------ task cache
def test_a_readable_but_inconsistent_cache_entry_is_recomputed(env, tmp_path):
    """One entry keeps reading but loses a user's metric value (and another gets a wrong user list): the
    rerun recomputes them, exits 0 and writes exactly what a run without the cache writes. Before: a
    pandas ValueError traceback ("All arrays must be of the same length")."""
    root, _, hyps, first = env
    shutil.copytree(root / "cache", tmp_path / "cache")
    entries = sorted((tmp_path / "cache" / "tasks").glob("*.npz"))
    assert len(entries) == 4
    for path, change in zip(entries[:2], ("short", "users")):
        with np.load(path) as z:
            arrays = dict(z)
        if change == "short":
            arrays["m0"] = arrays["m0"][:-1]
        else:
            arrays["users"] = arrays["users"] + 1
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    out = _run(tmp_path, hyps, "--n-jobs", "2")
    assert out.returncode == 0, out.stderr
    (again,) = (tmp_path / "res" / "HT").glob("*/per_user.parquet")
    fresh = cli("run", "HT", "--hypotheses", str(hyps), "--results-dir", str(tmp_path / "fresh"), "--no-cache",
                "--quiet", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    (nocache,) = (tmp_path / "fresh" / "HT").glob("*/per_user.parquet")
    assert again.read_bytes() == nocache.read_bytes() == (first / "per_user.parquet").read_bytes()
    log = "".join(p.read_text() for p in (tmp_path / "cache" / "logs").glob("*.log"))
    assert log.count("does not fit the task") == 2 and "recomputed" in log
    with np.load(entries[0]) as z:  # rewritten whole
        assert len(z["m0"]) == len(z["users"])


# ------------------------------------------------------------------ results / cache folders
@pytest.mark.parametrize("flag, where, pattern", [
    ("--results-dir", "afile/res", r"--results-dir afile/res: .*afile is a file, so no folder can be created under it"),
    ("--results-dir", "afile", r"--results-dir afile is a file, not a directory"),
    ("--cache-dir", "afile", r"--cache-dir afile is a file, not a directory"),
    ("--cache-dir", "afile/cache", r"--cache-dir afile/cache: .*afile is a file"),
])
def test_results_or_cache_dir_that_cannot_be_a_folder(env, tmp_path, flag, where, pattern):
    """Before: NotADirectoryError / FileExistsError tracebacks (after loading the data)."""
    _, _, hyps, _ = env
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    other = "--cache-dir" if flag == "--results-dir" else "--results-dir"
    out = cli("run", "HT", "--hypotheses", str(hyps), flag, where, other, str(tmp_path / "ok"), "--quiet", cwd=tmp_path)
    one_line_exit_2(out, pattern)
    assert new_files(tmp_path, before, allowed=()) == []


def test_a_read_only_results_dir(env, tmp_path):
    """Read-only, honestly: the tests run as root, for whom chmod 0o555 does not stop writes, so the folder is
    /proc/sys (procfs refuses new entries there to everyone; ``os.access`` reports it, as it does EROFS
    mounts); skipped where that does not hold. The check runs before any data is read."""
    if not Path("/proc/sys").is_dir() or os.access("/proc/sys", os.W_OK):
        pytest.skip("no /proc/sys that refuses writes on this system")
    _, _, hyps, _ = env
    before = snapshot(tmp_path)
    out = cli("run", "HT", "--hypotheses", str(hyps), "--results-dir", "/proc/sys/harness-results", "--cache-dir",
              str(tmp_path / "cache"), "--quiet", cwd=tmp_path)
    one_line_exit_2(out, r"--results-dir /proc/sys/harness-results: /proc/sys is not writable")
    assert new_files(tmp_path, before, allowed=()) == []


def test_a_full_results_dir_is_one_line_and_leaves_nothing(env, tmp_path, monkeypatch, capsys):
    """A full disk cannot be made here (no tiny tmpfs without privileges a test should not use), so the
    run's parquet writer raises OSError(ENOSPC) in-process, after the figures were written into the
    run's temp folder: one line naming --results-dir, exit 2, no file left under the results folder."""
    from harness.outputs import run_folder

    _, _, hyps, _ = env

    def full(path, frame):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(run_folder, "write_parquet", full)
    res = tmp_path / "res"
    code = harness_cli.main(["run", "HT", "--hypotheses", str(hyps), "--results-dir", str(res), "--cache-dir",
                             str(tmp_path / "cache"), "--quiet", "--n-jobs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: --results-dir {res}: cannot write the run folder: No space left on device (")
    assert "per_user.parquet); nothing was kept; free space or pass another --results-dir" in err
    assert [p for p in res.rglob("*") if p.is_file()] == []


# ------------------------------------------------------------------ run files read back
def _copy_run(run: Path, tmp: Path) -> Path:
    dst = tmp / "res" / "HT" / run.name
    shutil.copytree(run, dst)
    return dst


def test_gate_with_a_corrupt_baseline_per_user_table(env, tmp_path):
    """Before: pyarrow's ArrowInvalid traceback."""
    _, _, hyps, run = env
    base = _copy_run(run, tmp_path)
    pq = base / "per_user.parquet"
    pq.write_bytes(pq.read_bytes()[:300])
    before = snapshot(tmp_path)
    out = cli("gate", "HT", "--baseline", str(base), "--run", str(run), "--margin", "0.01", "--hypotheses", str(hyps),
              "--results-dir", str(tmp_path / "gate"), cwd=tmp_path)
    one_line_exit_2(out, rf"{pq}: not a readable parquet file \(.*\); re-run the hypothesis")
    assert out.stdout == "" and new_files(tmp_path, before, allowed=()) == []
    pd.DataFrame({"x": [1]}).to_parquet(pq)  # readable, but not a per-user table
    out = cli("gate", "HT", "--baseline", str(base), "--run", str(run), "--margin", "0.01", "--hypotheses", str(hyps),
              "--results-dir", str(tmp_path / "gate"), cwd=tmp_path)
    one_line_exit_2(out, r"per_user\.parquet: lacks column\(s\) variant, arm, seed, user_index")


CORRUPT = {
    "truncated": (lambda t: t[:100], r"not valid JSON \(.* at line \d+\)"),
    "binary": (lambda t: "\udcff", r"not a text file \(byte 0xff at offset 0\)"),
    "a list": (lambda t: "[1, 2]", r"holds a JSON list, not a summary object"),
    "no cells": (lambda t: json.dumps({k: v for k, v in json.loads(t).items() if k != "cells"}),
                 r"lacks field 'cells'"),
    "cells of the wrong shape": (lambda t: json.dumps({**json.loads(t), "cells": [{"x": 1}]}),
                                 r"has an unexpected shape \(lacks field 'variant'\)"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_show_and_index_with_a_corrupt_summary(env, tmp_path, case):
    """``show`` refuses it in one line; ``index`` skips that run with one line, as it skips other broken
    run folders, and still indexes the good one. Before: JSONDecodeError / KeyError tracebacks."""
    _, _, _, run = env
    bad = _copy_run(run, tmp_path)
    good = tmp_path / "res" / "HT" / "HT-good"
    shutil.copytree(run, good)
    sj = bad / "summary.json"
    edit, pattern = CORRUPT[case]
    sj.write_bytes(edit(sj.read_text()).encode("utf-8", "surrogateescape"))
    one_line_exit_2(cli("show", str(bad), cwd=tmp_path), rf"{sj}: " + pattern)
    out = cli("index", "--results-dir", str(tmp_path / "res"), cwd=tmp_path)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    skipped = [ln for ln in out.stdout.splitlines() if ln.startswith("skipped ")]
    assert len(skipped) == 1 and re.search(rf"skipped {sj}: " + pattern, skipped[0]), out.stdout
    assert "1 hypotheses, 1 runs" in out.stdout
    assert "HT-good" in (tmp_path / "res" / "HT" / "README.md").read_text()


@pytest.mark.parametrize("margin", ["nan", "inf", "-inf"])
def test_gate_margin_must_be_finite(env, tmp_path, margin):
    """Before: nan -> FAIL, inf -> PASS. Refused while parsing the arguments."""
    _, _, hyps, run = env
    out = cli("gate", "HT", "--baseline", str(run), "--run", str(run), f"--margin={margin}", "--hypotheses", str(hyps),
              cwd=tmp_path)
    one_line_exit_2(out, rf"python -m harness gate: argument --margin: expected a finite number, got '{margin}'")
    assert out.stdout == ""


# ------------------------------------------------------------------ pipes
def test_list_into_head_exits_quietly(env, tmp_path):
    """A real pipe: ``list | head -1`` with more output than the pipe holds, so the writer meets the
    closed pipe. Exit status 141 (128 + SIGPIPE, like a Unix tool; see harness.cli.main), no traceback."""
    _, data, _, _ = env
    hyps = tmp_path / "many"
    for i in range(250):
        write_hyp(hyps, data, name=f"h{i}.py", id=f"H{i}")
        p = hyps / f"h{i}.py"
        p.write_text(p.read_text().replace('claim="c"', f'claim="{"long claim " * 90}"'))
    cmd = f"{sys.executable} -m harness list --hypotheses {hyps} | head -1; echo \"status=${{PIPESTATUS[0]}}\" >&2"
    out = subprocess.run(cmd, shell=True, executable="/bin/bash", capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.startswith("H0 "), out.stdout[:200]
    assert "Traceback" not in out.stderr and "BrokenPipeError" not in out.stderr, out.stderr
    assert out.stderr.strip() == "status=141", out.stderr


@pytest.mark.parametrize("argv", [["show", "{run}"], ["data", "list"], ["list", "--hypotheses", "{hyps}"]])
def test_output_into_a_closed_pipe_exits_quietly(env, tmp_path, argv):
    """stdout is a pipe whose reader is already gone (its read end closed before the command starts):
    every write fails, whether in a ``print`` or in the final flush of a short output."""
    _, _, hyps, run = env
    argv = [a.format(run=run, hyps=hyps) for a in argv]
    r, w = os.pipe()
    os.close(r)
    try:
        out = subprocess.run([sys.executable, "-m", "harness", *argv], stdout=w, stderr=subprocess.PIPE, text=True,
                             cwd=tmp_path)
    finally:
        os.close(w)
    assert out.returncode == 141 and out.stderr == "", out.stderr


# ------------------------------------------------------------------ errors inside tasks, statistics
def test_a_broken_runs_file_is_reported_once_without_resume_advice(env, tmp_path):
    """Before: the same line once per seed, ending "finished tasks are cached, rerun to resume"."""
    _, data, _, _ = env
    (tmp_path / "runs.csv").write_text("foo,bar\n0,100\n")  # no user / item / rank columns
    hyps = tmp_path / "hyps"
    write_hyp(hyps, data, treatment=f'Arm("mine", "runs", path="{tmp_path / "runs.csv"}")', seeds="(0, 1, 2)")
    before = snapshot(tmp_path)
    line = one_line_exit_2(_run(tmp_path, hyps, "--n-jobs", "2"),
                           r"^error: run file .*runs\.csv: .*foo, bar.* \(arm 'mine', positives 'rating>=3', "
                           r"seeds 0, 1, 2\) \(log: .*\)$")
    assert line.count("runs.csv") == 1 and "resume" not in line and "rerun" not in line
    assert new_files(tmp_path, before, allowed=("cache/logs", "cache/tasks")) == []


def test_a_one_user_dataset_names_the_dataset_and_the_cause(env, tmp_path):
    """Before: "delta needs >= 1 seed and >= 2 users, got shape (2, 1)"."""
    _, data, hyps, _ = env
    frame = pd.read_csv(data)
    frame[frame["user_id"] == 0].to_csv(tmp_path / "one.csv", index=False)
    before = snapshot(tmp_path)
    one_line_exit_2(_run(tmp_path, hyps, "--dataset", "tabular:one.csv", "--n-jobs", "1"),
                    r"dataset 'tabular:one\.csv': only 1 user has a test positive in segment 'all' for positives "
                    r"'rating>=3'; the paired statistics need at least 2 users: use more data or another split")
    assert new_files(tmp_path, before, allowed=("cache/logs", "cache/tasks")) == []
