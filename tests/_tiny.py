"""Small generated VK-layout datasets for tests that need real files but not real data."""
from __future__ import annotations

from pathlib import Path

from harness.data import synthetic, vk_lsvd
from harness.data.base import Interactions
from harness.design.prepare import EvalData, prepare
from harness.design.split import split


def tiny_vk(directory: Path, name: str, **generate) -> Interactions:
    """Generate a synthetic VK-LSVD under ``directory`` (``synthetic.generate`` keywords) and load it."""
    return vk_lsvd.load(synthetic.generate(Path(directory) / "data", **generate), "synthetic", name=name)


def prepared(inter: Interactions, positives: str = "watch_ratio>=0.5") -> EvalData:
    """One variant of ``inter`` on its default split."""
    return prepare(inter, split(inter, inter.default_split), positives)
