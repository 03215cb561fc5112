"""Small tidy artefacts of a longer run, committed beside its results file and read by the book.

A run of hours leaves its weights and histories in the ignored ``runs_dir()``. The book must not
retrain to show them, and must not show the numbers of the ``ci`` build as results, so
``harnb publish`` writes what chapters 4 and 6 render next to ``data/results/<name>.csv``:

* ``<name>.pretraining.csv`` — every pre-training's validation curve (target, seed, step,
  metric, value) with its best step, steps, stopping reason, training windows and seconds;
* ``<name>.tsne.csv`` — t-SNE coordinates of each pre-trained extractor's features of the
  target's test windows, with the true class and the subject (no windows, no weights).

Each is a few hundred kB. Chapter 3's cross-dataset matrix has its own results file
(``<profile>_cross.csv``, :mod:`harnb.study.cross`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harnb.training.profiles import Profile, get_profile

PRETRAINING_COLUMNS: tuple[str, ...] = (
    "model", "target", "seed", "step", "metric", "value",
    "best_step", "steps", "stopped", "n_train", "seconds", "profile",
)  # fmt: skip
EMBEDDING_COLUMNS: tuple[str, ...] = (
    "model", "target", "seed", "x", "y", "label", "subject", "profile",
)  # fmt: skip


def pretraining_path(results: str | os.PathLike[str]) -> Path:
    """``<name>.pretraining.csv`` beside the results file ``<name>.csv``."""
    p = Path(results)
    return p.with_name(p.stem + ".pretraining.csv")


def embedding_path(results: str | os.PathLike[str]) -> Path:
    """``<name>.tsne.csv`` beside the results file ``<name>.csv``."""
    p = Path(results)
    return p.with_name(p.stem + ".tsne.csv")


def _groups(results: str | os.PathLike[str], model: str) -> list[tuple[str, int]]:
    """(target, seed) pairs the results file holds for ``model``, in file order."""
    from harnb.study.results import read_results

    df = read_results(results)
    if df.empty:
        raise ValueError(f"{results} holds no results")
    df = df[(df["model"] == model) & (df["status"] == "ok")]
    if df.empty:
        raise ValueError(f"{results} holds no finished cell of model {model!r}")
    pairs = df[["target", "seed"]].drop_duplicates()
    return [(str(t), int(s)) for t, s in pairs.itertuples(index=False)]


def _atomic_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    df.to_csv(tmp, index=False, float_format="%.6g")
    os.replace(tmp, path)


def export_pretraining(
    results: str | os.PathLike[str],
    profile: str | Profile = "cpu",
    model: str = "hart",
    store=None,
    skip_missing: bool = False,
) -> Path:
    """Write the pre-training curves of every (target, seed) in ``results`` from the run cache.

    Raises FileNotFoundError naming the first pre-training whose history is not on this
    machine (it was trained elsewhere: publish from the machine that ran it).
    """
    from harnb.training import folds, train

    prof = get_profile(profile)
    store = store if store is not None else folds.load_store(prof)
    dkey = folds.data_key(store)
    rows = []
    for t, s in _groups(results, model):
        ps = s if prof.pretrain_per_seed else prof.split_seed
        path = folds.history_path(t, model, ps, prof, dkey)
        if not path.exists():
            if skip_missing:
                print(
                    f"harnb publish: no pre-training history of {model}/{t}/seed {ps} here; "
                    "skipped",
                    file=sys.stderr,
                )
                continue
            raise FileNotFoundError(
                f"no pre-training history for {model}, target {t}, seed {ps} at {path}: "
                "publish from the machine that ran it"
            )
        h = train.load_history(path)
        steps = h["history"].get("step", [])
        for metric, values in h["history"].items():
            if metric in ("step", "seconds"):
                continue
            for st, v in zip(steps, values, strict=False):
                rows.append(
                    {
                        "model": model, "target": t, "seed": ps, "step": int(st),
                        "metric": metric, "value": np.nan if v is None else float(v),
                        "best_step": int(h["best_step"]), "steps": int(h["steps"]),
                        "stopped": h.get("stopped", ""), "n_train": int(h["n_train"]),
                        "seconds": round(float(h["seconds"]), 1), "profile": prof.name,
                    }
                )  # fmt: skip
    out = pretraining_path(results)
    df = pd.DataFrame(rows, columns=list(PRETRAINING_COLUMNS)).drop_duplicates()
    _atomic_csv(df, out)
    return out


def export_embeddings(
    results: str | os.PathLike[str],
    profile: str | Profile = "cpu",
    model: str = "hart",
    seeds: Sequence[int] | None = None,
    store=None,
    skip_missing: bool = False,
) -> Path:
    """Write t-SNE maps of each pre-trained extractor on its target's test windows.

    One map per (target, seed) in ``results`` (``seeds`` narrows them); the pre-trained
    weights must be in the run cache (a missing one raises, no retraining).
    """
    from harnb.training import embed, folds

    prof = get_profile(profile)
    store = store if store is not None else folds.load_store(prof)
    dkey = folds.data_key(store)
    out = embedding_path(results)
    frames, have = [], set()
    if out.exists():  # maps are deterministic given the weights: keep those already written
        old = pd.read_csv(out)
        old = old[(old["model"] == model) & (old["profile"] == prof.name)]
        frames.append(old)
        have = set(zip(old["target"], old["seed"], strict=True))
    for t, s in _groups(results, model):
        ps = s if prof.pretrain_per_seed else prof.split_seed
        if (seeds is not None and ps not in set(seeds)) or (t, ps) in have:
            continue
        weights = Path(str(folds.pretrained_path(t, model, ps, prof, dkey)) + ".weights.h5")
        if not weights.exists():
            if skip_missing:
                print(
                    f"harnb publish: no pre-trained weights of {model}/{t}/seed {ps} here; skipped",
                    file=sys.stderr,
                )
                continue
            raise FileNotFoundError(
                f"no pre-trained weights for {model}, target {t}, seed {ps} at {weights}: "
                "publish from the machine that ran it"
            )
        fold = folds.prepare_fold(store, t, "paper", split_seed=ps)
        pre = folds.get_pretrained(fold, model, prof, ps, dkey)
        idx = fold.split.target_test
        X, y = fold.part(idx)
        keep = embed.subsample(y, prof.tsne_max, seed=42)
        feats = embed.embed(pre, X[keep], batch_size=prof.eval_batch)
        xy = embed.tsne(feats, seed=42)
        frames.append(
            pd.DataFrame(
                {
                    "model": model, "target": t, "seed": ps,
                    "x": xy[:, 0], "y": xy[:, 1], "label": np.asarray(y)[keep].astype(int),
                    "subject": np.asarray(store.subject)[idx][keep], "profile": prof.name,
                }
            )
        )  # fmt: skip
    if not frames:
        raise ValueError(f"no (target, seed) of {results} matches seeds {seeds}")
    _atomic_csv(pd.concat(frames, ignore_index=True), out)
    return out


def _read_glob(pattern: str | os.PathLike[str], suffix: str, columns: Sequence[str]):
    from harnb.study.results import find_files

    files = [f for f in find_files(pattern) if f.name.endswith(suffix)]
    frames = []
    for f in files:
        d = pd.read_csv(f)
        missing = set(columns) - set(d.columns)
        if missing:
            raise ValueError(f"{f.name} lacks the columns {sorted(missing)}")
        frames.append(d)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))
    return df, files


def read_pretraining(pattern: str = "data/results/*.pretraining.csv"):
    """Every committed pre-training curve file matching ``pattern``: (frame, files)."""
    return _read_glob(pattern, ".pretraining.csv", PRETRAINING_COLUMNS)


def read_embeddings(pattern: str = "data/results/*.tsne.csv"):
    """Every committed t-SNE file matching ``pattern``: (frame, files)."""
    return _read_glob(pattern, ".tsne.csv", EMBEDDING_COLUMNS)


def publish(
    results: str | os.PathLike[str],
    profile: str | Profile = "cpu",
    model: str = "hart",
    tsne_seeds: Sequence[int] | None = None,
    skip_missing: bool = False,
) -> list[Path]:
    """Both artefacts of ``results`` (``harnb publish``)."""
    from harnb.training import folds

    prof = get_profile(profile)
    store = folds.load_store(prof)
    return [
        export_pretraining(results, prof, model, store=store, skip_missing=skip_missing),
        export_embeddings(
            results, prof, model, seeds=tsne_seeds, store=store, skip_missing=skip_missing
        ),
    ]
