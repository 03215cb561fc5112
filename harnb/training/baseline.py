"""Classical baseline: hand-made window statistics + random forest / logistic regression.

The study asks whether a pre-trained deep model fine-tuned on a few labelled windows beats a
classical model trained on *exactly the same* labelled windows. This module is that classical
side: it turns each window into per-channel summary statistics (:func:`window_features`) and
fits a fixed, untuned classifier (:func:`make_baseline`). Nothing here is tuned on test data;
every setting is a fixed rule written down below, so the baseline cannot borrow an advantage
the deep models do not get.

Only numpy / scipy / scikit-learn are used, so the baseline runs anywhere the data loads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

__all__ = [
    "BASELINES",
    "CHANNELS",
    "FEATURE_NAMES",
    "N_FEATURES",
    "QUANTILES",
    "SERIES",
    "STATS",
    "BaselineResult",
    "fit_predict",
    "make_baseline",
    "run_baseline",
    "window_features",
]

#: Input channel order of a window ``(T, 6)``: acc in m/s² (with gravity), gyro in rad/s.
CHANNELS: tuple[str, ...] = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
#: The 8 series summarised: the 6 channels, then the acc and gyro Euclidean magnitudes
#: (orientation-free, so they survive differing device placement across datasets).
SERIES: tuple[str, ...] = (*CHANNELS, "acc_mag", "gyro_mag")
#: Quantile levels (numpy's default "linear" interpolation).
QUANTILES: tuple[float, ...] = (0.10, 0.25, 0.50, 0.75, 0.90)
#: The 10 statistics per series, in column order. ``mean_abs_diff`` is the mean absolute
#: first difference over time, a cheap measure of how fast the signal moves.
STATS: tuple[str, ...] = (
    "mean",
    "std",
    "min",
    "max",
    *(f"q{round(q * 100):02d}" for q in QUANTILES),
    "mean_abs_diff",
)
#: Column names of :func:`window_features`, series-major: all stats of ``acc_x``, then
#: ``acc_y`` … ``gyro_mag``; e.g. ``"acc_x_mean"``, ``"acc_mag_q90"``.
FEATURE_NAMES: list[str] = [f"{s}_{st}" for s in SERIES for st in STATS]
N_FEATURES: int = len(FEATURE_NAMES)  # 8 series × 10 stats = 80

#: Baseline kinds accepted by :func:`make_baseline`.
BASELINES: tuple[str, ...] = ("rf", "lr")

_DEFAULT_CHUNK = 20_000


def _chunk_features(X: np.ndarray) -> np.ndarray:
    """Features of one chunk ``(n, T, 6)`` -> ``(n, 80)``; vectorised over windows."""
    n, t, _ = X.shape
    acc_mag = np.sqrt(np.einsum("ntc,ntc->nt", X[:, :, :3], X[:, :, :3]))
    gyro_mag = np.sqrt(np.einsum("ntc,ntc->nt", X[:, :, 3:], X[:, :, 3:]))
    # (n, 8, T): time last so every statistic is a reduction over the last axis
    series = np.concatenate(
        [np.swapaxes(X, 1, 2), acc_mag[:, None, :], gyro_mag[:, None, :]], axis=1
    )
    out = np.empty((n, len(SERIES), len(STATS)), dtype=np.float64)
    # float64 accumulation: float32 sums over long windows of ~9.81 m/s² lose digits
    out[:, :, 0] = series.mean(axis=2, dtype=np.float64)
    out[:, :, 1] = series.std(axis=2, dtype=np.float64)
    # one sort gives min, max and every quantile (cheaper than np.quantile per level)
    srt = np.sort(series, axis=2)
    out[:, :, 2] = srt[:, :, 0]
    out[:, :, 3] = srt[:, :, -1]
    for j, q in enumerate(QUANTILES):
        # numpy's "linear" method: position q·(T-1) between order statistics
        pos = q * (t - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, t - 1)
        frac = pos - lo
        lo_v = srt[:, :, lo].astype(np.float64)
        out[:, :, 4 + j] = lo_v + frac * (srt[:, :, hi] - lo_v)
    if t > 1:
        out[:, :, -1] = np.abs(np.diff(series, axis=2)).mean(axis=2, dtype=np.float64)
    else:  # a single sample does not move
        out[:, :, -1] = 0.0
    return out.reshape(n, N_FEATURES).astype(np.float32)


def window_features(X: np.ndarray, chunk_size: int = _DEFAULT_CHUNK) -> np.ndarray:
    """Per-window summary statistics ``(N, T, 6)`` -> ``(N, 80)`` float32, see FEATURE_NAMES.

    For each of 8 series (6 channels, acc magnitude, gyro magnitude): mean, std (population,
    ddof=0), min, max, 10/25/50/75/90 % quantiles and mean absolute first difference.
    Windows are processed ``chunk_size`` at a time so 200k-window sets do not need several GB
    of temporaries; the result does not depend on ``chunk_size``. NaNs propagate.
    """
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[2] != len(CHANNELS):
        raise ValueError(f"expected windows of shape (N, T, {len(CHANNELS)}), got {X.shape}")
    if X.shape[1] < 1:
        raise ValueError("windows need at least one time step")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float32)
    n = X.shape[0]
    out = np.empty((n, N_FEATURES), dtype=np.float32)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        out[start:stop] = _chunk_features(X[start:stop])
    return out


def make_baseline(kind: str, seed: int = 0, *, n_jobs: int = 1) -> BaseEstimator:
    """A fresh, untuned baseline classifier of ``kind`` ("rf" or "lr").

    * ``"rf"``: RandomForestClassifier(300 trees, class_weight="balanced", min_samples_leaf=1,
      random_state=seed). ``n_jobs=1`` by default because the study runs many grid cells in
      parallel processes; a forest's result does not depend on ``n_jobs``.
    * ``"lr"``: StandardScaler + LogisticRegression(C=1.0, max_iter=2000,
      class_weight="balanced"); the scaler matters because features mix m/s² and rad/s.

    ``class_weight="balanced"`` because few-label target sets are strongly imbalanced and the
    metric is macro-F1. No hyper-parameter is tuned: these values are fixed for every run.
    """
    if kind == "rf":
        return RandomForestClassifier(
            n_estimators=300,
            class_weight="balanced",
            min_samples_leaf=1,
            random_state=seed,
            n_jobs=n_jobs,
        )
    if kind == "lr":
        return Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "clf",
                    LogisticRegression(
                        C=1.0, max_iter=2000, class_weight="balanced", random_state=seed
                    ),
                ),
            ]
        )
    raise ValueError(f"unknown baseline {kind!r}; expected one of {BASELINES}")


def _check_labels(X: np.ndarray, y: np.ndarray, what: str) -> np.ndarray:
    """``y`` as a 1-D int array of the same length as ``X``."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"{what}: {len(X)} windows but labels of shape {y.shape}")
    if len(y) and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError(f"{what}: labels must be integer class ids")
    return y.astype(np.int64)


def fit_predict_features(
    F_train: np.ndarray, y_train: np.ndarray, F_test: np.ndarray, kind: str, seed: int
) -> np.ndarray:
    """Fit on features (window statistics, or a frozen extractor's: the P_F-LP probe), predict
    labels; one training class short-circuits to a constant."""
    if kind not in BASELINES:
        raise ValueError(f"unknown baseline {kind!r}; expected one of {BASELINES}")
    classes = np.unique(y_train)
    if len(classes) == 0:
        raise ValueError("no training windows")
    if len(F_test) == 0:
        return np.empty(0, dtype=np.int64)
    if len(classes) == 1:
        # LogisticRegression refuses one class; the only sensible answer is that class
        return np.full(len(F_test), classes[0], dtype=np.int64)
    model = make_baseline(kind, seed)
    model.fit(F_train, y_train)
    # sklearn predicts only from classes_ (the training classes), so absent classes never occur
    return np.asarray(model.predict(F_test), dtype=np.int64)


def fit_predict(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    kind: str = "rf",
    seed: int = 0,
) -> np.ndarray:
    """Train baseline ``kind`` on windows ``X_train`` / ``y_train``, return labels for ``X_test``.

    Copes with few-label sets: a single training class predicts that class everywhere,
    classes absent from training are never predicted, one-window classes are kept as is.
    """
    y_train = _check_labels(X_train, y_train, "train")
    return fit_predict_features(
        window_features(X_train), y_train, window_features(X_test), kind, seed
    )


@dataclass
class BaselineResult:
    """One baseline's outcome on one train/test split.

    ``macro_f1`` is on a 0..1 scale. ``seconds`` is fit + predict wall time of this kind;
    ``feature_seconds`` is the (shared) feature extraction time of train + test windows.
    ``n_train`` is the number of labelled windows the baseline read, to check it equals the
    label budget the deep model got.
    """

    kind: str
    y_pred: np.ndarray = field(repr=False)
    macro_f1: float
    seconds: float
    n_train: int
    train_classes: tuple[int, ...]
    feature_seconds: float = 0.0


def run_baseline(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    kinds: Sequence[str] = BASELINES,
    seed: int = 0,
    labels: Sequence[int] | None = None,
) -> dict[str, BaselineResult]:
    """Fit each baseline in ``kinds`` on the same labelled windows and score it on ``X_test``.

    Macro-F1 averages over ``labels`` when given (pass the target dataset's classes, matching
    the deep models' primary metric); otherwise over the union of classes in ``y_test`` and
    the predictions (sklearn's default). Classes with no support score 0 (zero_division=0).
    Features are computed once and shared by all kinds.
    """
    y_train = _check_labels(X_train, y_train, "train")
    y_test = _check_labels(X_test, y_test, "test")
    for kind in kinds:
        if kind not in BASELINES:
            raise ValueError(f"unknown baseline {kind!r}; expected one of {BASELINES}")
    t0 = time.perf_counter()
    F_train = window_features(X_train)
    F_test = window_features(X_test)
    feature_seconds = time.perf_counter() - t0
    label_list = None if labels is None else [int(c) for c in labels]
    if label_list is not None and len(label_list) == 0:
        raise ValueError("labels must name at least one class")
    train_classes = tuple(int(c) for c in np.unique(y_train))
    results: dict[str, BaselineResult] = {}
    for kind in kinds:
        t0 = time.perf_counter()
        y_pred = fit_predict_features(F_train, y_train, F_test, kind, seed)
        seconds = time.perf_counter() - t0
        f1 = float(f1_score(y_test, y_pred, labels=label_list, average="macro", zero_division=0))
        results[kind] = BaselineResult(
            kind=kind,
            y_pred=y_pred,
            macro_f1=f1,
            seconds=seconds,
            n_train=len(y_train),
            train_classes=train_classes,
            feature_seconds=feature_seconds,
        )
    return results
