"""GMM interest profile: items are their posterior over the components of a Gaussian mixture fitted
on training items' content; a user is the (weighted) mean posterior of their training items.

``sklearn.mixture.GaussianMixture(n_components, covariance_type, random_state=seed)`` is fitted on the
L2-normalised content of items with at least one training interaction (never on test-only items;
optionally a seeded sample of ``fit_sample`` of them). Then for every item with content
``q_i = P(component | e_i)`` (K,), and

    p_u = w_watched mean_watched(u) q + w_engaged mean_engaged(u) q + w_disliked mean_disliked(u) q,
    score(u, j) = p_u . q_j            (similarity="dot": the chance both draw the same component)
               or cos(p_u, q_j)        (similarity="cosine").

Cold items get a posterior from their content alone, so they can be scored. The fit runs with one
thread (threadpoolctl), so a seed gives the same model for any ``--n-jobs``.
"""
from __future__ import annotations

import numpy as np

from harness.arms.scorer import FactorScorer, TrainData
from harness.arms.content import normalised_content
from harness.arms.profile import require_content, scorer, unit_rows, user_profiles
from harness.arms.profile import validate as validate_weights
from harness.errors import HarnessError

COVARIANCES = ("diag", "spherical", "full", "tied")
SIMILARITIES = ("dot", "cosine")


def preflight() -> None:
    """Fail before any training when scikit-learn is missing."""
    try:
        import sklearn.mixture  # noqa: F401
    except ImportError:
        raise HarnessError("arm 'gmm_profile' needs scikit-learn: pip install 'harness[gmm]' "
                           "(or pip install scikit-learn)") from None


def validate(params: dict) -> None:
    """Range checks (run when the hypothesis loads)."""
    validate_weights(params)
    for name in ("n_components", "max_iter", "n_init"):
        if name in params and int(params[name]) < 1:
            raise HarnessError(f"arm 'gmm_profile': {name}={params[name]} must be >= 1")
    if params.get("fit_sample") is not None and int(params["fit_sample"]) < 1:
        raise HarnessError(f"arm 'gmm_profile': fit_sample={params['fit_sample']} must be >= 1 or None")
    if params.get("covariance_type", "diag") not in COVARIANCES:
        raise HarnessError(f"arm 'gmm_profile': covariance_type={params['covariance_type']!r}; use one of "
                           f"{', '.join(COVARIANCES)}")
    if params.get("similarity", "dot") not in SIMILARITIES:
        raise HarnessError(f"arm 'gmm_profile': similarity={params['similarity']!r}; use one of "
                           f"{', '.join(SIMILARITIES)}")
    if float(params.get("reg_covar", 1e-4)) <= 0:
        raise HarnessError(f"arm 'gmm_profile': reg_covar={params['reg_covar']} must be > 0")


def check_data(params: dict, train: TrainData) -> None:
    """Fail before training when the data cannot support ``params``: no content, or more components
    than the training items with content the mixture is fitted on (run by the experiment per variant)."""
    require_content(train, "gmm_profile")
    _, has = normalised_content(train.item_content)
    n = int((has & (np.diff(train.seen.tocsc().indptr) > 0)).sum())
    if params.get("fit_sample") is not None:
        n = min(n, int(params["fit_sample"]))
    k = int(params.get("n_components", 128))
    if k > n:
        raise HarnessError(f"arm 'gmm_profile': n_components={k} exceeds the {n} training items with content it "
                           f"is fitted on; use n_components <= {n}")


def fit_items(train: TrainData, seed: int, n_components: int, covariance_type: str = "diag",
              max_iter: int = 100, n_init: int = 1, reg_covar: float = 1e-4,
              fit_sample: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(posteriors float64 (n_items, K), has-content mask): the mixture fitted on training items."""
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    check_data({"n_components": n_components, "fit_sample": fit_sample}, train)
    e, has = normalised_content(train.item_content)
    rows = np.flatnonzero(has & (np.diff(train.seen.tocsc().indptr) > 0))
    if fit_sample is not None and fit_sample < len(rows):
        rows = np.sort(np.random.default_rng(seed).choice(rows, int(fit_sample), replace=False))
    gm = GaussianMixture(n_components=int(n_components), covariance_type=covariance_type, max_iter=int(max_iter),
                         n_init=int(n_init), reg_covar=float(reg_covar), random_state=int(seed))
    with threadpool_limits(1):
        gm.fit(e[rows].astype(np.float64))
        post = np.zeros((train.n_items, int(n_components)))
        post[has] = gm.predict_proba(e[has].astype(np.float64))
    return post, has


def profile_features(train: TrainData, seed: int, n_components: int = 128, **gmm) -> np.ndarray:
    """float32 (n_users, K): each user's mean posterior over watched items, as user features (e.g.
    LightFM's ``user_features="gmm_profile:K"``); the mixture as in :func:`fit_items`."""
    post, has = fit_items(train, seed, n_components, **gmm)
    return user_profiles(train, post, has, "gmm_profile").astype(np.float32)


def fit(train: TrainData, seed: int, n_components: int = 128, covariance_type: str = "diag",
        max_iter: int = 100, n_init: int = 1, reg_covar: float = 1e-4, fit_sample: int | None = None,
        similarity: str = "dot", watched: float = 1.0, engaged: float = 0.0,
        disliked: float = 0.0) -> FactorScorer:
    """Fit the GMM interest profile with ``random_state=seed``.

    Parameters
    ----------
    n_components, covariance_type, max_iter, n_init, reg_covar : ``GaussianMixture`` settings.
    fit_sample : fit on a seeded sample of this many training items (None: all; for huge catalogues).
    similarity : ``"dot"`` (default) or ``"cosine"`` between user profile and item posterior.
    watched, engaged, disliked : profile weights, as in :mod:`harness.arms.profile`.
    """
    params = {"n_components": n_components, "covariance_type": covariance_type, "max_iter": max_iter,
              "n_init": n_init, "reg_covar": reg_covar, "fit_sample": fit_sample, "similarity": similarity,
              "watched": watched, "engaged": engaged, "disliked": disliked}
    validate(params)
    post, has = fit_items(train, seed, n_components, covariance_type, max_iter, n_init, reg_covar, fit_sample)
    prof = user_profiles(train, post, has, "gmm_profile", watched, engaged, disliked)
    if similarity == "cosine":
        prof, post = unit_rows(prof), unit_rows(post)
    return scorer(prof, post, has)
