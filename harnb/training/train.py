"""Supervised pre-training and fine-tuning, with best-validation checkpointing.

As the paper states (§IV-C): Adam 5e-4, batch 128 for pre-training and 64 for fine-tuning,
and the checkpoint with the highest validation accuracy is kept (the best weights are held in
memory and restored at the end; the released code kept the last epoch when pre-training, B-S7).
Label smoothing 0.1, which the released code used in pre-training only (D7), is an option.

:func:`fit` cuts seeded batches from pre-normalised float32 numpy arrays and takes one
optimiser step per batch: ``train_on_batch`` on TensorFlow; on JAX, Keras' same compiled step
with the model's state kept on the device between evaluations (:class:`_JaxSteps`, the same
numbers without the per-step write-back of every variable and wait for the logs).

Determinism: weights are drawn from ``seed`` at build time (``harnb.models`` seeds Python's
``random``, which Keras 3 initialisers and dropout generators draw from) and the order of every
epoch comes from a NumPy generator seeded by the run's seed (one ``fit`` call per epoch).
TensorFlow's global seed is not touched during a grid (:func:`seed_host`), because resetting it
makes every compiled function retrace (13–20 s for HART on 2 cores). On the CPU that makes runs repeatable; on a GPU, TensorFlow also needs
``tf.config.experimental.enable_op_determinism()`` (``set_seed(..., deterministic_ops=True)``),
which is slower and raises on ops with no deterministic kernel. A model reused through
:class:`ModelPool` takes the fresh model's weights and its dropout generators' state, so a run
gives the same numbers whatever ran before it in the process (one Dask worker or another).
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

from harnb.training.budget import Budget

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from harnb.training.profiles import Profile

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
    """What one training run returns: its evaluations and the restored checkpoint.

    ``history`` holds one entry per evaluation: ``step``, training ``loss`` and ``accuracy``
    (means over the steps since the previous evaluation), ``val_loss``, ``val_accuracy`` and
    ``seconds`` since the start. The model holds the weights of ``best_step``.
    """

    history: dict[str, list[float]]
    best_step: int
    best_val_accuracy: float
    steps: int
    seconds: float
    n_train: int
    stopped: str = "max_steps"  # "patience", "max_steps" or "no_validation"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def best_is_last(self) -> bool:
        """True when the kept checkpoint is the last evaluation: the budget, not the
        validation curve, ended the run."""
        return self.best_step == self.steps and self.stopped != "no_validation"

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (NaN become None)."""

        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and math.isnan(v) else v

        d = asdict(self)
        d["history"] = {k: [clean(v) for v in vs] for k, vs in self.history.items()}
        d["best_val_accuracy"] = clean(d["best_val_accuracy"])
        d["best_is_last"] = self.best_is_last
        return d


# --------------------------------------------------------------------------------------------
# Precise BatchNorm
# --------------------------------------------------------------------------------------------


def _layers_of(model: keras.Model) -> list[Any]:
    """Every layer of a model, nested models flattened."""
    out: list[Any] = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers"):
            out.extend(_layers_of(layer))
    return out


def batch_norm_layers(model: keras.Model) -> list[Any]:
    """The trainable BatchNormalization layers (the ones whose statistics training changes)."""
    import keras

    return [
        layer
        for layer in _layers_of(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]


def precise_bn(
    model: keras.Model,
    X: np.ndarray,
    max_windows: int = 2048,
    batch_size: int = 256,
    seed: int = 0,
) -> int:
    """Recompute the population statistics of every trainable BatchNorm layer from ``X``.

    With momentum 0.99 the moving averages of a short run still hold most of their initial
    values, so a model that trains well predicts one class at inference. Here up to
    ``max_windows`` training windows go through the model in training mode with dropout and
    drop path off; batch k sets each layer's momentum to (k-1)/k, so the moving mean and
    variance become the plain averages of the batch statistics (precise BN, Wu & Johnson
    2021). Returns the number of windows used (0: the model has no trainable BatchNorm).
    Eager calls only, so nothing compiled is retraced; backend-neutral.
    """
    bns = batch_norm_layers(model)
    if not bns or len(X) == 0:
        return 0
    # a shuffled sample: sorted, its batches would each hold windows of one dataset or subject
    # and the averaged batch statistics would miss the variance between them
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(X))[:max_windows] if len(X) > max_windows else rng.permutation(len(X))
    X = X[idx]
    X = np.asarray(X, np.float32)
    drops = [
        layer for layer in _layers_of(model) if isinstance(getattr(layer, "rate", None), float)
    ]
    saved_rates = [layer.rate for layer in drops]
    saved_momenta = [bn.momentum for bn in bns]
    try:
        for layer in drops:
            layer.rate = 0.0
        n_batches = math.ceil(len(X) / batch_size)
        for k in range(n_batches):
            for bn in bns:
                bn.momentum = k / (k + 1)
            model(X[k * batch_size : (k + 1) * batch_size], training=True)
    finally:
        for layer, r in zip(drops, saved_rates, strict=True):
            layer.rate = r
        for bn, m in zip(bns, saved_momenta, strict=True):
            bn.momentum = m
    return len(X)


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


def seed_states(model: keras.Model) -> list:
    """The state variables of every random generator (dropout) in ``model``, in layer order;
    ``get_weights`` leaves them out."""
    return [
        sg.state
        for layer in model._flatten_layers(include_self=False)
        for sg in getattr(layer, "_seed_generators", [])
    ]


class ModelPool:
    """One compiled model per fine-tuning strategy, reused across ratios and seeds.

    With TensorFlow on 2 CPU cores, tracing HART's training step takes 25–30 s, longer than
    fine-tuning on a 1 % subset; reusing the compiled model (fresh weights copied in, optimiser
    state zeroed, dropout generators' state copied in) traces it once per strategy instead of
    once per run, with the numbers of a fresh model.
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
        for pooled, new in zip(seed_states(m), seed_states(fresh), strict=True):
            pooled.assign(new.value)
        reset_optimizer(m, lr)
        return m, False

    def clear(self) -> None:
        """Drop every pooled model."""
        self._models.clear()


def predict_outputs(model: keras.Model, X: np.ndarray, batch_size: int) -> np.ndarray:
    """A model's outputs in fixed-size chunks (the last one padded), so a compiled predict
    step is traced for one shape only."""
    n = len(X)
    if n == 0:
        return np.empty((0, *model.output_shape[1:]), np.float32)
    b = min(batch_size, n)
    out = []
    for i in range(0, n, b):
        chunk = X[i : i + b]
        k = len(chunk)
        if k < b:
            chunk = np.concatenate([chunk, np.zeros((b - k, *X.shape[1:]), X.dtype)])
        out.append(np.asarray(model.predict_on_batch(chunk))[:k])
    return np.concatenate(out) if out else np.empty((0, int(model.output_shape[-1])))


class _Steps:
    """Optimiser steps through ``train_on_batch``: each returns its loss and accuracy at once.

    On TensorFlow that is all there is. :class:`_JaxSteps` keeps the state on the device."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model

    def step(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        logs = self.model.train_on_batch(x, y, return_dict=True)
        return float(logs["loss"]), float(logs.get("accuracy", np.nan))

    def sync(self) -> None:
        """Make the Keras variables hold the latest state (before reading or changing them)."""


class _JaxSteps(_Steps):
    """Keras' own jitted training step on JAX, with the model's state kept between calls.

    ``train_on_batch`` gathers every variable into the step's arguments, writes every result
    back into the variables and waits for the step's logs, each step: for HART that is ~13 ms
    of Python per step (measured on this CPU at batch 1, 29 vs 17 ms), the bulk of a GPU step.
    Here the state goes from one call of the same compiled ``train_function`` to the next
    (metrics reset per step, as ``train_on_batch`` does), the logs stay on the device, and the
    variables are written only at :meth:`sync`; so the numbers are ``train_on_batch``'s and
    the host runs ahead of the device. The first step goes through ``train_on_batch``, which
    builds and compiles what is missing.
    """

    def __init__(self, model: keras.Model) -> None:
        super().__init__(model)
        self.state: tuple | None = None
        self.zero_metrics: list[np.ndarray] = []

    def step(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        import jax

        m = self.model
        if m.train_function is None:  # not built or compiled yet
            return super().step(x, y)
        if self.state is None:
            m.reset_metrics()
            self.zero_metrics = [np.asarray(v.value) for v in m.metrics_variables]
            tv, ntv, ov = m._get_jax_state(
                trainable_variables=True, non_trainable_variables=True, optimizer_variables=True
            )
            self.state = (tv, ntv, ov)
            m._jax_state_synced = False  # the step donates these buffers
        data = (jax.device_put(x), jax.device_put(y), None)
        metrics = [jax.numpy.asarray(z) for z in self.zero_metrics]
        logs, (tv, ntv, ov, _) = m.train_function((*self.state, metrics), iter([data]))
        self.state = (tv, ntv, ov)
        return logs["loss"], logs.get("accuracy", np.nan)

    def sync(self) -> None:
        if self.state is None:
            return
        tv, ntv, ov = self.state
        m = self.model
        m._jax_state = {
            "trainable_variables": tv,
            "non_trainable_variables": ntv,
            "optimizer_variables": ov,
        }
        m._jax_state_synced = False
        m.jax_state_sync()
        self.state = None  # read again from the variables (precise BN may change them)


def _steps(model: keras.Model) -> _Steps:
    """The fastest exact way to take steps on this backend (``HARNB_TRAIN_ON_BATCH=1``: the
    plain one everywhere)."""
    import keras

    if keras.backend.backend() == "jax" and os.environ.get("HARNB_TRAIN_ON_BATCH") != "1":
        return _JaxSteps(model)
    return _Steps(model)


def fit(
    model: keras.Model,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    *,
    budget: Budget,
    batch_size: int,
    lr: float = 5e-4,
    label_smoothing: float = 0.0,
    seed: int = 0,
    precise_bn_windows: int = 2048,
    eval_batch: int = 512,
    verbose: int = 0,
    compile: bool = True,
    on_eval: Any = None,
) -> FitResult:
    """Train ``model`` in place for the steps ``budget`` allows; restore its best checkpoint.

    Batches of exactly ``min(batch_size, len(X))`` windows are cut from a stream of seeded
    permutations of the training set (one per pass), so every step has one shape and nothing
    retraces. Every ``eval_every`` steps, and at the last step, models with BatchNorm get
    precise statistics from up to ``precise_bn_windows`` training windows (0: off), then the
    validation accuracy decides the checkpoint (strictly higher wins: ties keep the earlier)
    and early stopping. Without validation windows the last step is kept.
    ``compile=False`` keeps an already compiled model's optimiser and traced functions.
    ``on_eval(step, max_steps, val_accuracy, best_step)`` is called after every evaluation
    (progress reports).
    """
    import keras

    if len(X) == 0:
        raise ValueError("no training windows")
    n_classes = int(model.output_shape[-1])
    seed_host(seed)
    if compile:
        compile_model(model, lr, label_smoothing)
    X = np.asarray(X, np.float32)
    y = np.asarray(y).astype(np.int64)
    if label_smoothing > 0:
        yt = keras.utils.to_categorical(y, n_classes).astype(np.float32)
    else:
        yt = y
    has_val = X_val is not None and y_val is not None and len(X_val) > 0
    if has_val:
        X_val = np.asarray(X_val, np.float32)
        y_val = np.asarray(y_val).astype(np.int64)
    b = min(int(batch_size), len(X))
    max_steps, every, min_steps = budget.plan(len(X), b)
    bn = precise_bn_windows if batch_norm_layers(model) else 0

    rng = np.random.default_rng(seed)
    order = np.empty(0, np.int64)
    hist: dict[str, list[float]] = {
        k: [] for k in ("step", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")
    }
    best, best_step, best_w, since = -np.inf, 0, None, 0
    losses: list[float] = []
    accs: list[float] = []
    stopped = "max_steps" if has_val else "no_validation"
    steps = _steps(model)
    t0 = time.perf_counter()
    for step in range(1, max_steps + 1):
        if len(order) < b:  # the next pass over the training set, in a seeded order
            order = np.concatenate([order, rng.permutation(len(X))])
        idx, order = order[:b], order[b:]
        loss, acc = steps.step(X[idx], yt[idx])
        losses.append(loss)
        accs.append(acc)
        if step % every and step != max_steps:
            continue
        steps.sync()
        losses, accs = [float(v) for v in losses], [float(v) for v in accs]
        if bn:
            precise_bn(model, X, bn, seed=seed + step)
        va_loss = va_acc = float("nan")
        if has_val:
            p = predict_outputs(model, X_val, eval_batch)
            va_acc = float(np.mean(p.argmax(-1) == y_val))
            va_loss = float(-np.mean(np.log(np.clip(p[np.arange(len(p)), y_val], 1e-7, 1.0))))
        for k, v in (
            ("step", step),
            ("loss", float(np.mean(losses))),
            ("accuracy", float(np.mean(accs))),
            ("val_loss", va_loss),
            ("val_accuracy", va_acc),
            ("seconds", time.perf_counter() - t0),
        ):
            hist[k].append(float(v))
        losses, accs = [], []
        if verbose:
            print(f"step {step}/{max_steps}: loss {hist['loss'][-1]:.4f}, val_acc {va_acc:.4f}")
        if not has_val:
            best_step = step
        elif va_acc > best:
            best, best_step, since = va_acc, step, 0
            best_w = [w.copy() for w in model.get_weights()]
        else:
            since += 1
        if on_eval is not None:
            on_eval(step, max_steps, va_acc, best_step)
        if not has_val:
            continue
        if budget.patience is not None and since >= budget.patience and step >= min_steps:
            stopped = "patience"
            break
    steps.sync()
    if best_w is not None:
        model.set_weights(best_w)
    return FitResult(
        history=hist,
        best_step=int(best_step),
        best_val_accuracy=float(best) if np.isfinite(best) else float("nan"),
        steps=int(hist["step"][-1]) if hist["step"] else 0,
        seconds=time.perf_counter() - t0,
        n_train=len(X),
        stopped=stopped,
        meta={
            "batch_size": b,
            "eval_every": every,
            "max_steps": max_steps,
            "precise_bn_windows": int(bn),
        },  # fmt: skip
    )


def predict_labels(model: keras.Model, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Arg-max class of every window."""
    if len(X) == 0:
        return np.empty(0, dtype=np.int64)
    p = predict_outputs(model, np.asarray(X, np.float32), batch_size)
    return p.argmax(-1).astype(np.int64)


def pretrain(
    model_name: str,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    profile: Profile,
    seed: int = 0,
    verbose: int = 0,
    on_eval: Any = None,
) -> tuple[keras.Model, FitResult]:
    """Build ``model_name`` and train it on the sources, early-stopped on the sources'
    validation subjects (the profile's pre-training budget)."""
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
        budget=profile.pretrain_budget,
        batch_size=profile.pretrain_batch,
        lr=profile.lr,
        label_smoothing=profile.label_smoothing,
        seed=seed,
        precise_bn_windows=profile.precise_bn_windows,
        eval_batch=profile.eval_batch,
        verbose=verbose,
        on_eval=on_eval,
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
    n_classes: int | None = None,
) -> tuple[keras.Model, FitResult | None]:
    """Fine-tune a fresh copy of ``pretrained`` with ``strategy`` (Rd, P_F, P_U); P_0 = as is.

    ``X`` are windows for Rd and P_U. For P_F they may be windows (trained through the frozen
    model) or the frozen extractor's cached features (:func:`harnb.models.frozen_features`),
    recognised by their 2-D shape: then only the head (:func:`harnb.models.feature_head`) is
    trained, which gives the same model at a fraction of the cost. The pre-trained model is
    never modified, so one pre-training serves every strategy, ratio and seed. With a
    :class:`ModelPool`, the compiled model of an earlier run with the same strategy is reused.
    ``n_classes`` sizes the fresh head (default: the 10-class union; a user's own classes for
    :mod:`harnb.pretrained.finetune`).
    """
    from harnb import models
    from harnb.config import N_CLASSES

    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    if strategy == "P_0":
        return pretrained, None
    k = N_CLASSES if n_classes is None else int(n_classes)
    on_features = strategy == "P_F" and np.ndim(X) == 2
    if on_features:
        model = models.feature_head(pretrained, n_classes=k, seed=seed)
    else:
        model = models.finetune_variant(strategy, pretrained, n_classes=k, seed=seed)
    do_compile = True
    if pool is not None:
        try:
            arch: object = models.arch_of(pretrained)
        except Exception:  # a model harnb.models does not know: never share its pool slot
            arch = id(pretrained)
        key = (strategy, arch, "features" if on_features else "windows", k)
        model, do_compile = pool.take(key, model, profile.lr)
    res = fit(
        model,
        X,
        y,
        X_val,
        y_val,
        budget=profile.finetune_budget,
        batch_size=profile.finetune_batch,
        lr=profile.lr,
        label_smoothing=0.0,
        seed=seed,
        precise_bn_windows=profile.precise_bn_windows,
        eval_batch=profile.eval_batch,
        verbose=verbose,
        compile=do_compile,
    )
    res.meta.update(
        strategy=strategy, phase="finetune", seed=seed, profile=profile.name, features=on_features
    )
    return model, res


def save_history(result: FitResult, path: str | os.PathLike[str]) -> Path:
    """Write a run's history as JSON (everything) and CSV (one row per evaluation), atomically."""
    import pandas as pd

    p = Path(path)
    p = p.with_name(p.name.removesuffix(".json"))
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=1))
    os.replace(tmp, p.with_name(p.name + ".json"))
    n = max((len(v) for v in result.history.values()), default=0)
    df = pd.DataFrame({k: v + [np.nan] * (n - len(v)) for k, v in result.history.items()})
    if "step" in df:
        df["step"] = df["step"].astype("Int64")
        df = df[["step", *(c for c in df.columns if c != "step")]]
    tmp_csv = p.with_name(f".{p.name}.{os.getpid()}.csv.tmp")
    df.to_csv(tmp_csv, index=False)
    os.replace(tmp_csv, p.with_name(p.name + ".csv"))
    return p.with_name(p.name + ".json")


def load_history(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a history written by :func:`save_history` (the JSON form)."""
    p = Path(path)
    return json.loads(p.with_name(p.name.removesuffix(".json") + ".json").read_text())
