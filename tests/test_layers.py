"""The layering contract (pyproject.toml [tool.importlinter]) holds, names every stage, and bites.

`lint-imports` is the check; these tests run it on the package and on a copy with one upward import
and one cycle added, so a contract that stopped checking anything would fail here."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _lint(root: Path) -> subprocess.CompletedProcess:
    if not Path(LINT).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(root), "HOME": str(root),
           "LANG": "C.UTF-8"}
    return subprocess.run([LINT, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "harness", root / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_contracts_are_kept():
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BROKEN" not in out.stdout
    assert out.stdout.count(" KEPT") == len(_contracts())


def test_the_layers_contract_names_every_stage():
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    named = {m.strip() for layer in layers for m in layer.split("|")}
    stages = {f"harness.{p.stem if p.suffix else p.name}" for p in (ROOT / "harness").iterdir()
              if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
              or (p.is_dir() and (p / "__init__.py").is_file())}
    assert stages == named, f"not in the layers contract: {sorted(stages - named)}; named but absent: {sorted(named - stages)}"


def test_an_upward_import_breaks_the_contract(tmp_path):
    root = _copy(tmp_path)
    low = root / "harness" / "stats" / "_results.py"
    low.write_text(low.read_text() + "\nfrom harness.runner import tasks  # noqa: E402,F401 (upward on purpose)\n")
    out = _lint(root)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "harness.stats is not allowed to import harness.runner" in out.stdout
    assert "harness.stats._results -> harness.runner.tasks" in out.stdout


def test_a_cycle_between_siblings_breaks_the_contract(tmp_path):
    root = _copy(tmp_path)
    fb = root / "harness" / "design" / "feedback.py"  # prepare imports feedback; now feedback imports prepare
    fb.write_text(fb.read_text() + "\nfrom harness.design import prepare  # noqa: E402,F401 (a cycle on purpose)\n")
    out = _lint(root)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "No import cycles" in out.stdout and "BROKEN" in out.stdout
    assert "harness.design" in out.stdout and ".prepare -> .feedback" in out.stdout


def test_public_surfaces_of_the_move():
    """What README documents keeps working after the restructure."""
    import harness
    from harness import calibrate
    from harness.spec import Arm, Decision, Hypothesis, Seeds, Segment, Split  # noqa: F401

    assert callable(calibrate.run) and callable(calibrate.render)
    assert calibrate.__name__ == "harness.runner.calibrate"
    assert harness.__version__
    with pytest.raises(AttributeError):
        harness.no_such_name  # noqa: B018
