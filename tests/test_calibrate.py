"""calibrate: A/A p-values over seed pairs, and the CLI table."""
from __future__ import annotations

import subprocess
import sys

import numpy as np

from harness.calibrate import aa_pvalues

HYP = """from harness.spec import Arm, Decision, Hypothesis, Segment
HYPOTHESIS = Hypothesis(id="HC", claim="c", dataset="ml-100k", positives=("rating>=4",),
    baseline=Arm("cf", "lightfm", no_components=8, epochs=2), treatment=Arm("pop", "popularity"),
    segments=(Segment.all(),), metrics=("ndcg@10",), primary="ndcg@10", seeds=(0, 1),
    decision=Decision.not_worse(0.01))
"""


def test_aa_pvalues_under_exchangeable_seeds_are_calibrated():
    """Seeds that are exchangeable noise around one truth: every test's rejection rate is near alpha."""
    rng = np.random.default_rng(5)
    n_sets, k, n = 60, 6, 400
    rejections = {}
    for _ in range(n_sets):
        truth = rng.integers(0, 4, n) / 4
        vals = truth + rng.choice([0.0, 0.25, -0.25], size=(k, n), p=[0.6, 0.2, 0.2])
        for test, ps in aa_pvalues(vals, 500, rng, 0.05).items():
            rejections.setdefault(test, []).extend(np.asarray(ps) <= 0.05)
    for test, rej in rejections.items():
        rate = np.mean(rej)
        assert 0.01 < rate < 0.10, (test, rate)  # 900 correlated pairs: loose band around 0.05


def test_calibrate_cli_prints_a_table(ml100k_dir, tmp_path):
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    (hyps / "hc.py").write_text(HYP)
    out = subprocess.run([sys.executable, "-m", "harness", "calibrate", "HC", "--data-dir", str(ml100k_dir),
                          "--hypotheses", str(hyps), "--seeds", "4", "--quiet", "--cache-dir", str(tmp_path / "c")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [ln for ln in out.stdout.splitlines() if ln.startswith("rating>=4")]
    assert len(rows) == 5  # 5 tests x 1 segment
    for ln in rows:
        rate = float(ln.split()[-4])
        assert 0.0 <= rate <= 1.0 and ln.split()[-1] == "6"  # 4 seeds -> 6 pairs
