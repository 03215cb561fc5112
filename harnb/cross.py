"""Chapter 3's cross-dataset matrix (the paper's Fig. 1): train on dataset i, test on j."""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb.folds import load_store
from harnb.profiles import Profile, get_profile
from harnb.results import _now, append_rows, default_results_path, read_tidy

if TYPE_CHECKING:  # pragma: no cover
    from harnb.store import WindowStore

CROSS_COLUMNS: tuple[str, ...] = (
    "train_dataset",
    "test_dataset",
    "f1",
    "f1_union",
    "accuracy",
    "model",
    "seed",
    "profile",
    "timestamp",
)


def cross_dataset_matrix(
    profile: str | Profile = "ci",
    out: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    datasets: Sequence[str] | None = None,
    seed: int = 0,
    train_frac: float = 0.7,
    store: WindowStore | None = None,
    progress: bool = True,
    verbose: int = 0,
) -> pd.DataFrame:
    """Fig. 1: train ``model`` on ``train_frac`` of dataset i's subjects, test on the rest of j's.

    Each dataset is normalised with statistics of its own training subjects. There is no
    validation set in this experiment (the paper describes a 70/30 split only), so the model
    after the last epoch is evaluated. Rows are appended to ``out`` per training dataset and
    training datasets already recorded are skipped on a rerun.
    """
    from tqdm.auto import tqdm

    from harnb import evaluate, models, preprocess, train
    from harnb.config import N_CLASSES
    from harnb.splits import classes_of, cross_dataset_split

    prof = get_profile(profile)
    model = model or prof.cross_model
    if store is None:
        store = load_store(prof, datasets)
    names = list(datasets or store.datasets())
    for d in names:
        if d not in store.datasets():
            raise ValueError(f"dataset {d!r} has no windows in the store")
    parts = {d: cross_dataset_split(store, d, train_frac, seed) for d in names}
    mask = np.zeros(len(store), bool)
    for tr, _ in parts.values():
        mask[tr] = True
    X = preprocess.normalise(store, preprocess.fit_normalisation(store, mask))
    y = np.asarray(store.y).astype(np.int64)
    out_path = Path(out) if out else default_results_path(prof).with_name(f"{prof.name}_cross.csv")
    prev = read_tidy(out_path, CROSS_COLUMNS)
    done = set()
    if not prev.empty:
        sel = prev[(prev["model"] == model) & (prev["profile"] == prof.name)]
        sel = sel[sel["seed"].astype(str) == str(seed)]
        done = {
            d for d in names if set(sel[sel["train_dataset"] == d]["test_dataset"]) >= set(names)
        }
    for d in tqdm([n for n in names if n not in done], disable=not progress, desc="cross"):
        tr, _ = parts[d]
        train.seed_host(seed)
        m = models.build(model, n_classes=N_CLASSES, input_shape=X.shape[1:], seed=seed)
        train.fit(
            m,
            X[tr],
            y[tr],
            budget=train.Budget(max_epochs=prof.cross_epochs),
            batch_size=prof.cross_batch,
            lr=prof.lr,
            seed=seed,
            precise_bn_windows=prof.precise_bn_windows,
            verbose=verbose,
        )
        rows = []
        for j in names:
            _, te = parts[j]
            pred = train.predict_labels(m, X[te], prof.eval_batch)
            s = evaluate.scores(y[te], pred, classes_of(store, j))
            rows.append(
                {
                    "train_dataset": d,
                    "test_dataset": j,
                    "f1": repr(s["macro_f1"]),
                    "f1_union": repr(s["macro_f1_union"]),
                    "accuracy": repr(s["accuracy"]),
                    "model": model,
                    "seed": seed,
                    "profile": prof.name,
                    "timestamp": _now(),
                }
            )
        append_rows(out_path, rows, CROSS_COLUMNS)
        del m
        gc.collect()
    df = read_tidy(out_path, CROSS_COLUMNS)
    for c in ("f1", "f1_union", "accuracy"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df = df[(df["model"] == model) & (df["profile"] == prof.name)]
    df = df[df["seed"].astype(str) == str(seed)]
    return df.drop_duplicates(["train_dataset", "test_dataset"], keep="last").reset_index(drop=True)


def cross_matrix_table(df: pd.DataFrame, value: str = "f1") -> pd.DataFrame:
    """Rows = train dataset, columns = test dataset (Fig. 1's layout)."""
    from harnb.config import DATASETS

    t = df.pivot_table(index="train_dataset", columns="test_dataset", values=value)
    order = [d for d in DATASETS if d in t.index] + [d for d in t.index if d not in DATASETS]
    return t.reindex(index=order, columns=order)
