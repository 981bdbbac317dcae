"""LightFM arm (``kind="lightfm"``): CF-only, or hybrid with item content features.

Parameters (``Arm("cf", "lightfm", ...)``): ``loss`` (warp | bpr | logistic | warp-kos),
``no_components`` (64), ``learning_rate`` (0.05), ``epochs`` (10), ``item_alpha``/``user_alpha`` (0),
``max_sampled`` (10), ``item_features``: None (identity only) or ``"embedding[:n]"`` / ``"content"``:
the first n columns of the dataset's item content (VK-LSVD embeddings; MovieLens genre one-hot),
``user_features``: None, ``"meta"`` (one-hot of user_meta columns), ``"profile"`` (the user's mean
content embedding of watched items, :mod:`harness.arms.profile`) or ``"gmm_profile:K"`` (the mean
posterior of watched items under a K-component mixture fitted with the task's seed,
:mod:`harness.arms.gmm_profile`; K defaults to 128); for both feature matrices
``identity`` (True: an indicator column per user/item is kept beside the features, the hybrid model;
False: features only, as in a content-only notebook) and ``normalize`` (None: raw values; ``"rows"``:
each row divided by its L1 norm, as LightFM's own ``Dataset`` does by default).
``epochs`` may be ``"auto"`` (with ``max_epochs``, ``patience``): the runner stops on the validation
window inside training (see :mod:`harness.tuning`).

The arm supports learning curves (``SUPPORTS_CURVES``): the runner passes ``on_epoch``, which may
raise :class:`~harness.arms.base.StopTraining` to end training early.

Always ``num_threads=1``: LightFM with more threads is not reproducible for a seed; the runner
parallelises across (arm, seed) tasks instead.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from harness.arms.base import FactorScorer, TrainData, fold_biases
from harness.errors import HarnessError

SUPPORTS_CURVES = True
#: Parameters ``Arm(..., "lightfm", **params)`` accepts.
PARAMS = ("loss", "no_components", "learning_rate", "epochs", "item_alpha", "user_alpha", "max_sampled",
          "item_features", "user_features", "identity", "normalize")
NORMALIZE = (None, "rows")
_SLICE = re.compile(r"^(embedding|content)(?:\[:(\d+)\])?$")
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


def _assemble(n: int, features: sp.csr_matrix, identity: bool, normalize: str | None) -> sp.csr_matrix:
    """``[I | features]`` (or ``features`` alone), rows optionally L1-normalised; CSR float32."""
    if normalize not in NORMALIZE:
        raise HarnessError(f"lightfm normalize={normalize!r}: use None (raw values) or 'rows' (L1 per row, as "
                           "LightFM's Dataset does)")
    m = sp.hstack([sp.identity(n, dtype=np.float32, format="csr"), features], format="csr") if identity \
        else sp.csr_matrix(features, dtype=np.float32)
    if normalize == "rows":
        norm = np.asarray(abs(m).sum(axis=1), dtype=np.float64).ravel()
        m = sp.diags(np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 0.0).astype(np.float32)) @ m
    return sp.csr_matrix(m, dtype=np.float32)


def item_feature_matrix(train: TrainData, spec: str | None, identity: bool = True,
                        normalize: str | None = None) -> sp.csr_matrix | None:
    """Item features, CSR float32: ``[identity | content]`` (n_items, n_items + d), or content only
    with ``identity=False``; None for CF-only."""
    if spec is None:
        if not identity:
            raise HarnessError("lightfm identity=False needs item_features (features only, e.g. "
                               "item_features='embedding[:32]'); CF-only models are identity features")
        return None
    m = _SLICE.match(str(spec).strip())
    if not m:
        raise HarnessError(f"lightfm item_features={spec!r}: write 'embedding[:32]' (first 32 content "
                           "columns) or 'content' (all columns)")
    if train.item_content is None:
        raise HarnessError(f"lightfm item_features={spec!r}: this dataset has no item content")
    d = train.item_content.shape[1] if m.group(2) is None else int(m.group(2))
    content = np.asarray(train.item_content[:, :d], dtype=np.float32)
    return _assemble(train.n_items, sp.csr_matrix(content), identity, normalize)


def user_feature_matrix(train: TrainData, spec: str | None, identity: bool = True,
                        normalize: str | None = None, seed: int = 0) -> sp.csr_matrix | None:
    """User features: identity plus one-hot user metadata (``"meta"``) or an interest profile
    (``"profile"``, ``"gmm_profile:K"``), or the features alone with ``identity=False``; None without
    user features."""
    if spec is None:
        return None
    prof = _PROFILE.match(str(spec).strip())
    if prof:
        from harness.arms import gmm_profile, profile

        feats = profile.profile_features(train) if prof.group(1) == "profile" else \
            gmm_profile.profile_features(train, seed, int(prof.group(2) or 128))
        return _assemble(train.n_users, sp.csr_matrix(feats.astype(np.float32)), identity, normalize)
    if spec != "meta" or train.user_meta is None:
        raise HarnessError(f"lightfm user_features={spec!r}: use 'meta' (the dataset needs user metadata), "
                           "'profile' or 'gmm_profile:K' (the dataset needs item content)")
    onehot = pd.get_dummies(train.user_meta.astype("string").fillna("NA"), dtype=np.float32).to_numpy()
    return _assemble(train.n_users, sp.csr_matrix(onehot), identity, normalize)


def build_model(seed: int, loss: str = "warp", no_components: int = 64, learning_rate: float = 0.05,
                item_alpha: float = 0.0, user_alpha: float = 0.0, max_sampled: int = 10):
    from lightfm import LightFM

    if loss not in ("warp", "bpr", "logistic", "warp-kos"):
        raise HarnessError(f"lightfm loss={loss!r}: use one of warp, bpr, logistic, warp-kos")
    return LightFM(no_components=no_components, loss=loss, learning_rate=learning_rate, item_alpha=item_alpha,
                   user_alpha=user_alpha, max_sampled=max_sampled, random_state=np.random.RandomState(seed))


def fit(train: TrainData, seed: int, epochs: int = 10, item_features: str | None = None,
        user_features: str | None = None, on_epoch: Callable[[int, FactorScorer], None] | None = None,
        identity: bool = True, normalize: str | None = None, **params) -> FactorScorer:
    """Fit LightFM on the training positives and return a scorer over all items.

    ``on_epoch(epoch, scorer)`` (optional) is called after each epoch, for learning curves; training
    epoch by epoch gives exactly the model that one ``fit(epochs=n)`` call gives.
    """
    model, uf, itf = fit_model(train, seed, epochs=epochs, item_features=item_features,
                               user_features=user_features, on_epoch=on_epoch, identity=identity,
                               normalize=normalize, **params)
    return scorer_from_model(model, uf, itf)


def fit_model(train: TrainData, seed: int, epochs: int = 10, item_features: str | None = None,
              user_features: str | None = None, on_epoch: Callable | None = None, identity: bool = True,
              normalize: str | None = None, **params):
    """The fitted ``LightFM`` model and its (user, item) feature matrices (for reference checks)."""
    model = build_model(seed, **params)
    itf = item_feature_matrix(train, item_features, identity, normalize)
    uf = user_feature_matrix(train, user_features, identity, normalize, seed)
    coo = train.positives.tocoo()
    if on_epoch is None:
        model.fit(coo, user_features=uf, item_features=itf, epochs=int(epochs), num_threads=1)
        return model, uf, itf
    model._reset_state()
    for epoch in range(1, int(epochs) + 1):
        model.fit_partial(coo, user_features=uf, item_features=itf, epochs=1, num_threads=1)
        on_epoch(epoch, scorer_from_model(model, uf, itf))
    return model, uf, itf


def scorer_from_model(model, uf, itf) -> FactorScorer:
    """Scores ``u.i + b_u + b_i`` from LightFM's (feature-summed) representations."""
    ub, ue = model.get_user_representations(uf)
    ib, ie = model.get_item_representations(itf)
    return fold_biases(ue, ub, ie, ib)
