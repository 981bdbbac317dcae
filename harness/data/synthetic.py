"""A synthetic VK-LSVD: the real on-disk layout with a planted, documented structure.

:func:`generate` writes exactly the files :mod:`harness.data.vk_lsvd` reads (same names, columns,
dtypes and npz arrays as the Hugging Face dataset ``deepvk/VK-LSVD``)::

    <root>/subsamples/<subsample>/train/week_00.parquet ... week_24.parquet
    <root>/subsamples/<subsample>/validation/week_25.parquet
    <root>/metadata/items_metadata.parquet    item_id u32, author_id u32, duration u8, train_interactions_rank u32
    <root>/metadata/users_metadata.parquet    user_id u32, age u8, gender u8, geo u8, train_interactions_rank u32
    <root>/metadata/item_embeddings.npz       item_id (n,) u32, embedding (n, 64) float16

plus two files the reader ignores: ``SYNTHETIC.json`` (parameters and the planted counts) and
``synthetic_truth.npz`` (the latent factors, for tests and for checking what a model recovered).

Planted structure (the "truth")
-------------------------------
* Latent factors: ``u_u, v_i ~ N(0, I_16)``; affinity ``a_ui = u_u . v_i / 4`` (variance 1).
* Item popularity: bias ``b_i = -0.9 log(r_i)`` for a random popularity rank ``r_i`` (Zipf-like skew).
* Exposure: user ``u`` sees ``n_u`` distinct items (VK-LSVD has no repeated user-item exposure),
  drawn without replacement with probability ``softmax(1.5 a_ui + b_i)`` (Gumbel top-k).
  ``n_u = 1 + floor(LogNormal(mu, 1.1))``: heavy-tailed activity (top 10 % of users hold ~40 %
  of interactions), ``mu`` set so the mean is ``mean_interactions``.
* Time: 80 % of users are active from week 0, 20 % arrive in a uniformly random later week 1..25
  (new users). Each exposure falls in a uniform week between the arrival week and 24, or in the
  validation week 25, which gets the weight of ``VALIDATION_WEIGHT`` (3) ordinary weeks so that
  enough users have test positives.
* Watch time: duration ``d_i`` (uint8 s, log-normal around 25 s, 5..255; 0.5 % of items have
  duration 0 to exercise that path). Watch ratio
  ``r = 1.3 sigmoid(1.6 a + 0.8 eps - 2.2) (20 / max(d, 5))^0.15`` plus, with probability
  ``0.1 sigmoid(2a)``, a re-watch of 0.5-2.5 extra plays; ``timespent = min(round(r d), 255)``.
  So ``watch_ratio >= 0.5`` (positive definition P1) is monotone in affinity.
* Reactions: ``P(like) = sigmoid(1.5 a - 4.4)``, ``P(share) = sigmoid(1.2 a - 5.5)``,
  ``P(bookmark) = sigmoid(1.2 a - 5.3)``, ``P(dislike) = sigmoid(-1.5 a - 3.5)``; so
  ``like|share|bookmark`` (P2) is rarer than P1 and also monotone in affinity. On the default
  size ~52 % of rows are P1 positives and ~16 % P2 positives (exposed items have mean affinity ~1.1).
* Content: item embeddings carry a share ``s = content_signal`` of the item signal:
  ``z_i = sqrt(s) v_i + sqrt(1 - s) e_i`` (``e_i ~ N(0, I_16)``), ``embedding_i = z_i W + 0.05 n_i``
  with ``W`` a random 16 x 64 matrix with orthonormal rows and ``n_i ~ N(0, I_64)``; float16 on
  disk. The best linear prediction of ``v_i`` from the embedding explains a share ~``s`` of its
  variance (R^2 ~ s per latent dimension). 3 % of items have no embedding.
* User metadata: ``age`` is 35 + 8 u_u[0] + noise (so age segments differ in taste), gender and geo
  are random; 1 % of interacting users are missing from users_metadata.
* Cold items (``cold_items > 0``, dataset ``synthetic-vk:cold``; none by default): extra items with
  their own factors, popularity and embedding (same projection) that are exposed only in the
  validation week, to each user Poisson(expected validation exposures x cold share) times, by the
  same Gumbel top-k and with the same signals; drawn from separate random streams, so every other
  row, id and array is byte-identical to the dataset without them (``synthetic_truth.npz`` gains
  ``cold_item_*`` arrays).
* Noise for the reader: 5 % extra items and users exist only in metadata; a handful
  (``N_DUPLICATES``) of interaction rows are written twice (exact copies, same week file).

What a model should find: a CF model (e.g. LightFM without features) can learn ``v_i`` and ``b_i``
of items with enough training interactions, so for active users on warm items content adds little
beyond what the interactions already show, and at ``s < 1`` the noisy part of the embedding can only
hurt; a content-only model can recover at most the share ``s`` of the item signal (and no
popularity); content helps most for items with few training interactions.

Determinism: everything derives from ``seed`` through ``numpy.random.SeedSequence`` streams (one
for items/users, one per user batch); the same arguments give byte-identical files.

Code: :mod:`harness.data.synthetic_simulation` draws the planted structure, :mod:`harness.data.synthetic_files`
writes the files (:data:`GENERATOR_VERSION` lives there); this module holds the default sizes and the
entry points (:func:`generate`, :func:`ensure`, :func:`load`, :func:`info`).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from harness.data.safe_write import make_temp_dir
from harness.data.synthetic_files import GENERATOR_VERSION, N_DUPLICATES, _build  # noqa: F401 (re-exported)
from harness.data.synthetic_simulation import EMBED_DIM, LATENT_DIM, N_WEEKS  # noqa: F401 (re-exported)
from harness.data.synthetic_simulation import VALIDATION_WEEK, VALIDATION_WEIGHT  # noqa: F401 (re-exported)
from harness.errors import HarnessError

#: Subsample directory name written by default.
SUBSAMPLE = "synthetic"
#: Default size at ``scale=1`` (the ``synthetic-vk`` dataset).
DEFAULT_USERS = 3000
DEFAULT_ITEMS = 2000
DEFAULT_MEAN_INTERACTIONS = 55.0
#: Cold items of ``synthetic-vk:cold`` (first exposed in the validation week).
DEFAULT_COLD_ITEMS = 200
#: Named sizes, ``synthetic-vk:<name>`` (:func:`generate` keywords). ``notebook``: the size of the VK-LSVD
#: subsample the H1 notebook ran on (10,000 users, 20,000 items, ~32 M rows).
PRESETS: dict[str, dict] = {"notebook": {"n_users": 10_000, "n_items": 20_000, "mean_interactions": 4700.0}}


def generate(root: Path, *, n_users: int = DEFAULT_USERS, n_items: int = DEFAULT_ITEMS, seed: int = 0,
             content_signal: float = 0.5, scale: int = 1, subsample: str = SUBSAMPLE,
             mean_interactions: float = DEFAULT_MEAN_INTERACTIONS, cold_items: int = 0) -> Path:
    """Write a synthetic VK-LSVD into ``root`` (replacing it) and return ``root``.

    Parameters
    ----------
    root : target directory; built in a temporary directory beside it and renamed into place, so a
        crash never leaves a half-written dataset at ``root``.
    n_users, n_items : users and items that interact at ``scale=1`` (5 % more of each exist only
        in the metadata files).
    seed : everything is deterministic given the arguments.
    content_signal : share ``s`` in [0, 1] of the item latent signal carried by the embeddings.
    scale : multiplies the number of users (and so the interaction count); items are unchanged.
    subsample : name of the ``subsamples/<name>`` directory.
    mean_interactions : mean exposures per user (before the per-user cap of ``n_items // 3``).
    cold_items : extra items first exposed in the validation week (0: none, and the files are exactly
        those without the parameter): own latent factors, popularity and content (same projection),
        exposed to each user Poisson(expected validation exposures x ``cold_items / (n_items + cold_items)``)
        times; from their own random streams, so every other row is unchanged.

    Returns
    -------
    Path : ``root``.
    """
    if not 0.0 <= float(content_signal) <= 1.0:
        raise HarnessError(f"synthetic: content_signal={content_signal} must be in [0, 1]")
    if int(scale) < 1 or int(n_users) < 1 or int(n_items) < 30:
        raise HarnessError(f"synthetic: need scale >= 1, n_users >= 1, n_items >= 30 "
                           f"(got scale={scale}, n_users={n_users}, n_items={n_items})")
    if mean_interactions < 1:
        raise HarnessError(f"synthetic: mean_interactions={mean_interactions} must be >= 1")
    if isinstance(cold_items, bool) or not isinstance(cold_items, int) or cold_items < 0:
        raise HarnessError(f"synthetic: cold_items={cold_items!r} must be an integer >= 0")
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(root.parent, f".{root.name}.tmp-")
    try:
        _build(tmp, n_users=int(n_users) * int(scale), n_items=int(n_items), seed=int(seed),
               content_signal=float(content_signal), mean_interactions=float(mean_interactions),
               subsample=subsample, cold_items=int(cold_items))
        old = None
        if root.exists():
            old = make_temp_dir(root.parent, f".{root.name}.old-")
            os.replace(root, old / "x")
        os.replace(tmp, root)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def cache_path(cache_dir: Path, scale: int = 1, seed: int = 0, cold_items: int = 0, preset: str | None = None) -> Path:
    """Directory :func:`ensure` uses: ``cache_dir/synthetic-vk-x{scale}-s{seed}-v{GENERATOR_VERSION}``
    (plus ``-c{cold_items}`` with cold items); a named size is ``synthetic-vk-{preset}-x{scale}-...``."""
    cold = f"-c{int(cold_items)}" if cold_items else ""
    name = f"-{preset}" if preset else ""
    return Path(cache_dir) / f"synthetic-vk{name}-x{int(scale)}-s{int(seed)}-v{GENERATOR_VERSION}{cold}"


def ensure(cache_dir: Path, scale: int = 1, seed: int = 0, cold_items: int = 0, preset: str | None = None) -> Path:
    """Generate the default synthetic dataset (or the named size ``preset`` of :data:`PRESETS`) once into
    :func:`cache_path` and return that root."""
    if preset is not None and preset not in PRESETS:
        raise HarnessError(f"synthetic-vk: no size named {preset!r}; use one of {', '.join(PRESETS)}")
    root = cache_path(cache_dir, scale, seed, cold_items, preset)
    if (root / "SYNTHETIC.json").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(root.parent, f".{root.name}.tmp-")
    try:
        generate(tmp / "d", scale=scale, seed=seed, cold_items=cold_items, **PRESETS.get(preset or "", {}))
        try:
            os.replace(tmp / "d", root)
        except OSError:
            if not (root / "SYNTHETIC.json").is_file():   # not a concurrent writer that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def load(cache_dir: Path, scale: int = 1, seed: int = 0, name: str = "synthetic-vk"):
    """:func:`ensure` the dataset, then read it with :func:`harness.data.vk_lsvd.load`."""
    from harness.data import vk_lsvd

    return vk_lsvd.load(ensure(cache_dir, scale, seed), SUBSAMPLE, name=name)


def info(root: Path) -> dict:
    """The parameters and planted counts written to ``root/SYNTHETIC.json``."""
    return json.loads((Path(root) / "SYNTHETIC.json").read_text())
