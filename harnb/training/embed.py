"""Embeddings of the pre-trained feature extractor and their t-SNE map (Fig. 4, chapter 6).

The released code embedded the target's test windows with a layer index that is wrong for
ISPL and DeepConvLSTM (B-S2); here the features are the head's input for every model
(``harnb.models.feature_extractor``). t-SNE uses sklearn with the released settings
(perplexity 30, random_state 42), on at most ``max_points`` windows (class-stratified,
seeded) because its cost grows quadratically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import keras


def embed(model: keras.Model, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Penultimate-layer features (n, d) of windows ``X`` under a classifier ``model``."""
    from harnb import models

    fe = models.feature_extractor(model)
    f = fe.predict(np.asarray(X, np.float32), batch_size=batch_size, verbose=0)
    return np.asarray(f).reshape(len(X), -1)


def subsample(y: np.ndarray, max_points: int | None, seed: int = 42) -> np.ndarray:
    """Sorted indices of at most ``max_points`` items, keeping class proportions (seeded)."""
    y = np.asarray(y)
    n = len(y)
    if not max_points or n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    out = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = max(1, int(round(len(idx) * max_points / n)))
        out.append(rng.choice(idx, min(k, len(idx)), replace=False))
    return np.sort(np.concatenate(out))[: max(max_points, 1)]


def tsne(
    features: np.ndarray,
    seed: int = 42,
    perplexity: float = 30.0,
    max_points: int | None = None,
    y: np.ndarray | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """2-D t-SNE of ``features``.

    Without ``max_points`` returns the (n, 2) map. With it (and optional labels ``y`` for a
    stratified draw) returns ``(map, indices)`` of the windows kept.
    """
    from sklearn.manifold import TSNE

    f = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    idx = None
    if max_points is not None:
        idx = subsample(np.zeros(len(f)) if y is None else y, max_points, seed)
        f = f[idx]
    if len(f) < 3:
        raise ValueError(f"t-SNE needs at least 3 points, got {len(f)}")
    perp = min(float(perplexity), (len(f) - 1) / 3)  # sklearn requires perplexity < n
    z = TSNE(n_components=2, perplexity=perp, random_state=seed, init="pca").fit_transform(f)
    z = np.asarray(z, dtype=np.float32)
    return z if idx is None else (z, idx)
