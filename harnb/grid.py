"""The resumable LODO grid, the cross-dataset matrix, and the tidy results files they write.

One *cell* is (protocol, target, model, strategy, ratio, seed). As soon as a cell finishes its
metrics are appended to a tidy CSV (one row per cell × metric, :data:`COLUMNS`) in a single
write, then flushed and fsync'ed; a crash can at worst truncate the last line, which
:func:`read_results` skips. Rerunning skips every cell already recorded as ``ok`` for the same
profile; a failing cell is recorded with ``status=error`` and its message, and the grid goes on.

Pre-trained models are cached per (protocol, target, model, seed, profile settings, data) as
``.weights.h5`` under ``runs_dir()/pretrained`` (written to a temporary name, then renamed),
and shared by every strategy, ratio and fine-tuning seed. Training histories go to
``runs_dir()/histories`` as JSON + CSV for chapter 4's curves.
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import io
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harnb import config, train
from harnb.profiles import Profile, get_profile
from harnb.splits import PROTOCOLS, LODOSplit, check_ratio, lodo_split, stratified_sample
from harnb.train import STRATEGIES

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from harnb.store import WindowStore

COLUMNS: tuple[str, ...] = (
    "protocol",
    "target",
    "model",
    "strategy",
    "ratio",
    "seed",
    "metric",
    "value",
    "status",
    "error",
    "seconds",
    "profile",
    "timestamp",
)
CELL_KEYS: tuple[str, ...] = ("protocol", "target", "model", "strategy", "ratio", "seed")
#: Metrics written per cell, in order; ``macro_f1`` last marks the cell complete.
METRICS: tuple[str, ...] = (
    "n_train",
    "epochs",
    "best_epoch",
    "accuracy",
    "macro_f1_union",
    "macro_f1",
)
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


# --------------------------------------------------------------------------------------------
# Tidy, crash-tolerant CSV files
# --------------------------------------------------------------------------------------------


_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def append_rows(path: str | os.PathLike[str], rows: Sequence[dict[str, Any]], columns) -> None:
    """Append ``rows`` in one write, then flush and fsync; writes the header to a new file.

    If a previous crash left the file without a final newline, a newline is written first so
    the truncated line stays on its own (and is skipped when reading) instead of corrupting
    the new row.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    new = not p.exists() or p.stat().st_size == 0
    if new:
        w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    text = buf.getvalue()
    if not new:
        with open(p, "rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                text = "\n" + text
    with open(p, "a", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def read_tidy(path: str | os.PathLike[str], columns: Sequence[str]) -> pd.DataFrame:
    """Read a tidy CSV tolerantly, skipping damaged rows.

    A row counts only if it ends with a newline, has the header's number of fields and ends
    with a complete timestamp (the last column of every tidy file), so a row cut anywhere by a
    crash is never read as data.
    """
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        return pd.DataFrame(columns=list(columns))
    with open(p, encoding="utf-8", errors="replace", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    # every row is written with its newline: a last line without one was cut by a crash
    lines = lines[:-1]
    rows: list[list[str]] = []
    header: list[str] | None = None
    for line in lines:
        if not line.strip():
            continue
        try:
            fields = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            continue
        if header is None:
            header = fields
            continue
        if len(fields) == len(header) and _TS.match(fields[-1]):
            rows.append(fields)
    return pd.DataFrame(rows, columns=header or list(columns))


def read_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Results CSV as a DataFrame (typed; damaged rows skipped; the last write of a row wins)."""
    df = read_tidy(path, COLUMNS)
    if df.empty:
        return df
    for c in ("ratio", "seed"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    for c in ("value", "seconds"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df = df.dropna(subset=["ratio", "seed"])
    df["ratio"] = df["ratio"].astype(int)
    df["seed"] = df["seed"].astype(int)
    return _latest_rows(df)


def _latest_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, profile, metric): the last one written wins (reruns, later files)."""
    df = df.drop_duplicates(subset=[*CELL_KEYS, "profile", "metric"], keep="last")
    return df.reset_index(drop=True)


load_results = read_results


def read_published(pattern: str | os.PathLike[str]) -> tuple[pd.DataFrame, list[Path]]:
    """All results files matching ``pattern`` (a path or glob, relative to the repository), merged.

    Lets a chapter render several committed runs (one file per model or profile) at once.
    Returns the merged frame and the files read, sorted; no match gives an empty frame.
    """
    pat = Path(pattern)
    if not pat.is_absolute():
        pat = config.REPO_ROOT / pat
    files = sorted(Path(pat.anchor).glob(str(pat.relative_to(pat.anchor))))
    frames = [f for f in (read_results(p) for p in files) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS), files
    return _latest_rows(pd.concat(frames, ignore_index=True)), files


def finished_cells(path: str | os.PathLike[str], profile: str | None = None) -> set[tuple]:
    """Keys (protocol, target, model, strategy, ratio, seed) recorded ``ok`` in ``path``."""
    df = read_results(path)
    if df.empty:
        return set()
    ok = df[(df["metric"] == "macro_f1") & (df["status"] == "ok")]
    if profile is not None:
        ok = ok[ok["profile"] == profile]
    return {
        (r.protocol, r.target, r.model, r.strategy, int(r.ratio), int(r.seed))
        for r in ok.itertuples()
    }


# --------------------------------------------------------------------------------------------
# Aggregation in the paper's layout
# --------------------------------------------------------------------------------------------


def aggregate(df: pd.DataFrame, metric: str = "macro_f1") -> pd.DataFrame:
    """Mean, sd and count over seeds per (profile, protocol, model, target, ratio, strategy)."""
    d = df[(df["metric"] == metric) & (df["status"] == "ok")]
    keys = ["profile", "protocol", "model", "target", "ratio", "strategy"]
    g = d.groupby(keys)["value"]
    return g.agg(mean="mean", sd="std", n="count").reset_index()


def paper_table(
    df: pd.DataFrame,
    model: str,
    protocol: str = "paper",
    metric: str = "macro_f1",
    scale: float = 100.0,
    fmt: bool = True,
) -> pd.DataFrame:
    """Rows = targets (+ AVG), columns = (ratio, strategy) as in Tables III–V, VII.

    With ``fmt`` cells read "mean ± sd" (× ``scale``); otherwise the columns gain a third level
    ``stat`` ∈ {mean, sd}. The AVG row averages the per-target means (as the paper does).
    """
    a = aggregate(df, metric)
    a = a[(a["model"] == model) & (a["protocol"] == protocol)]
    if a.empty:
        return pd.DataFrame()
    a = a.assign(mean=a["mean"] * scale, sd=a["sd"] * scale)
    order = {s: i for i, s in enumerate(("P_0", "Rd", "P_F", "P_U"))}
    cols = sorted(
        {(int(r), s) for r, s in zip(a["ratio"], a["strategy"], strict=True)},
        key=lambda c: (c[0], order.get(c[1], 9)),
    )
    from harnb.config import DATASETS

    targets = sorted(a["target"].unique(), key=lambda t: (DATASETS + (t,)).index(t))
    mean = a.pivot_table(index="target", columns=["ratio", "strategy"], values="mean")
    sd = a.pivot_table(index="target", columns=["ratio", "strategy"], values="sd", dropna=False)
    mean = mean.reindex(index=targets, columns=pd.MultiIndex.from_tuples(cols))
    sd = sd.reindex(index=targets, columns=pd.MultiIndex.from_tuples(cols))
    mean.loc["AVG"] = mean.mean()
    sd.loc["AVG"] = np.nan
    mean.columns.names = sd.columns.names = ["ratio", "strategy"]
    if not fmt:
        return pd.concat({"mean": mean, "sd": sd}, axis=1).reorder_levels([1, 2, 0], axis=1)

    def cell(m: float, s: float) -> str:
        if pd.isna(m):
            return ""
        return f"{m:.2f}" if pd.isna(s) else f"{m:.2f} ± {s:.2f}"

    out = mean.copy().astype(object)
    for c in mean.columns:
        out[c] = [cell(m, s) for m, s in zip(mean[c], sd[c], strict=True)]
    return out


# --------------------------------------------------------------------------------------------
# Data for a profile
# --------------------------------------------------------------------------------------------


def subsample_store(store: WindowStore, max_per_dataset: int | None, seed: int = 0) -> WindowStore:
    """At most ``max_per_dataset`` windows of each dataset (seeded, stored order kept)."""
    if not max_per_dataset:
        return store
    rng = np.random.default_rng(seed)
    keep = []
    for d in store.datasets():
        idx = np.flatnonzero(store.dataset == d)
        if len(idx) > max_per_dataset:
            idx = np.sort(rng.choice(idx, max_per_dataset, replace=False))
        keep.append(idx)
    return store.select(np.sort(np.concatenate(keep)))


def data_key(store: WindowStore) -> str:
    """A short content fingerprint of a store (labels, subjects and a sample of the signals)."""
    h = hashlib.sha1()
    h.update(np.asarray(store.y).tobytes())
    for a in (store.dataset, store.subject):
        h.update("\x00".join(map(str, a)).encode())
    step = max(1, len(store) // 997)
    h.update(np.ascontiguousarray(store.X[::step]).tobytes())
    h.update(str(store.X.shape).encode())
    return h.hexdigest()[:12]


def load_store(profile: Profile, names: Sequence[str] | None = None) -> WindowStore:
    """The windows a profile uses: every available dataset (or ``names``), subsampled."""
    from harnb import preprocess

    names = list(names) if names else (list(profile.datasets) if profile.datasets else None)
    store = preprocess.load_windows(names)
    return subsample_store(store, profile.max_windows_per_dataset, profile.split_seed)


@dataclass
class FoldData:
    """One LODO fold, normalised: the split plus the z-scored windows of the whole store."""

    split: LODOSplit
    X: np.ndarray
    y: np.ndarray

    def part(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) of some store indices."""
        return self.X[idx], self.y[idx].astype(np.int64)


def prepare_fold(
    store: WindowStore,
    target: str,
    protocol: str,
    split_seed: int = 0,
    subset_seed: int | None = None,
    norm_as_released: bool = False,
) -> FoldData:
    """Split ``store`` for ``target`` and normalise each dataset from its non-test windows."""
    from harnb import preprocess

    sp = lodo_split(store, target, protocol, seed=split_seed, subset_seed=subset_seed)
    stats = preprocess.fit_normalisation(store, sp.norm_mask(as_released=norm_as_released))
    return FoldData(sp, preprocess.normalise(store, stats), np.asarray(store.y))


# --------------------------------------------------------------------------------------------
# Pre-trained model cache
# --------------------------------------------------------------------------------------------


def pretrained_path(
    protocol: str, target: str, model: str, seed: int, profile: Profile, dkey: str
) -> Path:
    """Where the pre-trained weights of one (protocol, target, model, seed) live."""
    from harnb.config import runs_dir

    k = json.dumps({**profile.training_key(), "data": dkey, "seed": seed}, sort_keys=True)
    h = hashlib.sha1(k.encode()).hexdigest()[:10]
    return runs_dir() / "pretrained" / profile.name / protocol / target / f"{model}_s{seed}_{h}"


def get_pretrained(
    fold: FoldData,
    model_name: str,
    profile: Profile,
    seed: int,
    dkey: str,
    verbose: int = 0,
) -> keras.Model:
    """Load the cached pre-trained model, or pre-train it on the sources and cache it."""
    from harnb import models, train
    from harnb.config import N_CLASSES

    sp = fold.split
    base = pretrained_path(sp.protocol, sp.target, model_name, seed, profile, dkey)
    wpath = base.with_suffix(".weights.h5")
    if wpath.exists():
        try:
            m = models.build(model_name, n_classes=N_CLASSES, input_shape=fold.X.shape[1:])
            m.load_weights(wpath)
            return m
        except Exception as e:  # a damaged cache is rebuilt, never trusted
            print(f"harnb: ignoring unreadable cache {wpath}: {e}", file=sys.stderr)
    Xtr, ytr = fold.part(sp.source_train)
    Xva, yva = fold.part(sp.source_val)
    m, res = train.pretrain(model_name, Xtr, ytr, Xva, yva, profile, seed=seed, verbose=verbose)
    wpath.parent.mkdir(parents=True, exist_ok=True)
    tmp = wpath.with_name(f".tmp{os.getpid()}-{wpath.name}")
    m.save_weights(tmp)
    os.replace(tmp, wpath)
    res.meta.update(protocol=sp.protocol, target=sp.target, data=dkey, sizes=sp.sizes())
    train.save_history(res, base.with_name(base.name + ".history"))
    return m


# --------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------


def cells_for(
    protocols: Iterable[str],
    targets: Iterable[str],
    model_names: Iterable[str],
    strategies: Iterable[str],
    ratios: Iterable[int],
    seeds: Iterable[int],
) -> list[tuple[str, str, str, str, int, int]]:
    """Every cell, in run order; ratio 0 only pairs with P_0 and P_0 only with ratio 0."""
    out = []
    strategies = list(strategies)
    for p in protocols:
        for t in targets:
            for m in model_names:
                for s in seeds:
                    for r in ratios:
                        for st in strategies:
                            if (r == 0) == (st == "P_0"):
                                out.append((p, t, m, st, int(r), int(s)))
    return out


def _validate(
    protocols: Sequence[str],
    model_names: Sequence[str],
    strategies: Sequence[str],
    ratios: Sequence[int],
    seeds: Sequence[int],
) -> None:
    for p in protocols:
        if p not in PROTOCOLS:
            raise ValueError(f"unknown protocol {p!r}; choose from {PROTOCOLS}")
    for s in strategies:
        if s not in STRATEGIES:
            raise ValueError(f"unknown strategy {s!r}; choose from {STRATEGIES}")
    for r in ratios:
        check_ratio(r)
    try:
        from harnb.models import MODELS
    except ImportError:  # pragma: no cover - models not installed
        MODELS = None
    if MODELS is not None:
        for m in model_names:
            if m not in MODELS:
                raise ValueError(f"unknown model {m!r}; choose from {MODELS}")
    for s in seeds:
        if int(s) != s:
            raise ValueError(f"seeds must be integers, got {s!r}")


def _history_path(cell: tuple, profile: Profile) -> Path:
    from harnb.config import runs_dir

    p, t, m, st, r, s = cell
    return runs_dir() / "histories" / profile.name / p / t / f"{m}_{st}_r{r}_s{s}"


def run_cell(
    fold: FoldData,
    pretrained: keras.Model,
    strategy: str,
    ratio: int,
    seed: int,
    profile: Profile,
    verbose: int = 0,
    pool: Any = None,
) -> tuple[dict[str, float], Any]:
    """Fine-tune (or not, for P_0) and evaluate on the target's test subjects."""
    from harnb import evaluate, train

    sp = fold.split
    Xte, yte = fold.part(sp.target_test)
    if strategy == "P_0":
        model, res = pretrained, None
        n_train = 0
    else:
        Xtr, ytr = fold.part(sp.subset(ratio))
        val = sp.target_val
        if profile.max_val_windows and len(val) > profile.max_val_windows:
            val = stratified_sample(val, fold.y[val], profile.max_val_windows, seed)
        Xva, yva = fold.part(val)
        model, res = train.finetune(
            strategy, pretrained, Xtr, ytr, Xva, yva, profile, seed=seed, verbose=verbose, pool=pool
        )
        n_train = len(Xtr)
    pred = train.predict_labels(model, Xte, profile.eval_batch)
    m = evaluate.scores(yte, pred, sp.target_classes)
    m.update(
        n_train=float(n_train),
        epochs=float(res.epochs if res else 0),
        best_epoch=float(res.best_epoch if res else 0),
    )
    return m, res


def run_grid(
    profile: str | Profile = "ci",
    out: str | os.PathLike[str] | None = None,
    *,
    models: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
    protocols: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    ratios: Sequence[int] | None = None,
    seeds: Sequence[int] | None = None,
    store: WindowStore | None = None,
    retry_errors: bool = True,
    progress: bool = True,
    verbose: int = 0,
    norm_as_released: bool = False,
) -> pd.DataFrame:
    """Run every missing cell, appending results to ``out``; returns the whole results file.

    Arguments left as None come from the profile. ``store`` defaults to the profile's windows
    (:func:`load_store`). Bad arguments raise ValueError before any training.
    """
    from tqdm.auto import tqdm

    prof = get_profile(profile)
    models_ = list(models or prof.models)
    protocols_ = list(protocols or prof.protocols)
    strategies_ = list(strategies or prof.strategies)
    ratios_ = [int(r) for r in (ratios if ratios is not None else prof.ratios)]
    seeds_ = [int(s) for s in (seeds if seeds is not None else prof.seeds)]
    _validate(protocols_, models_, strategies_, ratios_, seeds_)
    out_path = Path(out) if out else default_results_path(prof)

    if store is None:
        store = load_store(prof)
    present = store.datasets()
    targets_ = list(targets or prof.targets or present)
    for t in targets_:
        if t not in present:
            raise ValueError(f"target {t!r} has no windows in the store (present: {present})")
    if len(present) < 2:
        raise ValueError("LODO needs at least two datasets in the store")

    cells = cells_for(protocols_, targets_, models_, strategies_, ratios_, seeds_)
    done = finished_cells(out_path, prof.name)
    todo = [c for c in cells if c not in done]
    if not retry_errors:
        df0 = read_results(out_path)
        if not df0.empty:
            err = df0[(df0["status"] == "error") & (df0["profile"] == prof.name)]
            errs = {
                (r.protocol, r.target, r.model, r.strategy, int(r.ratio), int(r.seed))
                for r in err.itertuples()
            }
            todo = [c for c in todo if c not in errs]
    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), disable=not progress, desc="grid")
    dkey = data_key(store)
    # group the cells that share a subject split and a pre-trained model
    groups: dict[tuple[str, str, str, int], list[tuple]] = {}
    for c in todo:
        p, t, m, st, r, s = c
        ps = s if prof.pretrain_per_seed else prof.split_seed
        groups.setdefault((p, t, m, ps), []).append(c)
    fold_cache: dict[tuple[str, str, int], FoldData] = {}
    try:
        pool = train.ModelPool()  # one compiled model per (strategy, architecture), all run long
        for (p, t, m, ps), gcells in groups.items():
            pre = None
            pre_err = None
            for c in gcells:
                _, _, _, st, r, s = c
                t0 = time.perf_counter()
                rows: list[dict[str, Any]] = []
                base = dict(zip(CELL_KEYS, c, strict=True), profile=prof.name)
                try:
                    if pre_err is not None:
                        raise RuntimeError(f"pre-training failed: {pre_err}")
                    fk = (p, t, ps)
                    if fk not in fold_cache:
                        fold_cache.clear()
                        gc.collect()
                        fold_cache[fk] = prepare_fold(
                            store, t, p, split_seed=ps, norm_as_released=norm_as_released
                        )
                    fold = fold_cache[fk]
                    if fold.split.subset_seed != s:
                        fold = _with_subset_seed(fold, store, s)
                    if pre is None:
                        bar.set_postfix_str(f"pre-training {m} for {p}/{t}")
                        try:
                            pre = get_pretrained(fold, m, prof, ps, dkey, verbose)
                        except Exception as e:
                            pre_err = f"{type(e).__name__}: {e}"
                            raise
                    bar.set_postfix_str(f"{p}/{t}/{m}/{st}/{r}%/s{s}")
                    metrics, res = run_cell(fold, pre, st, r, s, prof, verbose, pool=pool)
                    if res is not None:
                        from harnb.train import save_history

                        res.meta.update(dict(zip(CELL_KEYS, c, strict=True)))
                        save_history(res, _history_path(c, prof))
                    secs = time.perf_counter() - t0
                    ts = _now()
                    for k in METRICS:
                        rows.append(
                            {
                                **base,
                                "metric": k,
                                "value": repr(float(metrics[k])),
                                "status": "ok",
                                "error": "",
                                "seconds": f"{secs:.1f}",
                                "timestamp": ts,
                            }
                        )
                except Exception as e:
                    msg = f"{type(e).__name__}: {e}".replace("\n", " ")[:500]
                    if verbose:
                        traceback.print_exc()
                    rows = [
                        {
                            **base,
                            "metric": "macro_f1",
                            "value": "",
                            "status": "error",
                            "error": msg,
                            "seconds": f"{time.perf_counter() - t0:.1f}",
                            "timestamp": _now(),
                        }
                    ]
                append_rows(out_path, rows, COLUMNS)
                bar.update(1)
            del pre
            gc.collect()
    finally:
        bar.close()
    return read_results(out_path)


def _with_subset_seed(fold: FoldData, store: WindowStore, subset_seed: int) -> FoldData:
    """The same fold with its fine-tuning subsets redrawn for another seed (no re-normalising)."""
    sp = fold.split
    new = lodo_split(store, sp.target, sp.protocol, seed=sp.seed, subset_seed=subset_seed)
    return FoldData(new, fold.X, fold.y)


def default_results_path(profile: Profile) -> Path:
    """``runs_dir()/results/<profile>.csv``."""
    from harnb.config import runs_dir

    return runs_dir() / "results" / f"{profile.name}.csv"


# --------------------------------------------------------------------------------------------
# Chapter 3: cross-dataset matrix
# --------------------------------------------------------------------------------------------


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
            epochs=prof.cross_epochs,
            batch_size=prof.cross_batch,
            lr=prof.lr,
            seed=seed,
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


# --------------------------------------------------------------------------------------------
# Command line (``harnb run``)
# --------------------------------------------------------------------------------------------


def add_run_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of ``harnb run`` (everything defaults to the profile)."""
    a = parser.add_argument
    a("--profile", default="ci", help="ci (CPU, minutes), cpu (≈1 h on 2 cores), full (GPU)")
    a("--out", default=None, help="results CSV (default: <runs>/results/<profile>.csv)")
    a("--model", nargs="+", default=None, help="models (default: the profile's)")
    a("--target", nargs="+", default=None, help="left-out datasets (default: all available)")
    a("--protocol", nargs="+", default=None, choices=PROTOCOLS, help="split protocols")
    a("--strategy", nargs="+", default=None, choices=STRATEGIES, help="fine-tuning strategies")
    a("--ratio", nargs="+", type=int, default=None, help="ratios in %% of the target: 0 1 5 10 70")
    a("--seed", nargs="+", type=int, default=None, help="fine-tuning seeds")
    a("--datasets", nargs="+", default=None, help="datasets to load (default: all available)")
    a("--backend", default=None, help="Keras backend (default: the profile's, else env)")
    a("--cross", action="store_true", help="run the cross-dataset matrix (Fig. 1) instead")
    a("--no-retry-errors", action="store_true", help="skip cells that failed before")
    a("--norm-as-released", action="store_true", help="normalise with all windows (B-C2)")
    a("--verbose", type=int, default=0, help="Keras verbosity")
    a("--no-progress", action="store_true", help="no progress bar")
    return parser


def _apply_backend(name: str | None) -> None:
    """Select the Keras backend before keras is first imported (warn if too late)."""
    if not name:
        return
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != name:
            print(
                f"harnb: keras already uses {keras.backend.backend()!r}; "
                f"set KERAS_BACKEND={name} before starting Python to use {name!r}",
                file=sys.stderr,
            )
        return
    os.environ["KERAS_BACKEND"] = name


def run_from_args(args: argparse.Namespace) -> int:
    """Execute ``harnb run`` from parsed arguments; returns a process exit code."""
    try:
        prof = get_profile(args.profile)
        if prof.datasets is None and args.datasets:
            prof = prof.with_(datasets=tuple(args.datasets))
        backend = args.backend or (None if "KERAS_BACKEND" in os.environ else prof.backend)
        _apply_backend(backend)
        if args.cross:
            model = args.model[0] if args.model else None
            df = cross_dataset_matrix(
                prof, args.out, model=model, datasets=args.datasets, seed=(args.seed or [0])[0],
                progress=not args.no_progress, verbose=args.verbose,
            )  # fmt: skip
            print(cross_matrix_table(df).round(3).to_string())
            return 0
        df = run_grid(
            prof,
            args.out,
            models=args.model,
            targets=args.target,
            protocols=args.protocol,
            strategies=args.strategy,
            ratios=args.ratio,
            seeds=args.seed,
            retry_errors=not args.no_retry_errors,
            progress=not args.no_progress,
            verbose=args.verbose,
            norm_as_released=args.norm_as_released,
        )
    except ValueError as e:
        print(f"harnb run: {e}", file=sys.stderr)
        return 2
    n_err = int(((df["status"] == "error") & (df["profile"] == prof.name)).sum()) if len(df) else 0
    for m in sorted(set(df["model"])) if len(df) else []:
        for p in sorted(set(df["protocol"])):
            t = paper_table(df[df["profile"] == prof.name], m, p)
            if not t.empty:
                print(f"\n{m} — {p} protocol (macro-F1 × 100, mean ± sd over seeds)")
                print(t.to_string())
    if n_err:
        print(f"\n{n_err} cell(s) failed; see the 'error' column", file=sys.stderr)
    return 1 if n_err else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m harnb.grid``)."""
    p = add_run_arguments(argparse.ArgumentParser(prog="harnb run", description=__doc__))
    return run_from_args(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "COLUMNS",
    "METRICS",
    "aggregate",
    "add_run_arguments",
    "append_rows",
    "cells_for",
    "cross_dataset_matrix",
    "cross_matrix_table",
    "finished_cells",
    "get_pretrained",
    "load_results",
    "main",
    "paper_table",
    "prepare_fold",
    "read_results",
    "run_from_args",
    "run_grid",
    "run_cell",
    "subsample_store",
]
