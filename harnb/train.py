"""Supervised pre-training and fine-tuning, with best-validation checkpointing.

As the paper states (§IV-C): Adam 5e-4, batch 128 for pre-training and 64 for fine-tuning,
and the checkpoint with the highest validation accuracy is kept (the best weights are held in
memory and restored at the end; the released code kept the last epoch when pre-training, B-S7).
Label smoothing 0.1, which the released code used in pre-training only (D7), is an option.

Arrays are passed to ``keras.Model.fit`` as pre-normalised float32 numpy arrays, so each
backend builds its own input pipeline (tf.data on TensorFlow, plain batching on JAX) without
Python work per batch beyond Keras' own.

Determinism: weights are drawn from ``seed`` at build time (``harnb.models`` seeds Python's
``random``, which Keras 3 initialisers and dropout generators draw from) and the order of every
epoch comes from a NumPy generator seeded by the run's seed (one ``fit`` call per epoch).
TensorFlow's global seed is not touched during a grid (:func:`seed_host`), because resetting it
makes every compiled function retrace (13–20 s for HART on 2 cores). On the CPU that makes runs repeatable; on a GPU, TensorFlow also needs
``tf.config.experimental.enable_op_determinism()`` (``set_seed(..., deterministic_ops=True)``),
which is slower and raises on ops with no deterministic kernel. A model reused through
:class:`ModelPool` keeps its dropout generators' state, so its runs are repeatable for a given
order of cells, not bit-identical to a fresh model's.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from harnb.profiles import Profile

#: Fine-tuning strategies of the paper; P_0 is the pre-trained model without tuning (0 %).
STRATEGIES: tuple[str, ...] = ("Rd", "P_F", "P_U", "P_0")


def set_seed(seed: int, deterministic_ops: bool = False) -> None:
    """Seed Python, NumPy and the Keras backend; optionally force deterministic TF ops."""
    import keras

    keras.utils.set_random_seed(int(seed))
    if deterministic_ops and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def seed_host(seed: int) -> None:
    """Seed Python and NumPy only (what weight init, dropout seeds and batch order draw from).

    Unlike :func:`set_seed` it leaves TensorFlow's global seed alone: resetting that makes every
    already compiled function retrace (13–20 s each for HART on 2 cores).
    """
    random.seed(int(seed))
    np.random.seed(int(seed))


@dataclass
class FitResult:
    """What one training run returns: per-epoch history and the restored checkpoint."""

    history: dict[str, list[float]]
    best_epoch: int  # 1-based; the epoch whose weights the model now holds
    best_val_accuracy: float
    epochs: int
    seconds: float
    n_train: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (NaN become None)."""
        d = asdict(self)
        d["history"] = {
            k: [None if (isinstance(v, float) and math.isnan(v)) else v for v in vs]
            for k, vs in self.history.items()
        }
        if isinstance(d["best_val_accuracy"], float) and math.isnan(d["best_val_accuracy"]):
            d["best_val_accuracy"] = None
        return d


def _best_weights_callback(monitor: str) -> Any:
    """A callback keeping, in memory, the weights of the epoch with the highest ``monitor``."""
    import keras

    class BestWeights(keras.callbacks.Callback):
        """Like ``ModelCheckpoint(save_best_only=True, mode='max')`` without touching disk."""

        def __init__(self) -> None:
            super().__init__()
            self.best = -np.inf
            self.best_epoch = 0
            self.weights: list[np.ndarray] | None = None
            self.epoch_seconds: list[float] = []
            self._t0 = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_seconds.append(time.perf_counter() - self._t0)
            v = (logs or {}).get(monitor)
            if v is None:  # no validation data: the last epoch is the checkpoint
                self.best_epoch, self.weights = epoch + 1, None
                return
            if float(v) > self.best:  # strict: ties keep the earlier epoch, as Keras does
                self.best, self.best_epoch = float(v), epoch + 1
                self.weights = [w.copy() for w in self.model.get_weights()]

    return BestWeights()


def compile_model(model: keras.Model, lr: float = 5e-4, label_smoothing: float = 0.0) -> None:
    """Adam(lr) with cross-entropy; one-hot categorical CE when label smoothing is on."""
    import keras

    if label_smoothing > 0:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
        metric = keras.metrics.CategoricalAccuracy(name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss=loss, metrics=[metric])


def reset_optimizer(model: keras.Model, lr: float) -> None:
    """Zero the optimiser's step count and moments (Adam), keeping the compiled graph."""
    for v in model.optimizer.variables:
        if v.path.endswith("learning_rate"):
            v.assign(lr)
        else:
            v.assign(np.zeros(v.shape, dtype=v.dtype))


class ModelPool:
    """One compiled model per fine-tuning strategy, reused across ratios and seeds.

    With TensorFlow on 2 CPU cores, tracing HART's training step takes 25–30 s, longer than
    fine-tuning on a 1 % subset; reusing the compiled model (fresh weights copied in, optimiser
    state zeroed) traces it once per strategy instead of once per run. Results equal a fresh
    model's up to the order of random draws (dropout and shuffling stay seeded).
    """

    def __init__(self) -> None:
        self._models: dict[tuple, keras.Model] = {}

    def take(self, key: tuple, fresh: keras.Model, lr: float, label_smoothing: float = 0.0):
        """The pooled model for ``key`` holding ``fresh``'s weights, and whether to compile it."""
        k = (*key, lr, label_smoothing)
        m = self._models.get(k)
        if m is None:
            self._models[k] = fresh
            return fresh, True
        m.set_weights(fresh.get_weights())
        reset_optimizer(m, lr)
        return m, False

    def clear(self) -> None:
        """Drop every pooled model."""
        self._models.clear()


def fit(
    model: keras.Model,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    *,
    epochs: int,
    batch_size: int,
    lr: float = 5e-4,
    label_smoothing: float = 0.0,
    seed: int = 0,
    min_steps: int = 0,
    max_epochs: int | None = None,
    verbose: int = 0,
    compile: bool = True,
) -> FitResult:
    """Train ``model`` in place and restore the weights of its best validation accuracy.

    ``min_steps`` (CPU profiles only) raises the epoch count of a tiny training set until it
    gets that many optimiser steps (capped by ``max_epochs``), so a 1 % subset is not trained
    for only two or three steps; 0 keeps ``epochs`` exactly, as the paper does.
    ``compile=False`` keeps an already compiled model's optimiser and traced functions.
    """
    import keras

    if len(X) == 0:
        raise ValueError("no training windows")
    n_classes = int(model.output_shape[-1])
    seed_host(seed)
    if compile:
        compile_model(model, lr, label_smoothing)
    steps = math.ceil(len(X) / batch_size)
    n_epochs = max(int(epochs), math.ceil(min_steps / steps)) if min_steps else int(epochs)
    if max_epochs is not None:
        n_epochs = max(int(epochs), min(n_epochs, int(max_epochs)))

    def targets(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v).astype(np.int64)
        return keras.utils.to_categorical(v, n_classes) if label_smoothing > 0 else v

    X = np.asarray(X, np.float32)
    yt = targets(y)
    val = None
    if X_val is not None and y_val is not None and len(X_val):
        val = (np.asarray(X_val, np.float32), targets(y_val))
    cb = _best_weights_callback("val_accuracy")
    rng = np.random.default_rng(seed)
    hist: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for e in range(n_epochs):
        # the epoch's order comes from our seeded generator, not from the backend's global seed
        perm = rng.permutation(len(X))
        h = model.fit(
            X[perm],
            yt[perm],
            batch_size=batch_size,
            epochs=e + 1,
            initial_epoch=e,
            validation_data=val,
            shuffle=False,
            callbacks=[cb],
            verbose=verbose,
        )
        for k, v in h.history.items():
            hist.setdefault(k, []).extend(float(x) for x in v)
    seconds = time.perf_counter() - t0
    if cb.weights is not None:
        model.set_weights(cb.weights)
    hist["epoch_seconds"] = [float(s) for s in cb.epoch_seconds]
    return FitResult(
        history=hist,
        best_epoch=int(cb.best_epoch),
        best_val_accuracy=float(cb.best) if np.isfinite(cb.best) else float("nan"),
        epochs=n_epochs,
        seconds=seconds,
        n_train=len(X),
    )


def predict_labels(model: keras.Model, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Arg-max class of every window."""
    if len(X) == 0:
        return np.empty(0, dtype=np.int64)
    p = model.predict(np.asarray(X, np.float32), batch_size=batch_size, verbose=0)
    return np.asarray(p).argmax(-1).astype(np.int64)


def pretrain(
    model_name: str,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    profile: Profile,
    seed: int = 0,
    verbose: int = 0,
) -> tuple[keras.Model, FitResult]:
    """Build ``model_name`` and train it on the sources (profile's pre-training settings)."""
    from harnb import models
    from harnb.config import N_CLASSES

    seed_host(seed)
    model = models.build(model_name, n_classes=N_CLASSES, input_shape=X.shape[1:], seed=seed)
    res = fit(
        model,
        X,
        y,
        X_val,
        y_val,
        epochs=profile.pretrain_epochs,
        batch_size=profile.pretrain_batch,
        lr=profile.lr,
        label_smoothing=profile.label_smoothing,
        seed=seed,
        verbose=verbose,
    )
    res.meta.update(model=model_name, phase="pretrain", seed=seed, profile=profile.name)
    return model, res


def finetune(
    strategy: str,
    pretrained: keras.Model,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    profile: Profile,
    seed: int = 0,
    verbose: int = 0,
    pool: ModelPool | None = None,
) -> tuple[keras.Model, FitResult | None]:
    """Fine-tune a fresh copy of ``pretrained`` with ``strategy`` (Rd, P_F, P_U); P_0 = as is.

    The pre-trained model itself is never modified, so one pre-training serves every strategy,
    ratio and seed. With a :class:`ModelPool`, the compiled model of an earlier run with the
    same strategy is reused (the returned model is then overwritten by the next run).
    """
    from harnb import models
    from harnb.config import N_CLASSES

    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    if strategy == "P_0":
        return pretrained, None
    model = models.finetune_variant(strategy, pretrained, n_classes=N_CLASSES, seed=seed)
    do_compile = True
    if pool is not None:
        try:
            arch: object = models.arch_of(pretrained)
        except Exception:  # a model harnb.models does not know: never share its pool slot
            arch = id(pretrained)
        model, do_compile = pool.take((strategy, arch), model, profile.lr)
    res = fit(
        model,
        X,
        y,
        X_val,
        y_val,
        epochs=profile.finetune_epochs,
        batch_size=profile.finetune_batch,
        lr=profile.lr,
        label_smoothing=0.0,
        seed=seed,
        min_steps=profile.finetune_min_steps,
        max_epochs=profile.finetune_max_epochs,
        verbose=verbose,
        compile=do_compile,
    )
    res.meta.update(strategy=strategy, phase="finetune", seed=seed, profile=profile.name)
    return model, res


def save_history(result: FitResult, path: str | os.PathLike[str]) -> Path:
    """Write a run's history as JSON (everything) and CSV (one row per epoch), atomically."""
    import pandas as pd

    p = Path(path)
    p = p.with_name(p.name.removesuffix(".json"))
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=1))
    os.replace(tmp, p.with_name(p.name + ".json"))
    n = max((len(v) for v in result.history.values()), default=0)
    df = pd.DataFrame({k: v + [np.nan] * (n - len(v)) for k, v in result.history.items()})
    df.insert(0, "epoch", np.arange(1, n + 1))
    tmp_csv = p.with_name(f".{p.name}.{os.getpid()}.csv.tmp")
    df.to_csv(tmp_csv, index=False)
    os.replace(tmp_csv, p.with_name(p.name + ".csv"))
    return p.with_name(p.name + ".json")


def load_history(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a history written by :func:`save_history` (the JSON form)."""
    p = Path(path)
    return json.loads(p.with_name(p.name.removesuffix(".json") + ".json").read_text())
