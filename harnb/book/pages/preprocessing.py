"""Chapter 2, preprocessing: the settings, normalisation statistics and their effect."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb.study.published import display_name

if TYPE_CHECKING:  # pragma: no cover
    pass


def implied_windows(name: str) -> float:
    """Total windows the paper's Table II implies for a dataset (its 70 % pool ÷ 0.7)."""
    from harnb.paper import TABLE_II

    return TABLE_II[name][3] / 0.7


def config_table(cfg) -> pd.DataFrame:
    """The preprocessing settings as a two-column table (setting, value)."""
    import dataclasses

    return pd.DataFrame(
        [{"setting": f.name, "value": str(getattr(cfg, f.name))} for f in dataclasses.fields(cfg)]
    )


def norm_table(stats: Mapping[str, object]) -> pd.DataFrame:
    """Normalisation statistics per dataset (sensor mode: one value per sensor), rounded."""
    rows = {}
    for name, s in stats.items():
        rows[display_name(name)] = {
            "acc mean (m/s²)": float(np.mean(s.acc_mean)),
            "acc std (m/s²)": float(np.mean(s.acc_std)),
            "gyro mean (rad/s)": float(np.mean(s.gyro_mean)),
            "gyro std (rad/s)": float(np.mean(s.gyro_std)),
            "windows used": int(s.n_windows),
        }
    return pd.DataFrame.from_dict(rows, orient="index").round(4)


def normalised_moments(store, stats) -> pd.DataFrame:
    """Mean and standard deviation per dataset and sensor after normalisation (≈ 0 and 1)."""
    from harnb.data import preprocess

    Xn = preprocess.normalise(store, stats)
    rows = {}
    for name in store.datasets():
        x = Xn[store.dataset == name]
        rows[display_name(name)] = {
            "acc mean": float(x[..., :3].mean()),
            "acc std": float(x[..., :3].std()),
            "gyro mean": float(x[..., 3:].mean()),
            "gyro std": float(x[..., 3:].std()),
        }
    return pd.DataFrame(rows).T


def store_summary(store) -> pd.DataFrame:
    """The windows store per dataset (:meth:`harnb.data.store.WindowStore.summary`), under the
    datasets' display names."""
    return store.summary().rename(index=display_name)
