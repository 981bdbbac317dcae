"""Where fetched public datasets live: a per-user cache directory following the platform convention.

``HARNESS_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/recsys-harness`` (default
``~/.cache/recsys-harness``) on Linux and other Unix systems, ``~/Library/Caches/recsys-harness`` on
macOS and ``%LOCALAPPDATA%\\recsys-harness\\Cache`` on Windows (the conventions ``platformdirs``
follows, without the dependency). A fetched dataset is unpacked into ``<root>/data/<name>/``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "recsys-harness"
ENV = "HARNESS_CACHE_DIR"


def user_cache_dir(environ: dict[str, str] | None = None, platform: str | None = None) -> Path:
    """The per-user cache root (see the module docstring); ``environ`` / ``platform`` default to the process'."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if env.get(ENV):
        return Path(env[ENV]).expanduser()
    if plat == "darwin":
        return Path("~/Library/Caches").expanduser() / APP
    if plat.startswith("win"):
        base = env.get("LOCALAPPDATA") or str(Path("~/AppData/Local").expanduser())
        return Path(base) / APP / "Cache"
    xdg = env.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path("~/.cache").expanduser()
    return base / APP


def dataset_dir(root: Path, name: str) -> Path:
    """``<root>/data/<name>``; ``vk-lsvd:<subsample>`` shares one ``vk-lsvd`` folder (its own layout)."""
    return Path(root) / "data" / str(name).partition(":")[0]
