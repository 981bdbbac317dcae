"""A hypothesis folder cannot end a command silently: whatever a hypothesis (or arm) file raises while
loading, ``sys.exit(0)`` included, is a broken file (exit 2, one line naming the file and line) for
``run``, ``gate`` and ``list``; ``gate`` exits 0 only after its PASS line; undecodable bytes are named."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from _errcheck import cli, new_files, one_line_exit_2, run_of_ht, snapshot, write_hyp
from harness.errors import HarnessError
from harness.outputs import gate
from harness.runner import discover

# Each ends loading with a BaseException that is not an Exception: two lines of set-up, then line 3 raises it.
RAISERS = {
    "sys.exit(0)": ("import sys\n\n", "sys.exit(0)", r"hx_bad\.py:3: the file called sys\.exit\(0\) while loading; "
                    r"a hypothesis file only defines HYPOTHESIS: remove the exit call"),
    "exit()": ("\n\n", "exit()", r"hx_bad\.py:3: the file called sys\.exit\(None\) while loading"),
    "raise SystemExit('bye')": ("\n\n", "raise SystemExit('bye')", r"hx_bad\.py:3: the file called sys\.exit\('bye'\)"),
    "GeneratorExit": ("\n\n", "raise GeneratorExit('x')", r"hx_bad\.py:3: GeneratorExit: x"),
    "own BaseException": ("class Stop(BaseException):\n    pass\n", "raise Stop('halt')", r"hx_bad\.py:3: Stop: halt"),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny dataset, a good hypothesis HT and a baseline run of it (for ``gate``)."""
    root = tmp_path_factory.mktemp("broken")
    data, run_dir = run_of_ht(root, root / "hyps_good", root / "base")
    return root, data, run_dir


def _broken(folder: Path, data: Path, case: str) -> None:
    """``folder`` with a good HT and ``hx_bad.py`` declaring id HX, whose loading ends with ``case``."""
    head, stmt, _ = RAISERS[case]
    write_hyp(folder, data)
    bad = write_hyp(folder, data, name="hx_bad.py", id="HX")
    bad.write_text(head + stmt + "\n" + bad.read_text())
    assert bad.read_text().splitlines()[2] == stmt


@pytest.mark.parametrize("case", list(RAISERS))
def test_a_file_that_exits_while_loading_is_a_broken_file(case, base, tmp_path):
    root, data, baseline = base
    hyps = tmp_path / "hyps"
    _broken(hyps, data, case)
    pattern = RAISERS[case][2]
    before = snapshot(tmp_path)
    flags = ["--hypotheses", str(hyps), "--results-dir", str(tmp_path / "res"), "--cache-dir", str(tmp_path / "c")]
    one_line_exit_2(cli("run", "HX", *flags, "--quiet", cwd=tmp_path), pattern)
    out = cli("gate", "HX", "--baseline", str(baseline), "--margin", "0.01", *flags, "--quiet", cwd=tmp_path)
    one_line_exit_2(out, pattern)
    assert "PASS" not in out.stdout
    listed = cli("list", "--hypotheses", str(hyps), cwd=tmp_path)
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("HT ")  # the good file is still listed
    assert lines[1].startswith("ERROR  ") and re.search(pattern, lines[1]), lines
    assert new_files(tmp_path, before, allowed=()) == []


def test_keyboard_interrupt_while_loading_still_interrupts(tmp_path):
    p = tmp_path / "h.py"
    p.write_text("raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        discover.load_file(p)


def test_an_arm_that_exits_cannot_make_gate_pass(base, tmp_path):
    """The treatment's fit calls sys.exit(0) (in the worker processes and in-process): the gate exits 2
    with one line naming the arm, never 0 without a PASS line; an arm file exiting at import likewise."""
    root, data, baseline = base
    hyps = tmp_path / "hyps"
    (hyps / "arms").mkdir(parents=True)
    (hyps / "arms" / "exiting.py").write_text("import sys\n\n\ndef fit(train, seed):\n    sys.exit(0)\n")
    (hyps / "arms" / "exits_on_import.py").write_text("import sys\nsys.exit(0)\n\n\ndef fit(train, seed):\n"
                                                      "    pass\n")
    write_hyp(hyps, data, treatment='Arm("pop", "arms/exiting.py:fit")')
    for n_jobs in ("1", "2"):
        out = cli("gate", "HT", "--baseline", str(baseline), "--margin", "0.01", "--hypotheses", str(hyps),
                  "--results-dir", str(tmp_path / "res"), "--cache-dir", str(tmp_path / "c"), "--quiet",
                  "--n-jobs", n_jobs, cwd=tmp_path)
        one_line_exit_2(out, r"arm 'pop' \(.*exiting\.py:fit\) called sys\.exit\(0\) while fitting; .*remove the "
                             r"exit call \(positives 'rating>=3', seeds 0, 1\)")
        assert out.stdout == ""
    assert not (tmp_path / "res").exists()
    write_hyp(hyps, data, treatment='Arm("pop", "arms/exits_on_import.py:fit")')
    out = cli("gate", "HT", "--baseline", str(baseline), "--margin", "0.01", "--hypotheses", str(hyps), cwd=tmp_path)
    one_line_exit_2(out, r"ht\.py: Arm 'pop': arm file .*exits_on_import\.py: importing it raised SystemExit: 0")


def test_gate_exit_code_is_0_only_once_the_pass_line_is_written():
    """``gate.finish`` is the gate command's last act: 0 only after writing a PASS line; a write that fails
    raises (no exit code at all); a FAIL is 1."""
    ok = gate.GateResult(True, "PASS: arm ndcg@10 ...", ())
    written: list[str] = []
    assert gate.finish(ok, written.append) == 0 and written == [ok.message]

    def broken(text: str) -> None:
        raise BrokenPipeError

    with pytest.raises(BrokenPipeError):
        gate.finish(ok, broken)
    assert gate.finish(gate.GateResult(False, "FAIL: ...", ()), written.append) == 1
    assert gate.finish(gate.GateResult(True, "something else", ()), written.append) == 1


def test_a_latin1_byte_names_the_file_line_and_offset(base, tmp_path):
    root, data, _ = base
    hyps = tmp_path / "hyps"
    p = write_hyp(hyps, data, id="HL", name="hl.py")
    raw = p.read_bytes().replace(b'claim="c"', b'claim="caf\xe9"')
    p.write_bytes(raw)
    offset, line = raw.index(b"\xe9"), raw[:raw.index(b"\xe9")].count(b"\n") + 1
    pattern = rf"hl\.py:{line}: byte 0xe9 at offset {offset} is not valid utf-8; save the file as UTF-8"
    one_line_exit_2(cli("run", "HL", "--hypotheses", str(hyps), "--results-dir", str(tmp_path / "res"), cwd=tmp_path),
                    pattern)
    listed = cli("list", "--hypotheses", str(hyps), cwd=tmp_path)
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    assert listed.stdout.startswith("ERROR  ") and re.search(pattern, listed.stdout)
    with pytest.raises(HarnessError, match=pattern):
        discover.load_file(p)
    p.write_bytes(b"# -*- coding: latin-1 -*-\n" + raw)  # declared: read as Latin-1, loads
    assert discover.load_file(p).claim == "caf\u00e9"
