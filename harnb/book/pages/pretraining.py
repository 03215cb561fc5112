"""Chapter 4, pre-training: per-target pre-training, its curves and the split sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb.study import grid
from harnb.study.published import display_name
from harnb.training import folds
from harnb.training.profiles import Profile, get_profile

if TYPE_CHECKING:  # pragma: no cover
    from harnb.data.store import WindowStore


def pretrain_targets(
    profile: str | Profile = "ci",
    model: str | None = None,
    targets: Sequence[str] | None = None,
    store: WindowStore | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Pre-train (or reuse the cached) ``model`` for every left-out target; tidy curves.

    Returns rows (target, step, metric, value, best_step, n_train, seconds, stopped); the
    pre-trained weights land in the cache the LODO grid reuses (one per target and seed, shared
    by every protocol), so chapter 5 does not train them again.
    """
    from harnb.training import train

    prof = get_profile(profile)
    model = model or prof.models[0]
    store = store if store is not None else grid.load_store(prof)
    seed = prof.split_seed if seed is None else int(seed)
    dkey = grid.data_key(store)
    rows = []
    for t in targets or prof.targets or store.datasets():
        fold = grid.prepare_fold(store, t, "paper", split_seed=seed)
        grid.get_pretrained(fold, model, prof, seed, dkey)
        try:
            h = train.load_history(folds.history_path(t, model, seed, prof, dkey))
        except FileNotFoundError:
            continue  # weights cached by an older run without a history: nothing to plot
        steps = h["history"].get("step", [])
        for metric, values in h["history"].items():
            if metric == "step":
                continue
            for st, v in zip(steps, values, strict=False):
                rows.append(
                    {
                        "target": t,
                        "step": int(st),
                        "metric": metric,
                        "value": np.nan if v is None else float(v),
                        "best_step": h["best_step"],
                        "n_train": h["n_train"],
                        "seconds": h["seconds"],
                        "stopped": h.get("stopped", ""),
                    }
                )
    return pd.DataFrame(rows)


def split_sizes(store: WindowStore, seed: int = 0) -> pd.DataFrame:
    """Windows per part of the paper protocol's split, for every left-out target."""
    sizes = {
        display_name(t): grid.prepare_fold(store, t, "paper", split_seed=seed).split.sizes()
        for t in store.datasets()
    }
    return pd.DataFrame(sizes).T
