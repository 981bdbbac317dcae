"""LightFM arm (``kind="lightfm"``): CF-only, or hybrid with item content features.

Parameters (``Arm("cf", "lightfm", ...)``): ``loss`` (warp | bpr | logistic | warp-kos),
``no_components`` (64), ``learning_rate`` (0.05), ``epochs`` (10), ``item_alpha``/``user_alpha`` (0),
``max_sampled`` (10), ``item_features``: None (identity only) or ``"embedding[:n]"`` / ``"content"``:
the first n columns of the dataset's item content (VK-LSVD embeddings; MovieLens genre one-hot), or
``"meta"``: the item metadata (KION genres, countries, content type, release year, ...),
``user_features``: None, ``"meta"`` (the user metadata: KION age, income, sex, kids), ``"profile"`` (the
user's mean content embedding of watched items, :mod:`harness.arms.profile`) or ``"gmm_profile:K"`` (the
mean posterior of watched items under a K-component mixture fitted with the task's seed,
:mod:`harness.arms.gmm_profile`; K defaults to 128); metadata is encoded by
:func:`harness.design.features.meta_table` (one-hot / multi-hot / standardised numbers, the statistics from rows
seen in training), the same encoding the two-tower arm uses; for both feature matrices
``identity`` (True: an indicator column per user/item is kept beside the features, the hybrid model;
False: features only, as in a content-only notebook) and ``normalize`` (None: raw values; ``"rows"``:
each row divided by its L1 norm, as LightFM's own ``Dataset`` does by default).
``epochs`` may be ``"auto"`` (with ``max_epochs``, ``patience``): the runner stops on the validation
window inside training (see :mod:`harness.runner.tuning.window`).

The arm supports learning curves (``SUPPORTS_CURVES``): the runner passes ``on_epoch``, which may
raise :class:`~harness.arms.scorer.StopTraining` to end training early.

One thread per fit by default: LightFM with more threads (Hogwild updates) is not reproducible for a seed,
so the runner parallelises across (arm, seed) tasks instead. ``--threads-per-task N`` passes
``num_threads=N`` (``THREADS``: the run is then labelled not byte-reproducible).
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import scipy.sparse as sp

from harness.design import features
from harness.arms.scorer import FactorScorer, TrainData, fold_biases
from harness.errors import HarnessError

SUPPORTS_CURVES = True
#: More threads per fit (``--threads-per-task``) change the result for a seed (Hogwild updates).
THREADS = "not reproducible"
#: Parameters ``Arm(..., "lightfm", **params)`` accepts.
PARAMS = ("loss", "no_components", "learning_rate", "epochs", "item_alpha", "user_alpha", "max_sampled",
          "item_features", "user_features", "identity", "normalize")
NORMALIZE = features.NORMALIZE
_PROFILE = re.compile(r"^(profile|gmm_profile)(?::(\d+))?$")
_LOSSES = ("warp", "bpr", "logistic", "warp-kos")


def validate(params: dict) -> None:
    """Range checks (run when the hypothesis loads; LightFM itself checks again when fitting)."""
    if "loss" in params and params["loss"] not in _LOSSES:
        raise HarnessError(f"lightfm loss={params['loss']!r}: use one of {', '.join(_LOSSES)}")
    for name in ("no_components", "epochs", "max_sampled"):
        if name in params and int(params[name]) < 1:
            raise HarnessError(f"lightfm {name} must be >= 1, got {params[name]}")
    if "learning_rate" in params and not params["learning_rate"] > 0:
        raise HarnessError(f"lightfm learning_rate must be > 0, got {params['learning_rate']}")
    for name in ("item_alpha", "user_alpha"):
        if name in params and params[name] < 0:
            raise HarnessError(f"lightfm {name} must be >= 0, got {params[name]}")
    if "normalize" in params and params["normalize"] not in NORMALIZE:
        raise HarnessError(f"lightfm normalize={params['normalize']!r}: use None (raw values) or 'rows' (L1 per "
                           "row, as LightFM's Dataset does)")
    if "identity" in params and not isinstance(params["identity"], bool):
        raise HarnessError(f"lightfm identity={params['identity']!r}: use True (identity + features) or False")


def item_feature_matrix(train: TrainData, spec: str | None, identity: bool = True,
                        normalize: str | None = None) -> sp.csr_matrix | None:
    """Item features, CSR float32 (:func:`harness.design.features.lightfm_matrix`): ``[identity | F]`` or ``F``
    alone with ``identity=False``, where F is the first content columns (``"embedding[:32]"``,
    ``"content"``) or the encoded item metadata (``"meta"``, :func:`harness.design.features.meta_table`);
    None for CF-only."""
    if spec is None:
        if not identity:
            raise HarnessError("lightfm identity=False needs item_features (features only, e.g. "
                               "item_features='embedding[:32]'); CF-only models are identity features")
        return None
    if spec == "meta":
        table = _meta(train.item_meta, train.n_items, train.seen.getnnz(axis=0) > 0, "item_features")
    else:
        table = features.content_columns(train.item_content, spec, "lightfm item_features")
    return features.lightfm_matrix(train.n_items, table, identity, normalize)


def user_feature_matrix(train: TrainData, spec: str | None, identity: bool = True,
                        normalize: str | None = None, seed: int = 0) -> sp.csr_matrix | None:
    """User features: identity plus the encoded user metadata (``"meta"``) or an interest profile
    (``"profile"``, ``"gmm_profile:K"``, fitted with ``seed``), or the features alone with
    ``identity=False``; None without user features."""
    if spec is None:
        return None
    prof = _PROFILE.match(str(spec).strip())
    if prof:
        from harness.arms import gmm_profile, profile

        feats = profile.profile_features(train) if prof.group(1) == "profile" else \
            gmm_profile.profile_features(train, seed, int(prof.group(2) or 128))
        return features.lightfm_matrix(train.n_users, feats.astype(np.float32), identity, normalize)
    if spec != "meta":
        raise HarnessError(f"lightfm user_features={spec!r}: use 'meta' (the dataset's user metadata), "
                           "'profile' or 'gmm_profile:K' (the dataset needs item content)")
    table = _meta(train.user_meta, train.n_users, train.seen.getnnz(axis=1) > 0, "user_features")
    return features.lightfm_matrix(train.n_users, table, identity, normalize)


def _meta(meta, n: int, in_training: np.ndarray, field: str) -> np.ndarray:
    """The metadata feature block (statistics from the rows seen in training)."""
    table = features.meta_table(meta, n, np.flatnonzero(in_training))
    if table.dim == 0:
        raise HarnessError(f"lightfm {field}='meta': this dataset has no usable "
                           f"{'user' if field == 'user_features' else 'item'} metadata")
    return table.values


def build_model(seed: int, loss: str = "warp", no_components: int = 64, learning_rate: float = 0.05,
                item_alpha: float = 0.0, user_alpha: float = 0.0, max_sampled: int = 10):
    from lightfm import LightFM

    if loss not in ("warp", "bpr", "logistic", "warp-kos"):
        raise HarnessError(f"lightfm loss={loss!r}: use one of warp, bpr, logistic, warp-kos")
    return LightFM(no_components=no_components, loss=loss, learning_rate=learning_rate, item_alpha=item_alpha,
                   user_alpha=user_alpha, max_sampled=max_sampled, random_state=np.random.RandomState(seed))


def fit(train: TrainData, seed: int, epochs: int = 10, item_features: str | None = None,
        user_features: str | None = None, on_epoch: Callable[[int, FactorScorer], None] | None = None,
        identity: bool = True, normalize: str | None = None, num_threads: int = 1, **params) -> FactorScorer:
    """Fit LightFM on the training positives and return a scorer over all items.

    ``on_epoch(epoch, scorer)`` (optional) is called after each epoch, for learning curves; training
    epoch by epoch gives exactly the model that one ``fit(epochs=n)`` call gives. ``num_threads``: set by
    the runner (``--threads-per-task``), never in the hypothesis.
    """
    model, uf, itf = fit_model(train, seed, epochs=epochs, item_features=item_features,
                               user_features=user_features, on_epoch=on_epoch, identity=identity,
                               normalize=normalize, num_threads=num_threads, **params)
    return scorer_from_model(model, uf, itf)


def fit_model(train: TrainData, seed: int, epochs: int = 10, item_features: str | None = None,
              user_features: str | None = None, on_epoch: Callable | None = None, identity: bool = True,
              normalize: str | None = None, num_threads: int = 1, **params):
    """The fitted ``LightFM`` model and its (user, item) feature matrices (for reference checks)."""
    model = build_model(seed, **params)
    itf = item_feature_matrix(train, item_features, identity, normalize)
    uf = user_feature_matrix(train, user_features, identity, normalize, seed)
    coo = train.positives.tocoo()
    if on_epoch is None:
        model.fit(coo, user_features=uf, item_features=itf, epochs=int(epochs), num_threads=int(num_threads))
        return model, uf, itf
    model._reset_state()
    for epoch in range(1, int(epochs) + 1):
        model.fit_partial(coo, user_features=uf, item_features=itf, epochs=1, num_threads=int(num_threads))
        on_epoch(epoch, scorer_from_model(model, uf, itf))
    return model, uf, itf


def scorer_from_model(model, uf, itf) -> FactorScorer:
    """Scores ``u.i + b_u + b_i`` from LightFM's (feature-summed) representations."""
    ub, ue = model.get_user_representations(uf)
    ib, ie = model.get_item_representations(itf)
    return fold_biases(ue, ub, ie, ib)
