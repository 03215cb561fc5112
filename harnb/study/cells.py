"""One cell of the LODO grid: how it is computed and how its rows are written.

A cell is (protocol, target, model, strategy, ratio, seed). :class:`CellRunner` is the one
code path that computes cells, used by the in-process grid (:mod:`harnb.study.grid`) and by
every Dask task (:mod:`harnb.study.cluster`), so both give the same numbers; neither of those
modules is imported here.
"""

from __future__ import annotations

import gc
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harnb.data.splits import budget_validation, stratified_sample
from harnb.study.results import (
    CELL_KEYS,
    COLUMNS,
    CONFUSION_COLUMNS,
    METRICS,
    _now,
    append_rows,
    confusion_path,
    confusion_rows,
)
from harnb.training import train
from harnb.training.folds import (
    FeatureCache,
    FoldData,
    get_pretrained,
    prepare_fold,
    with_subset_seed,
)
from harnb.training.profiles import Profile

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from harnb.data.store import WindowStore


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
    features: FeatureCache | None = None,
) -> tuple[dict[str, float], Any, dict[str, np.ndarray]]:
    """Fine-tune (or not, for P_0) and evaluate on the target's test subjects.

    Returns the metrics, the training result (None for P_0) and the test windows' labels,
    predictions and subjects. P_F trains on ``features`` when given (the fast path).
    """
    from harnb.training import evaluate

    sp = fold.split
    te = sp.target_test
    n_train, n_val, res = 0, 0, None
    if strategy == "P_0":
        pred = train.predict_labels(pretrained, fold.X[te], profile.eval_batch)
    elif strategy == "P_F-LP":  # a linear probe: logistic regression on the frozen features
        from harnb.training import baseline

        if features is None:
            raise ValueError("P_F-LP needs the frozen extractor's features (FeatureCache)")
        sub = sp.subset(ratio)
        pred = baseline.fit_predict_features(
            features.rows(sub), fold.y[sub].astype(np.int64), features.rows(te), "lr", seed
        )
        n_train = len(sub)
    elif strategy in BASELINE_STRATEGIES:  # every labelled window the deep strategies read
        from harnb.training import baseline

        if fold.X_si is None:
            raise ValueError("the classical baseline needs the fold's SI windows (X_si)")
        sub = sp.subset(ratio)
        kind = BASELINE_STRATEGIES[strategy]
        pred = baseline.fit_predict(
            fold.X_si[sub], fold.y[sub].astype(np.int64), fold.X_si[te], kind=kind, seed=seed
        )
        n_train = len(sub)
    else:
        sub = sp.subset(ratio)
        if profile.val_labels == "budget":  # checkpoint chosen on the ratio's own labels
            sub, val = budget_validation(sub, fold.y[sub], profile.budget_val_fraction, seed)
        else:  # the paper's rule: the target's fully labelled validation subjects
            val = sp.target_val
            if profile.max_val_windows and len(val) > profile.max_val_windows:
                val = stratified_sample(val, fold.y[val], profile.max_val_windows, seed)
        ytr, yva = fold.y[sub].astype(np.int64), fold.y[val].astype(np.int64)
        fast = strategy in ("P_F", "P_F-tBN") and features is not None
        if fast:
            Xtr, Xva, Xte = features.rows(sub), features.rows(val), features.rows(te)
        elif strategy == "P_F-tBN":
            raise ValueError("P_F-tBN needs the target-BatchNorm features (FeatureCache)")
        else:
            Xtr, Xva, Xte = fold.X[sub], fold.X[val], fold.X[te]
        deep = "P_F" if strategy == "P_F-tBN" else strategy
        model, res = train.finetune(
            deep, pretrained, Xtr, ytr, Xva, yva, profile, seed=seed, verbose=verbose,
            pool=pool,
        )  # fmt: skip
        pred = train.predict_labels(model, Xte, profile.eval_batch)
        n_train, n_val = len(sub), len(val)
    yte = fold.y[te].astype(np.int64)
    m = evaluate.scores(yte, pred, sp.target_classes)
    m.update(
        n_train=float(n_train),
        n_val=float(n_val),
        steps=float(res.steps if res else 0),
        best_step=float(res.best_step if res else 0),
        best_is_last=float(res.best_is_last if res else 0),
        seconds_train=float(res.seconds if res else 0.0),
    )
    subj = fold.subject[te] if len(fold.subject) else np.zeros(len(te), dtype=object)
    return m, res, {"y": yte, "pred": pred, "subject": subj}


Cell = tuple[str, str, str, str, int, int]

#: The classical baselines (:mod:`harnb.training.baseline`): strategy -> classifier.
BASELINE_STRATEGIES: dict[str, str] = {"FE-RF": "rf", "FE-LR": "lr"}
#: Every strategy a grid cell can have: the paper's (:data:`harnb.training.train.STRATEGIES`),
#: P_F on the target's BatchNorm statistics, a linear probe on P_F's frozen features (no early
#: stopping: it separates the features from P_F's head training), and the baselines on the
#: same labelled windows.
GRID_STRATEGIES: tuple[str, ...] = (
    *train.STRATEGIES,
    "P_F-tBN",
    "P_F-LP",
    *BASELINE_STRATEGIES,
)


def pretrain_seed(cell: Cell, profile: Profile) -> int:
    """The seed of the subject split and pre-training a cell uses."""
    return int(cell[5]) if profile.pretrain_per_seed else int(profile.split_seed)


def group_key(cell: Cell, profile: Profile) -> tuple[str, str, int]:
    """(model, target, pre-training seed): the cells that share one pre-trained model."""
    return cell[2], cell[1], pretrain_seed(cell, profile)


@dataclass(frozen=True)
class GridSpec:
    """What computing a cell needs besides the windows: small and picklable, so a cluster
    worker gets the same settings as the in-process grid."""

    profile: Profile
    configs: dict[str, str]  # {protocol: configuration hash}
    dkey: str
    norm_as_released: bool = False
    verbose: int = 0


def error_rows(cell: Cell, spec: GridSpec, message: str, seconds: float) -> list[dict]:
    """The one row that records a failed cell (``status=error``) with its message."""
    msg = message.replace("\n", " ")[:500]
    return [
        {
            **dict(zip(CELL_KEYS, cell, strict=True)),
            "profile": spec.profile.name,
            "config": spec.configs[cell[0]],
            "metric": "macro_f1",
            "value": "",
            "status": "error",
            "error": msg,
            "seconds": f"{seconds:.1f}",
            "timestamp": _now(),
        }
    ]


class CellRunner:
    """Computes cells' result rows: the one code path of the in-process grid and of every
    cluster task (:mod:`harnb.study.cluster`), so both give the same numbers.

    It keeps what the cells of a group share: normalised folds, the pre-trained model (from
    :func:`harnb.training.folds.get_pretrained`, which caches its weights on disk) and P_F's frozen
    features, plus one :class:`harnb.training.train.ModelPool` for the process's whole life.
    """

    def __init__(self, spec: GridSpec, store: WindowStore) -> None:
        self.spec, self.store = spec, store
        self.pool = train.ModelPool()  # one compiled model per (strategy, architecture)
        self.group: tuple[str, str, int] | None = None
        self._reset()

    def _reset(self) -> None:
        self.folds: dict[str, FoldData] = {}
        self.feats: dict[str, FeatureCache] = {}
        self.pre: keras.Model | None = None
        self.pre_err: str | None = None

    def enter_group(self, key: tuple[str, str, int]) -> None:
        """Drop the previous group's folds, model and features when a new group starts."""
        if key != self.group:
            self.clear()
            self.group = key

    def clear(self) -> None:
        """Free the current group's data."""
        self._reset()
        self.group = None
        gc.collect()

    def fold(self, protocol: str, subset_seed: int) -> FoldData:
        """The current group's fold for ``protocol``, its subsets drawn for ``subset_seed``."""
        _, t, ps = self.group  # type: ignore[misc]
        if protocol not in self.folds:
            prof = self.spec.profile
            self.folds[protocol] = prepare_fold(
                self.store, t, protocol, split_seed=ps,
                norm_as_released=self.spec.norm_as_released,
                orientation=prof.orientation, norm=prof.norm, sources=prof.sources,
            )  # fmt: skip
        return with_subset_seed(self.folds[protocol], self.store, subset_seed)

    def pretrained(self, fold: FoldData, status: Any = None) -> keras.Model:
        """The group's pre-trained model: loaded from the cache, or trained and cached."""
        m, t, ps = self.group  # type: ignore[misc]
        if self.pre_err is not None:
            raise RuntimeError(f"pre-training failed: {self.pre_err}")
        if self.pre is None:
            label = f"pre-training {m} for {t} (seed {ps})"
            say = status or (lambda _s: None)
            say(label)

            def report(step, hi, acc, best):
                say(f"{label}: step {step}/{hi}, val acc {acc:.3f}, best {best}")

            prof, v = self.spec.profile, self.spec.verbose
            try:
                self.pre = get_pretrained(fold, m, prof, ps, self.spec.dkey, v, report)
            except Exception as e:
                self.pre_err = f"{type(e).__name__}: {e}"
                raise
        return self.pre

    def rows(self, cell: Cell, status: Any = None) -> tuple[list[dict], list[dict]]:
        """(metric rows, confusion rows) of one cell; an exception gives one error row."""
        prof, configs = self.spec.profile, self.spec.configs
        say = status or (lambda _s: None)
        p, t, m, st, r, s = cell
        self.enter_group(group_key(cell, prof))
        t0 = time.perf_counter()
        try:
            if self.pre_err is not None and st not in BASELINE_STRATEGIES:
                raise RuntimeError(f"pre-training failed: {self.pre_err}")
            fold = self.fold(p, s)
            # the baselines need no pre-trained model: a failed pre-training does not stop them
            pre = None if st in BASELINE_STRATEGIES else self.pretrained(fold, say)
            fkey = (p, "P_F" if st == "P_F-LP" else st)  # the probe reads P_F's features
            if st in ("P_F", "P_F-tBN", "P_F-LP") and fkey not in self.feats:
                say(f"frozen features of {t} ({p}{', target BN' if st != 'P_F' else ''})")
                self.feats[fkey] = FeatureCache.compute(
                    pre, fold, prof.eval_batch,
                    target_bn=prof.precise_bn_windows if st == "P_F-tBN" else 0,
                    seed=self.group[2],  # type: ignore[index]
                )  # fmt: skip
            say(f"{m}/{t}/s{s}/{p}/{r}%/{st}")
            metrics, res, test = run_cell(
                fold, pre, st, r, s, prof, self.spec.verbose, pool=self.pool,
                features=self.feats.get(fkey),
            )  # fmt: skip
            keys = dict(zip(CELL_KEYS, cell, strict=True))
            if res is not None:
                res.meta.update(keys, config=configs[p])
                train.save_history(res, _history_path(cell, prof))
            secs = time.perf_counter() - t0
            ts = _now()
            conf = confusion_rows(
                keys, test["y"], test["pred"], test["subject"], fold.split.target_classes,
                configs[p], ts,
            )  # fmt: skip
            base = {**keys, "profile": prof.name, "config": configs[p]}
            rows = [
                {
                    **base,
                    "metric": k,
                    "value": repr(float(metrics[k])),
                    "status": "ok",
                    "error": "",
                    "seconds": f"{secs:.1f}",
                    "timestamp": ts,
                }
                for k in METRICS
            ]
            return rows, conf
        except Exception as e:
            if self.spec.verbose:
                traceback.print_exc()
            return error_rows(
                cell, self.spec, f"{type(e).__name__}: {e}", time.perf_counter() - t0
            ), []


def write_cell(out_path: Path, rows: list[dict], conf: list[dict]) -> None:
    """Append one cell: its confusion counts first, then its metrics (``macro_f1`` last marks
    it complete), each in one fsync'ed write."""
    if conf:
        append_rows(confusion_path(out_path), conf, CONFUSION_COLUMNS)
    append_rows(out_path, rows, COLUMNS)
