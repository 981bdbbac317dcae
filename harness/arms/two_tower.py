"""Two-tower (DSSM) arm (``kind="two_tower"``, optional extra ``[torch]``): a user tower and an item
tower trained so that the dot product of their L2-normalised outputs ranks a user's positives first.

Towers (inputs built by :mod:`harness.design.features`, statistics from the training window only)
-----------------------------------------------------------------------------------------
- item tower: ``MLP(x_i)`` with ``x_i`` = the encoded item metadata (one-hot categoricals, multi-hot
  lists such as genres, standardised numbers; ``item_features="meta"``) and/or the standardised item
  content (``"embedding[:n]"`` / ``"content"``); ``"all"`` (default) = both, whichever the dataset has.
- user tower: ``Linear([MLP(m_u) | MLP(h_u)])`` with ``m_u`` the encoded user metadata
  (``user_features="meta"``, default; None: interactions only) and ``h_u`` the user's training
  interaction vector, averaged through the first layer (``h_u = mean_{j in H_u} W_j``). While training
  on the pair (u, i) the item i is left out of ``H_u`` (otherwise the tower learns to copy its input).
  A user without training interactions (a cold user) is scored from metadata alone.
- each MLP: ``Linear -> ReLU -> Dropout``; the tower heads are ``Linear(hidden, n_factors)``; both
  outputs are L2-normalised, so a score is a cosine in [-1, 1] and the arm returns a
  :class:`~harness.arms.scorer.FactorScorer` (the evaluator's fast matrix-product path).

Training
--------
Every training positive (u, i) is one example per epoch with ``n_negatives`` items drawn uniformly
(they may be positives of u: sampled negatives are noisy). Losses: ``"triplet"``
``mean(relu(margin - s_ui + s_uj))``; ``"bpr"`` ``-mean(log sigmoid((s_ui - s_uj) / temperature))``;
``"sampled_softmax"`` cross-entropy of the positive among ``[i, j_1..j_k]`` with logits ``s / temperature``.
Adam with ``lr`` and ``weight_decay``, mini-batches of ``batch_size`` examples.

Determinism: the example order and the negatives come from ``numpy.random.default_rng(seed)``; torch
runs on CPU with ``torch.manual_seed(seed)`` (inside ``torch.random.fork_rng``: the caller's RNG is
untouched), ``torch.use_deterministic_algorithms(True)`` and one intra-op thread (both restored on
return). The same data and seed give bit-identical scores in any worker. Learning curves
(``SUPPORTS_CURVES``): ``on_epoch(epoch, scorer)`` after each epoch; training epoch by epoch is the fit.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import numpy as np
import scipy.sparse as sp

from harness.design import features
from harness.arms.scorer import FactorScorer, TrainData
from harness.errors import HarnessError

SUPPORTS_CURVES = True
PARAMS = ("n_factors", "hidden", "dropout", "loss", "margin", "temperature", "n_negatives", "epochs", "batch_size",
          "lr", "weight_decay", "user_features", "item_features")
LOSSES = ("triplet", "bpr", "sampled_softmax")
INSTALL = 'pip install -e ".[torch]"'
_SCORE_BATCH = 4096  # users / items per forward pass when computing the factor matrices


def preflight() -> None:
    """Fail before any training when torch is missing."""
    _require_torch()


def _require_torch():
    try:
        import torch
    except ImportError:
        raise HarnessError(f"arm 'two_tower' needs torch, which is not installed; run: {INSTALL} "
                           "(or pip install torch==2.13.0)") from None
    return torch


def validate(params: dict) -> None:
    """Range checks (when the hypothesis loads)."""
    if "loss" in params and params["loss"] not in LOSSES:
        raise HarnessError(f"two_tower loss={params['loss']!r}: use one of {', '.join(LOSSES)}")
    for name in ("n_factors", "hidden", "n_negatives", "batch_size"):
        if name in params and params[name] < 1:
            raise HarnessError(f"two_tower {name}={params[name]!r} must be an integer >= 1")
    if "dropout" in params and not 0.0 <= params["dropout"] < 1.0:
        raise HarnessError(f"two_tower dropout={params['dropout']!r} must be in [0, 1)")
    for name in ("lr", "temperature"):
        if name in params and not params[name] > 0:
            raise HarnessError(f"two_tower {name}={params[name]!r} must be > 0")
    for name in ("margin", "weight_decay"):
        if name in params and params[name] < 0:
            raise HarnessError(f"two_tower {name}={params[name]!r} must be >= 0")
    if params.get("user_features", "meta") not in ("meta", None):
        raise HarnessError(f"two_tower user_features={params['user_features']!r}: use 'meta' (user metadata "
                           "beside the interaction vector) or None (interactions only)")
    spec = params.get("item_features", "all")
    if spec not in ("all", "meta") and not (isinstance(spec, str) and spec.split("[")[0] in ("embedding", "content")):
        raise HarnessError(f"two_tower item_features={spec!r}: use 'all' (metadata and content), 'meta', "
                           "'content' or 'embedding[:n]'")


def tower_inputs(train: TrainData, user_features: str | None = "meta",
                 item_features: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """(user metadata float32 (n_users, a), item features float32 (n_items, b)) through
    :mod:`harness.design.features`; means / deviations / vocabularies from rows seen in training."""
    users_in = np.flatnonzero(train.seen.getnnz(axis=1) > 0)
    items_in = np.flatnonzero(train.seen.getnnz(axis=0) > 0)
    user_x = np.zeros((train.n_users, 0), np.float32)
    if user_features == "meta":
        user_x = features.meta_table(train.user_meta, train.n_users, users_in).values
    parts = []
    if item_features in ("all", "meta"):
        parts.append(features.meta_table(train.item_meta, train.n_items, items_in).values)
    if item_features == "all" and train.item_content is not None:
        parts.append(features.standardise(train.item_content, items_in))
    elif item_features not in ("all", "meta"):
        parts.append(features.standardise(features.content_columns(train.item_content, item_features,
                                                                   "two_tower item_features"), items_in))
    item_x = np.hstack(parts).astype(np.float32) if parts else np.zeros((train.n_items, 0), np.float32)
    if item_x.shape[1] == 0:
        raise HarnessError(f"arm 'two_tower': item_features={item_features!r} gives no item features on this "
                           "dataset (no usable item metadata or content); use a dataset with item features")
    return user_x, item_x


@contextmanager
def _deterministic(torch, seed: int):
    """Seeded, deterministic, single-threaded torch; the caller's RNG, flags and threads are restored."""
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(det)
            torch.set_num_threads(threads)


def _model(torch, n_items: int, d_user: int, d_item: int, n_factors: int, hidden: int, dropout: float):
    nn = torch.nn

    def mlp(d_in: int):
        return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout))

    class Towers(nn.Module):
        def __init__(self):
            super().__init__()
            self.item = nn.Sequential(mlp(d_item), nn.Linear(hidden, n_factors))
            self.history = nn.EmbeddingBag(n_items, hidden, mode="sum")  # first layer over the interaction vector
            self.history_bias = nn.Parameter(torch.zeros(hidden))
            self.history_mlp = nn.Sequential(nn.ReLU(), nn.Dropout(dropout))
            self.meta = mlp(d_user) if d_user else None
            self.head = nn.Linear(hidden * (2 if d_user else 1), n_factors)

        def items(self, x):
            return nn.functional.normalize(self.item(x), dim=-1)

        def users(self, meta_x, bag_idx, bag_off, n_hist, left_out=None):
            s = self.history(bag_idx, bag_off)
            if left_out is not None:
                s = s - self.history.weight[left_out]
            h = self.history_mlp(s / n_hist.clamp(min=1.0).unsqueeze(1) + self.history_bias)
            z = torch.cat([self.meta(meta_x), h], dim=1) if self.meta is not None else h
            return nn.functional.normalize(self.head(z), dim=-1)

    return Towers()


def _bags(torch, hist: sp.csr_matrix, users: np.ndarray):
    """EmbeddingBag input (indices, offsets) and history sizes of ``users``."""
    sub = hist[users]
    return (torch.from_numpy(sub.indices.astype(np.int64)), torch.from_numpy(sub.indptr[:-1].astype(np.int64)),
            torch.from_numpy(np.diff(sub.indptr).astype(np.float32)))


def _loss(torch, s_pos, s_neg, loss: str, margin: float, temperature: float):
    f = torch.nn.functional
    if loss == "triplet":
        return f.relu(margin - s_pos.unsqueeze(1) + s_neg).mean()
    if loss == "bpr":
        return -f.logsigmoid((s_pos.unsqueeze(1) - s_neg) / temperature).mean()
    logits = torch.cat([s_pos.unsqueeze(1), s_neg], dim=1) / temperature
    return f.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long))


def _scorer(torch, model, hist: sp.csr_matrix, user_x, item_x) -> FactorScorer:
    """The factor matrices of every user and item (eval mode, no gradients)."""
    model.eval()
    with torch.no_grad():
        items = torch.cat([model.items(item_x[a:a + _SCORE_BATCH]) for a in range(0, len(item_x), _SCORE_BATCH)])
        out = []
        for a in range(0, hist.shape[0], _SCORE_BATCH):
            users = np.arange(a, min(a + _SCORE_BATCH, hist.shape[0]))
            idx, off, n = _bags(torch, hist, users)
            out.append(model.users(user_x[a:a + _SCORE_BATCH], idx, off, n))
    model.train()
    return FactorScorer(np.ascontiguousarray(torch.cat(out).numpy(), dtype=np.float32),
                        np.ascontiguousarray(items.numpy(), dtype=np.float32))


def fit(train: TrainData, seed: int, n_factors: int = 64, hidden: int = 128, dropout: float = 0.1,
        loss: str = "triplet", margin: float = 0.4, temperature: float = 0.1, n_negatives: int = 4,
        epochs: int = 10, batch_size: int = 512, lr: float = 0.003, weight_decay: float = 0.0,
        user_features: str | None = "meta", item_features: str = "all",
        on_epoch: Callable[[int, FactorScorer], None] | None = None) -> FactorScorer:
    """Train the two towers on the training positives and return the scorer (see the module docstring).

    Parameters
    ----------
    n_factors : output dimension of both towers. hidden : width of every hidden layer.
    dropout : after every hidden layer (training only). loss : ``"triplet"``, ``"bpr"``, ``"sampled_softmax"``.
    margin : triplet margin (on cosine scores). temperature : divides the scores of bpr and sampled_softmax.
    n_negatives : uniformly sampled negative items per positive. epochs, batch_size, lr, weight_decay :
        Adam training. user_features, item_features : tower inputs (module docstring).
    on_epoch : ``on_epoch(epoch, scorer)`` after each epoch (learning curves; may raise StopTraining).
    """
    torch = _require_torch()
    validate({"loss": loss, "n_factors": n_factors, "hidden": hidden, "n_negatives": n_negatives,
              "batch_size": batch_size, "dropout": dropout, "lr": lr, "temperature": temperature,
              "margin": margin, "weight_decay": weight_decay, "user_features": user_features,
              "item_features": item_features})
    user_np, item_np = tower_inputs(train, user_features, item_features)
    hist = sp.csr_matrix(train.positives, dtype=np.float32)
    hist.sort_indices()
    pairs = hist.tocoo()
    pu, pi = pairs.row.astype(np.int64), pairs.col.astype(np.int64)
    if len(pu) == 0:
        raise HarnessError("arm 'two_tower': no training positives to learn from")
    rng = np.random.default_rng(int(seed))
    with _deterministic(torch, seed):
        user_x, item_x = torch.from_numpy(user_np), torch.from_numpy(item_np)
        model = _model(torch, train.n_items, user_np.shape[1], item_np.shape[1], int(n_factors), int(hidden),
                       float(dropout))
        opt = torch.optim.Adam(model.parameters(), lr=float(lr), weight_decay=float(weight_decay))
        model.train()
        for epoch in range(1, int(epochs) + 1):
            order = rng.permutation(len(pu))
            for a in range(0, len(order), int(batch_size)):
                b = order[a:a + int(batch_size)]
                users, items = pu[b], pi[b]
                neg = torch.from_numpy(rng.integers(0, train.n_items, (len(b), int(n_negatives))))
                idx, off, n = _bags(torch, hist, users)
                u = model.users(user_x[users], idx, off, n - 1, left_out=torch.from_numpy(items))
                v_pos = model.items(item_x[items])
                v_neg = model.items(item_x[neg.reshape(-1)]).reshape(len(b), int(n_negatives), -1)
                s_pos = (u * v_pos).sum(dim=1)
                s_neg = torch.einsum("bd,bkd->bk", u, v_neg)
                opt.zero_grad()
                _loss(torch, s_pos, s_neg, loss, float(margin), float(temperature)).backward()
                opt.step()
            if on_epoch is not None:
                on_epoch(epoch, _scorer(torch, model, hist, user_x, item_x))
        return _scorer(torch, model, hist, user_x, item_x)
