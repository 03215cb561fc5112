"""Chapter 6, t-SNE: a target's features through its pre-trained extractor, and the
committed maps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb.book import plots, tables
from harnb.study import grid
from harnb.study.published import Embeddings, display_name
from harnb.training.profiles import Profile, get_profile

if TYPE_CHECKING:  # pragma: no cover
    from harnb.data.store import WindowStore


def target_embedding(
    profile: str | Profile = "ci",
    target: str | None = None,
    model: str | None = None,
    protocol: str = "paper",
    store: WindowStore | None = None,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """t-SNE of the pre-trained extractor's features of the target's test windows.

    Returns (xy (n, 2), labels (n,), subject ids (n,)); at most ``profile.tsne_max`` windows,
    drawn class-stratified with ``seed``. The extractor never saw the target (LODO).
    """
    from harnb.training import embed

    prof = get_profile(profile)
    model = model or prof.models[0]
    store = store if store is not None else grid.load_store(prof)
    target = target or (prof.targets or store.datasets())[0]
    dkey = grid.data_key(store)
    fold = grid.prepare_fold(store, target, protocol, split_seed=prof.split_seed)
    pre = grid.get_pretrained(fold, model, prof, prof.split_seed, dkey)  # shared by protocols
    idx = fold.split.target_test
    if len(idx) > prof.tsne_max:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(idx, prof.tsne_max, replace=False))
    X, y = fold.part(idx)
    feats = embed.embed(pre, X, batch_size=prof.eval_batch)
    xy = embed.tsne(feats, seed=seed)
    return xy, y, np.asarray(store.subject)[idx]


def tsne_figure(emb: Embeddings, seed: int | None = None):
    """One interactive scatter per map of ``seed`` (default: the smallest), faceted."""
    maps = emb.maps()
    seed = min(s for _, _, s in maps) if seed is None else seed
    frames = [emb.map(m, t, s).assign(panel=f"{display_name(t)} ({m})")
              for m, t, s in maps if s == seed]  # fmt: skip
    return plots.tsne_panels(pd.concat(frames, ignore_index=True))


def tsne_page(emb: Embeddings, seed: int | None = None):
    """Chapter 6's figure: the committed maps of one seed, or a note when none is committed."""
    if emb.empty:
        return tables.note(
            "No t-SNE map is committed yet (<code>harnb publish data/results/cpu_hart.csv</code> "
            "writes them from a run's pre-trained models)."
        )
    return plots.show(tsne_figure(emb, seed))
