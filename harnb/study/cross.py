"""Chapter 3's cross-dataset matrix (the paper's Fig. 1): train on dataset i, test on j."""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb.study.results import _now, append_rows, default_results_path, read_tidy
from harnb.training.folds import load_store
from harnb.training.profiles import Profile, get_profile
from harnb.training.train import Budget

if TYPE_CHECKING:  # pragma: no cover
    from harnb.data.store import WindowStore

CROSS_COLUMNS: tuple[str, ...] = (
    "train_dataset",
    "test_dataset",
    "f1",
    "f1_union",
    "accuracy",
    "model",
    "seed",
    "steps",
    "best_step",
    "profile",
    "config",
    "timestamp",
)


def cross_config(prof: Profile, model: str, dkey: str, train_frac: float) -> str:
    """A short hash of every setting that changes a matrix row (resume only those)."""
    import hashlib
    import json
    from dataclasses import asdict

    from harnb.training.profiles import TRAINING_VERSION

    budget = prof.cross_budget or Budget(max_epochs=prof.cross_epochs)
    key = {
        "model": model, "budget": asdict(budget), "batch": prof.cross_batch, "lr": prof.lr,
        "precise_bn": prof.precise_bn_windows, "train_frac": train_frac,
        "validation": prof.cross_budget is not None, "data": dkey, "code": TRAINING_VERSION,
        "max_windows": prof.max_windows_per_dataset,
    }  # fmt: skip
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def cross_parts(
    store: WindowStore, dataset: str, train_frac: float, seed: int, validation: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) indices of one dataset, split by subject.

    The test part is ``1 - train_frac`` of the subjects, as in the paper's 70/30. With
    ``validation`` a seventh of the training subjects (10 % of all) is held out to choose the
    checkpoint and stop training; without, the validation part is empty.
    """
    from harnb.data.splits import cross_dataset_split, split_subjects

    if not validation:
        tr, te = cross_dataset_split(store, dataset, train_frac, seed)
        return tr, np.array([], dtype=tr.dtype), te
    val = train_frac / 7
    p = split_subjects(
        store, dataset, {"train": train_frac - val, "val": val, "test": 1 - train_frac}, seed,
        ("test",),
    )  # fmt: skip
    return p["train"], p["val"], p["test"]


def cross_dataset_matrix(
    profile: str | Profile = "ci",
    out: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    datasets: Sequence[str] | None = None,
    seed: int = 0,
    seeds: Sequence[int] | None = None,
    models: Sequence[str] | None = None,
    train_frac: float = 0.7,
    store: WindowStore | None = None,
    progress: bool = True,
    verbose: int = 0,
) -> pd.DataFrame:
    """Fig. 1: train a model on ``train_frac`` of dataset i's subjects, test on the rest of j's.

    Each dataset is normalised with statistics of its own training (and validation) subjects.
    With the profile's ``cross_budget`` set, training is counted in steps and stops early on the
    training dataset's own validation subjects, keeping the best checkpoint (the paper gives no
    validation rule; its 70/30 split keeps the last epoch, as ``cross_budget=None`` does). Rows
    carry a configuration hash and are appended per (model, seed, training dataset); those
    already recorded under the same hash are skipped on a rerun. Returns the rows of
    ``models`` × ``seeds`` (default: ``model`` or the profile's, and ``seed``). Rows reuse one
    compiled model per architecture (:class:`~harnb.training.train.ModelPool`: a fresh model's
    weights and dropout state, so a fresh model's numbers), traced once instead of per row.
    """
    from tqdm.auto import tqdm

    from harnb import models as models_mod
    from harnb.config import N_CLASSES
    from harnb.data import preprocess
    from harnb.data.splits import classes_of
    from harnb.training import evaluate, train
    from harnb.training.folds import data_key

    prof = get_profile(profile)
    model_list = list(models or [model or prof.cross_model])
    seed_list = [int(s) for s in (seeds if seeds is not None else [seed])]
    if store is None:
        store = load_store(prof, datasets)
    names = list(datasets or store.datasets())
    for d in names:
        if d not in store.datasets():
            raise ValueError(f"dataset {d!r} has no windows in the store")
    validation = prof.cross_budget is not None
    budget = prof.cross_budget or Budget(max_epochs=prof.cross_epochs)
    dkey = data_key(store)
    out_path = Path(out) if out else default_results_path(prof).with_name(f"{prof.name}_cross.csv")
    y = np.asarray(store.y).astype(np.int64)
    todo = []
    prev = read_tidy(out_path, CROSS_COLUMNS)
    for m in model_list:
        cfg = cross_config(prof, m, dkey, train_frac)
        sel = prev[(prev["model"] == m) & (prev["config"] == cfg)] if not prev.empty else prev
        for s in seed_list:
            ss = sel[sel["seed"].astype(str) == str(s)] if not sel.empty else sel
            for d in names:
                done = not ss.empty and set(ss[ss["train_dataset"] == d]["test_dataset"]) >= set(
                    names
                )
                if not done:
                    todo.append((m, s, d, cfg))
    cache: dict[int, tuple] = {}
    pool = train.ModelPool()  # one compiled model per architecture: traced once, not per row
    for m, s, d, cfg in tqdm(todo, disable=not progress, desc="cross"):
        if s not in cache:
            parts = {n: cross_parts(store, n, train_frac, s, validation) for n in names}
            mask = np.zeros(len(store), bool)
            for tr, va, _ in parts.values():
                mask[tr] = True
                mask[va] = True
            X = preprocess.normalise(store, preprocess.fit_normalisation(store, mask))
            cache = {s: (parts, X)}
        parts, X = cache[s]
        tr, va, _ = parts[d]
        train.seed_host(s)
        fresh = models_mod.build(m, n_classes=N_CLASSES, input_shape=X.shape[1:], seed=s)
        net, do_compile = pool.take((m, X.shape[1:]), fresh, prof.lr)
        res = train.fit(
            net,
            X[tr],
            y[tr],
            X[va] if validation else None,
            y[va] if validation else None,
            budget=budget,
            batch_size=prof.cross_batch,
            lr=prof.lr,
            seed=s,
            precise_bn_windows=prof.precise_bn_windows,
            eval_batch=prof.eval_batch,
            verbose=verbose,
            compile=do_compile,
        )
        rows = []
        for j in names:
            te = parts[j][2]
            pred = train.predict_labels(net, X[te], prof.eval_batch)
            sc = evaluate.scores(y[te], pred, classes_of(store, j))
            rows.append(
                {
                    "train_dataset": d, "test_dataset": j, "f1": repr(sc["macro_f1"]),
                    "f1_union": repr(sc["macro_f1_union"]), "accuracy": repr(sc["accuracy"]),
                    "model": m, "seed": s, "steps": res.steps, "best_step": res.best_step,
                    "profile": prof.name, "config": cfg, "timestamp": _now(),
                }
            )  # fmt: skip
        append_rows(out_path, rows, CROSS_COLUMNS)
        del fresh, net
        gc.collect()
    df = read_tidy(out_path, CROSS_COLUMNS)
    for c in ("f1", "f1_union", "accuracy", "steps", "best_step"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    keep = {(m, cross_config(prof, m, dkey, train_frac)) for m in model_list}
    df = df[[(m, c) in keep for m, c in zip(df["model"], df["config"], strict=True)]]
    df = df[df["seed"].astype(str).isin([str(s) for s in seed_list])]
    key = ["model", "seed", "train_dataset", "test_dataset"]
    return df.drop_duplicates(key, keep="last").reset_index(drop=True)


def cross_matrix_table(df: pd.DataFrame, value: str = "f1") -> pd.DataFrame:
    """Rows = train dataset, columns = test dataset (Fig. 1's layout)."""
    from harnb.config import DATASETS

    t = df.pivot_table(index="train_dataset", columns="test_dataset", values=value)
    order = [d for d in DATASETS if d in t.index] + [d for d in t.index if d not in DATASETS]
    return t.reindex(index=order, columns=order)
