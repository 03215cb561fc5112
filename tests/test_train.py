"""Training: best-validation checkpoint restore, determinism, P_0, macro-F1 over target classes."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest

import harnb
from harnb.training import evaluate, train
from harnb.training.profiles import get_profile


def tiny_model(n_classes: int = 10, input_shape=(16, 6), seed: int | None = 0) -> keras.Model:
    """A few hundred parameters; trains in well under a second per epoch."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inp = keras.Input(input_shape)
    x = keras.layers.Conv1D(4, 3, activation="relu", name="conv")(inp)
    x = keras.layers.GlobalAveragePooling1D(name="features")(x)
    out = keras.layers.Dense(n_classes, activation="softmax", name="head")(x)
    return keras.Model(inp, out)


def fake_models_module() -> types.ModuleType:
    """A stand-in for harnb.models with the same API, built on :func:`tiny_model`."""
    m = types.ModuleType("harnb.models")
    m.MODELS = ("tiny",)
    m.STRATEGIES = ("Rd", "P_F", "P_U", "P_0")

    def build(name, n_classes=10, input_shape=(16, 6), seed=None):
        if name not in m.MODELS:
            raise ValueError(f"unknown model {name}")
        return tiny_model(n_classes, tuple(input_shape), seed)

    def feature_extractor(model):
        return keras.Model(model.inputs, model.get_layer("features").output)

    def finetune_variant(strategy, pretrained, n_classes=10, seed=None):
        new = tiny_model(n_classes, tuple(pretrained.input_shape[1:]), seed)
        if strategy in ("P_F", "P_U", "P_0"):
            new.get_layer("conv").set_weights(pretrained.get_layer("conv").get_weights())
        if strategy == "P_0":
            new.get_layer("head").set_weights(pretrained.get_layer("head").get_weights())
        new.get_layer("conv").trainable = strategy != "P_F"
        return new

    def frozen_features(pretrained):
        return keras.Model(pretrained.inputs, pretrained.get_layer("features").output)

    def feature_head(pretrained, n_classes=10, seed=None):
        if seed is not None:
            keras.utils.set_random_seed(seed)
        inp = keras.Input((4,))
        return keras.Model(inp, keras.layers.Dense(n_classes, activation="softmax")(inp))

    m.build, m.feature_extractor, m.finetune_variant = build, feature_extractor, finetune_variant
    m.frozen_features, m.feature_head = frozen_features, feature_head
    return m


@pytest.fixture
def fake_models(monkeypatch):
    mod = fake_models_module()
    monkeypatch.setitem(sys.modules, "harnb.models", mod)
    monkeypatch.setattr(harnb, "models", mod, raising=False)
    return mod


def toy_data(n: int = 240, seed: int = 0, classes=(0, 3, 5)):
    """Separable 3-class windows: class c has a mean offset on channel c % 6."""
    rng = np.random.default_rng(seed)
    y = rng.choice(classes, n)
    X = rng.normal(size=(n, 16, 6)).astype(np.float32)
    for c in classes:
        X[y == c, :, c % 6] += 2.0
    return X, y


def test_best_checkpoint_is_restored():
    X, y = toy_data(200)
    Xv, yv = toy_data(60, seed=1)
    m = tiny_model()
    budget = train.Budget(max_steps=42, eval_every=6)
    res = train.fit(m, X, y, Xv, yv, budget=budget, batch_size=32, lr=5e-3, seed=0)
    acc = res.history["val_accuracy"]
    assert res.history["step"] == [6.0 * k for k in range(1, 8)]
    assert res.best_step == res.history["step"][int(np.argmax(acc))]  # first maximum
    assert res.best_val_accuracy == pytest.approx(max(acc))
    # the model now holds the best evaluation's weights: its val accuracy equals the best one
    got = evaluate.accuracy(yv, train.predict_labels(m, Xv))
    assert got == pytest.approx(max(acc), abs=1e-6)
    assert res.steps == 42 and res.n_train == 200
    assert res.best_is_last == (res.best_step == 42)


def test_fit_is_deterministic_for_a_seed_and_label_smoothing_works():
    X, y = toy_data(120)
    Xv, yv = toy_data(40, seed=1)
    budget = train.Budget(max_steps=8, eval_every=4)
    ws = []
    for _ in range(2):
        m = tiny_model(seed=3)
        train.fit(m, X, y, Xv, yv, budget=budget, batch_size=32, seed=7)
        ws.append(m.get_weights())
    for a, b in zip(*ws, strict=True):
        np.testing.assert_array_equal(a, b)
    m = tiny_model(seed=3)
    r = train.fit(m, X, y, Xv, yv, budget=budget, batch_size=32, seed=7, label_smoothing=0.1)
    assert 0 <= r.history["val_accuracy"][0] <= 1


def test_early_stopping_patience_min_and_max_steps():
    X, y = toy_data(64)
    Xv, yv = toy_data(40, seed=1)
    # lr 0: the validation accuracy never improves after the first evaluation
    b = train.Budget(min_steps=10, max_steps=100, eval_every=2, patience=2)
    r = train.fit(tiny_model(), X, y, Xv, yv, budget=b, batch_size=32, lr=0.0, seed=0)
    assert r.stopped == "patience" and r.best_step == 2
    assert r.steps == 10  # patience ran out at step 6, but min_steps holds it to 10
    assert not r.best_is_last
    b = train.Budget(max_steps=100, max_epochs=3, patience=50)
    r = train.fit(tiny_model(), X, y, Xv, yv, budget=b, batch_size=32, seed=0)
    assert r.steps == 6 and r.history["step"] == [2.0, 4.0, 6.0]  # 3 epochs of 2 steps
    assert r.stopped == "max_steps"
    r = train.fit(tiny_model(), X, y, budget=train.Budget(max_steps=5), batch_size=32, seed=0)
    assert r.best_step == 5 and r.stopped == "no_validation" and not r.best_is_last
    # a training set smaller than the batch trains on whole-set batches
    r = train.fit(tiny_model(), X[:10], y[:10], Xv, yv, budget=b, batch_size=32, seed=0)
    assert r.meta["batch_size"] == 10 and r.steps == 3
    with pytest.raises(ValueError, match="max_steps or max_epochs"):
        train.Budget()
    with pytest.raises(ValueError, match="patience"):
        train.Budget(max_steps=10, patience=0)


def test_precise_bn_sets_population_statistics():
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 3))
    x = keras.layers.Dropout(0.5)(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling1D(name="features")(x)
    m = keras.Model(inp, keras.layers.Dense(2, activation="softmax", name="head")(x))
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(600, 8, 3)).astype(np.float32)
    n = train.precise_bn(m, X, max_windows=512, batch_size=128, seed=0)
    assert n == 512
    bn = m.get_layer("bn")
    used = X[np.random.default_rng(0).permutation(600)[:512]]  # a shuffled sample
    # dropout off: the statistics are the plain average of the batch moments of the inputs
    chunks = [used[i : i + 128].reshape(-1, 3) for i in range(0, 512, 128)]
    mean = np.mean([c.mean(0) for c in chunks], 0)
    var = np.mean([c.var(0) for c in chunks], 0)
    np.testing.assert_allclose(np.asarray(bn.moving_mean), mean, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), var, rtol=1e-3)
    assert bn.momentum == 0.99 and m.layers[1].rate == 0.5  # restored
    bn.trainable = False  # frozen BatchNorm (P_F) keeps its statistics
    assert train.precise_bn(m, X) == 0


def test_finetune_strategies_and_p0(fake_models, tmp_path):
    prof = get_profile("ci").with_(
        finetune_budget=train.Budget(max_steps=4, eval_every=2),
        pretrain_budget=train.Budget(max_steps=4),
    )
    X, y = toy_data(160)
    Xv, yv = toy_data(40, seed=1)
    pre, _ = train.pretrain("tiny", X, y, Xv, yv, prof, seed=0)
    before = [w.copy() for w in pre.get_weights()]
    m0, r0 = train.finetune("P_0", pre, X, y, Xv, yv, prof)
    assert m0 is pre and r0 is None
    for s in ("Rd", "P_F", "P_U"):
        m, r = train.finetune(s, pre, X[:30], y[:30], Xv, yv, prof, seed=1)
        assert m is not pre and r.n_train == 30 and r.steps == 4
    feats = fake_models.frozen_features(pre).predict(X[:30], verbose=0)
    fv = fake_models.frozen_features(pre).predict(Xv, verbose=0)
    m, r = train.finetune("P_F", pre, feats, y[:30], fv, yv, prof, seed=1)
    assert r.meta["features"] and m.input_shape == (None, 4)
    for a, b in zip(before, pre.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the pre-trained model is never modified
    with pytest.raises(ValueError, match="strategy"):
        train.finetune("P_X", pre, X, y, Xv, yv, prof)
    p = train.save_history(r, tmp_path / "h")
    assert train.load_history(p)["history"]["loss"]
    assert (tmp_path / "h.csv").read_text().startswith("step,")


def test_macro_f1_over_target_classes_vs_union():
    y_true = np.array([0, 0, 3, 3, 5, 5])
    y_pred = np.array([0, 7, 3, 3, 5, 9])  # 7 and 9 are not target classes
    f_t = evaluate.macro_f1(y_true, y_pred, [0, 3, 5])
    f_u = evaluate.macro_f1_union(y_true, y_pred)
    # target classes: F1(0) = 2/3, F1(3) = 1, F1(5) = 2/3 → 7/9; union adds two zero-F1 classes
    assert f_t == pytest.approx(7 / 9)
    assert f_u == pytest.approx(7 / 15)
    cm = evaluate.confusion(y_true, y_pred, [0, 3, 5])
    assert cm.shape == (3, 3) and cm.trace() == 4
    assert evaluate.confusion(y_true, y_pred).shape == (10, 10)
    with pytest.raises(ValueError):
        evaluate.macro_f1(y_true, y_pred, [])


def test_model_pool_reuses_compiled_model(fake_models):
    prof = get_profile("ci").with_(finetune_budget=train.Budget(max_epochs=1))
    X, y = toy_data(96)
    Xv, yv = toy_data(32, seed=1)
    pre = fake_models.build("tiny", seed=0)
    pool = train.ModelPool()
    m1, r1 = train.finetune("P_U", pre, X, y, Xv, yv, prof, seed=0, pool=pool)
    step1 = int(m1.optimizer.iterations.numpy())
    m2, r2 = train.finetune("P_U", pre, X[:64], y[:64], Xv, yv, prof, seed=1, pool=pool)
    assert m2 is m1 and r2.n_train == 64
    assert int(m2.optimizer.iterations.numpy()) == 1  # optimiser state was reset (64/64 = 1 step)
    assert step1 == 2
    m3, _ = train.finetune("Rd", pre, X, y, Xv, yv, prof, seed=0, pool=pool)
    assert m3 is not m1  # one slot per strategy


def test_embed_and_tsne(fake_models):
    from harnb.training import embed

    X, y = toy_data(60)
    f = embed.embed(fake_models.build("tiny", seed=0), X)
    assert f.shape == (60, 4)
    z, idx = embed.tsne(f, max_points=30, y=y, perplexity=5)
    assert z.shape == (len(idx), 2) and len(idx) <= 30
    assert set(y[idx]) == set(y)
    np.testing.assert_array_equal(
        embed.tsne(f[:20], perplexity=5), embed.tsne(f[:20], perplexity=5)
    )


def test_stratified_sample():
    from harnb.data.splits import stratified_sample

    y = np.array([0] * 90 + [1] * 9 + [2])
    idx = np.arange(100) + 1000
    s = stratified_sample(idx, y, 20, seed=0)
    assert 18 <= len(s) <= 21 and set(y[s - 1000]) == {0, 1, 2}
    np.testing.assert_array_equal(s, stratified_sample(idx, y, 20, seed=0))


def test_pooled_p_f_head_repeats_a_fresh_run_whatever_ran_before():
    """P_F's feature Dropout is drawn inside ``seeded`` and a pooled model takes the fresh
    model's generator state: the same cell gives the same weights in any process order."""
    import random

    from harnb import models

    prof = get_profile("ci").with_(finetune_budget=train.Budget(max_steps=6, eval_every=3))
    pre = models.build("hart", n_classes=10, input_shape=(128, 6), seed=0)
    rng = np.random.default_rng(0)
    F = rng.normal(size=(96, int(models.frozen_features(pre).output_shape[-1]))).astype("float32")
    y = rng.integers(0, 10, 96)

    def run(pool, seed):
        m, _ = train.finetune("P_F", pre, F, y, F[:32], y[:32], prof, seed=seed, pool=pool)
        return [w.copy() for w in m.get_weights()]

    random.seed(123)  # the process's shared state must not matter
    fresh = run(None, 1)
    pool = train.ModelPool()
    run(pool, 0)  # another cell first advances the pooled generators
    random.seed(7)
    pooled = run(pool, 1)
    assert all(np.array_equal(a, b) for a, b in zip(fresh, pooled, strict=True))
    assert train.seed_states(models.feature_head(pre, seed=1))  # the Dropout has a generator


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_jax_kept_state_steps_match_train_on_batch(tmp_path) -> None:
    """On JAX, fit keeps the state on the device between evaluations; the weights, history,
    checkpoint and early stop must be train_on_batch's, also for a reused compiled model."""
    out = tmp_path / "steps.json"
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(Path(__file__).parents[1]))
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_jax_steps_check.py")), str(out)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    ref, kept = res["train_on_batch"]["runs"], res["kept_state"]["runs"]
    assert [r["steps_class"] for r in ref] == ["_Steps"] * 2
    assert [r["steps_class"] for r in kept] == ["_JaxSteps"] * 2
    for a, b in zip(ref, kept, strict=True):
        assert a["best_step"] == b["best_step"] and a["stopped"] == b["stopped"]
        assert a["history"]["step"] == b["history"]["step"]
        np.testing.assert_allclose(a["history"]["loss"], b["history"]["loss"], rtol=1e-6)
        np.testing.assert_allclose(a["history"]["val_accuracy"], b["history"]["val_accuracy"])
        for wa, wb in zip(a["weights"], b["weights"], strict=True):
            np.testing.assert_allclose(np.array(wa), np.array(wb), rtol=1e-6, atol=1e-7)
    # the second fit continued from the first one's weights (the state was written back)
    assert ref[0]["weights"] != ref[1]["weights"]


def test_saved_model_weights_leave_the_optimizer_out(tmp_path) -> None:
    """A pre-trained cache entry loads into a fresh build as the trained weights, a third of
    the size Keras' own save_weights writes for a model trained with Adam."""
    from harnb.training.folds import save_model_weights

    keras.utils.set_random_seed(0)

    def build() -> keras.Model:
        inp = keras.Input((16, 3))
        h = keras.layers.Conv1D(8, 3)(inp)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Dense(256, activation="relu")(keras.layers.GlobalAveragePooling1D()(h))
        return keras.Model(inp, keras.layers.Dense(4, activation="softmax")(h))

    m = build()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(32, 16, 3)).astype("float32")
    m.train_on_batch(x, np.arange(32) % 4)
    m.save_weights(tmp_path / "keras.weights.h5")
    save_model_weights(m, tmp_path / "sub" / "slim.weights.h5")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["slim.weights.h5"]
    fresh = build()
    fresh.load_weights(tmp_path / "sub" / "slim.weights.h5")
    assert all(
        np.array_equal(a, b) for a, b in zip(m.get_weights(), fresh.get_weights(), strict=True)
    )
    slim, full = (
        (tmp_path / p).stat().st_size for p in ("sub/slim.weights.h5", "keras.weights.h5")
    )
    assert slim < full / 2
