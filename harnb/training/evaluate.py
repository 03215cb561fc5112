"""Metrics: macro-F1 over the target's classes, the released code's variant, confusion matrices.

The paper reports macro-F1 × 100. Its released code averages over the union of the labels in
``y_true`` and ``y_pred`` (sklearn's default, reference §6.3 and B-E1), so in the 0 % setting a
prediction of a class the target does not have adds a zero-F1 class to the average. Our primary
metric averages over the classes present in the target (:func:`macro_f1`); the union variant is
kept as :func:`macro_f1_union` so the book can show both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix as _sk_confusion
from sklearn.metrics import f1_score


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[int]) -> float:
    """Macro-F1 (0..1) averaged over ``classes`` (the target's classes).

    Predictions of other classes still count as errors (they lower the recall of the true
    class) but do not add zero-F1 entries to the average.
    """
    classes = [int(c) for c in classes]
    if len(classes) == 0:
        raise ValueError("macro_f1 needs at least one class")
    return float(
        f1_score(
            np.asarray(y_true), np.asarray(y_pred), labels=classes, average="macro", zero_division=0
        )
    )


def macro_f1_union(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro-F1 over the union of labels in ``y_true`` and ``y_pred`` (the released code's)."""
    return float(f1_score(np.asarray(y_true), np.asarray(y_pred), average="macro", zero_division=0))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of windows predicted correctly."""
    y_true = np.asarray(y_true)
    return float(np.mean(y_true == np.asarray(y_pred))) if len(y_true) else float("nan")


def confusion(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[int] | None = None
) -> np.ndarray:
    """Confusion matrix (rows true, columns predicted) over ``classes`` (default: all 10)."""
    from harnb.config import N_CLASSES

    labels = list(range(N_CLASSES)) if classes is None else [int(c) for c in classes]
    return _sk_confusion(np.asarray(y_true), np.asarray(y_pred), labels=labels)


def scores(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[int]) -> dict[str, float]:
    """The metrics the results files carry for one evaluation."""
    return {
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1_union": macro_f1_union(y_true, y_pred),
        "macro_f1": macro_f1(y_true, y_pred, classes),
    }
