"""Tests for the classical baseline (window statistics + RF / LR)."""

from __future__ import annotations

import numpy as np
import pytest

from harnb.training.baseline import (
    BASELINES,
    FEATURE_NAMES,
    N_FEATURES,
    SERIES,
    STATS,
    BaselineResult,
    fit_predict,
    make_baseline,
    run_baseline,
    window_features,
)

T = 128


def _col(name: str) -> int:
    return FEATURE_NAMES.index(name)


def _separable(n_per_class: int, classes: list[int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic windows whose class sets the acc noise level (a plumbing check, not HAR)."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for c in classes:
        w = rng.normal(0.0, 0.2, size=(n_per_class, T, 6)).astype(np.float32)
        w[:, :, :3] *= 1.0 + 2.0 * c
        w[:, :, 2] += 9.81
        X.append(w)
        y.append(np.full(n_per_class, c))
    return np.concatenate(X), np.concatenate(y)


def test_feature_shape_and_names():
    X = np.random.default_rng(0).normal(size=(5, T, 6)).astype(np.float32)
    F = window_features(X)
    assert F.shape == (5, 80) == (5, N_FEATURES)
    assert F.dtype == np.float32
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == len(SERIES) * len(STATS) == 80
    assert FEATURE_NAMES[0] == "acc_x_mean"
    assert FEATURE_NAMES[-1] == "gyro_mag_mean_abs_diff"
    assert "acc_mag_q90" in FEATURE_NAMES
    assert window_features(np.zeros((0, T, 6), np.float32)).shape == (0, 80)
    with pytest.raises(ValueError):
        window_features(np.zeros((3, T, 3)))


def test_features_constant_window():
    X = np.zeros((1, T, 6), np.float32)
    X[0, :, :] = [3.0, 4.0, 0.0, 1.0, 2.0, 2.0]
    F = window_features(X)[0]
    for s, v in zip(SERIES, [3, 4, 0, 1, 2, 2, 5, 3], strict=True):
        assert F[_col(f"{s}_std")] == 0.0
        assert F[_col(f"{s}_mean_abs_diff")] == 0.0
        for st in ("mean", "min", "max", "q10", "q25", "q50", "q75", "q90"):
            assert F[_col(f"{s}_{st}")] == pytest.approx(v, abs=1e-6), (s, st)
    assert F[_col("acc_mag_mean")] == pytest.approx(5.0)  # |(3, 4, 0)|
    assert F[_col("gyro_mag_mean")] == pytest.approx(3.0)  # |(1, 2, 2)|


def test_features_sine_and_ramp_match_numpy():
    t = np.arange(T)
    X = np.zeros((2, T, 6), np.float32)
    X[0, :, 0] = 2.0 + np.sin(2 * np.pi * 4 * t / T)  # 4 full periods
    X[1, :, 3] = t / (T - 1)  # ramp 0..1
    F = window_features(X)
    assert F[0, _col("acc_x_mean")] == pytest.approx(2.0, abs=1e-5)
    assert F[0, _col("acc_x_std")] == pytest.approx(1 / np.sqrt(2), abs=1e-5)
    ramp = X[1, :, 3]
    for q, st in zip((0.1, 0.25, 0.5, 0.75, 0.9), ("q10", "q25", "q50", "q75", "q90"), strict=True):
        assert F[1, _col(f"gyro_x_{st}")] == pytest.approx(np.quantile(ramp, q), abs=1e-6)
    assert F[1, _col("gyro_x_min")] == 0.0
    assert F[1, _col("gyro_x_max")] == pytest.approx(1.0)
    assert F[1, _col("gyro_x_mean_abs_diff")] == pytest.approx(1 / (T - 1), rel=1e-5)
    assert F[1, _col("gyro_mag_q50")] == pytest.approx(np.quantile(ramp, 0.5), abs=1e-6)


def test_features_match_numpy_reference_on_random_windows():
    X = np.random.default_rng(1).normal(size=(7, 50, 6)).astype(np.float32)
    F = window_features(X)
    mag = np.linalg.norm(X[:, :, :3].astype(np.float64), axis=2)
    ref = [
        mag.mean(1),
        mag.std(1),
        mag.min(1),
        mag.max(1),
        *np.quantile(mag, [0.1, 0.25, 0.5, 0.75, 0.9], axis=1),
        np.abs(np.diff(mag, axis=1)).mean(1),
    ]
    got = F[:, [_col(f"acc_mag_{st}") for st in STATS]]
    np.testing.assert_allclose(got, np.stack(ref, axis=1), rtol=1e-5, atol=1e-5)


def test_features_chunked_equal_unchunked():
    X = np.random.default_rng(2).normal(size=(103, T, 6)).astype(np.float32)
    full = window_features(X, chunk_size=10_000)
    for chunk in (1, 7, 50):
        np.testing.assert_array_equal(window_features(X, chunk_size=chunk), full)


def test_make_baseline_kinds():
    assert BASELINES == ("rf", "lr")
    rf = make_baseline("rf", seed=3)
    assert rf.n_estimators == 300 and rf.random_state == 3 and rf.class_weight == "balanced"
    lr = make_baseline("lr", seed=3)
    assert lr.named_steps["clf"].max_iter == 2000
    with pytest.raises(ValueError):
        make_baseline("svm", seed=0)


@pytest.mark.parametrize("kind", BASELINES)
def test_fit_predict_reproducible(kind):
    Xtr, ytr = _separable(6, [0, 1, 2], seed=0)
    Xte, _ = _separable(10, [0, 1, 2], seed=1)
    a = fit_predict(Xtr, ytr, Xte, kind=kind, seed=5)
    b = fit_predict(Xtr, ytr, Xte, kind=kind, seed=5)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (len(Xte),)


@pytest.mark.parametrize("kind", BASELINES)
def test_predicts_only_training_classes_and_one_window_classes(kind):
    Xtr, ytr = _separable(5, [2, 7], seed=0)
    X1, _ = _separable(1, [4], seed=3)  # a class with a single window
    Xtr, ytr = np.concatenate([Xtr, X1]), np.concatenate([ytr, [9]])
    Xte, _ = _separable(10, [0, 2, 4, 7], seed=1)
    pred = fit_predict(Xtr, ytr, Xte, kind=kind, seed=0)
    assert set(np.unique(pred)) <= {2, 7, 9}


@pytest.mark.parametrize("kind", BASELINES)
def test_single_training_class(kind):
    Xtr, ytr = _separable(3, [4], seed=0)
    Xte, _ = _separable(4, [1, 4], seed=1)
    pred = fit_predict(Xtr, ytr, Xte, kind=kind, seed=0)
    np.testing.assert_array_equal(pred, np.full(len(Xte), 4))


def test_synthetic_separable_problem_unit_plumbing():
    """Unit check of the classifier plumbing on synthetic data, not a HAR result."""
    # 30 windows per class: with 8 per class the 80-feature logistic regression overfits the
    # 40 pure-noise gyro features (macro-F1 ~0.75) while the forest stays at 1.0
    Xtr, ytr = _separable(30, [0, 1, 2, 3], seed=0)
    Xte, yte = _separable(25, [0, 1, 2, 3], seed=1)
    res = run_baseline(Xtr, ytr, Xte, yte, seed=0)
    assert set(res) == set(BASELINES)
    for kind, r in res.items():
        assert isinstance(r, BaselineResult) and r.kind == kind
        assert r.macro_f1 > 0.9, (kind, r.macro_f1)
        assert r.y_pred.shape == yte.shape
        assert r.seconds >= 0.0 and r.feature_seconds >= 0.0


def test_run_baseline_records_n_train_and_labels_average():
    Xtr, ytr = _separable(3, [0, 1], seed=0)
    Xte, yte = _separable(5, [0, 1], seed=1)
    res = run_baseline(Xtr, ytr, Xte, yte, kinds=("rf",), seed=0, labels=[0, 1, 5])
    r = res["rf"]
    assert r.n_train == len(ytr) == 6
    assert r.train_classes == (0, 1)
    # class 5 has no support and is never predicted: it adds a zero to the average
    assert r.macro_f1 <= 2 / 3 + 1e-9
    with pytest.raises(ValueError):
        run_baseline(Xtr, ytr, Xte, yte, kinds=("knn",))
