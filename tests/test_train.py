"""Training: best-validation checkpoint restore, determinism, P_0, macro-F1 over target classes."""

from __future__ import annotations

import sys
import types

import keras
import numpy as np
import pytest

import harnb
from harnb import evaluate, train
from harnb.profiles import get_profile


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

    m.build, m.feature_extractor, m.finetune_variant = build, feature_extractor, finetune_variant
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
    res = train.fit(m, X, y, Xv, yv, epochs=6, batch_size=32, lr=5e-3, seed=0)
    acc = res.history["val_accuracy"]
    assert res.best_epoch == int(np.argmax(acc)) + 1  # first maximum, like ModelCheckpoint
    assert res.best_val_accuracy == pytest.approx(max(acc))
    # the model now holds the best epoch's weights: its val accuracy equals the best one
    got = evaluate.accuracy(yv, train.predict_labels(m, Xv))
    assert got == pytest.approx(max(acc), abs=1e-6)
    assert len(res.history["epoch_seconds"]) == 6 and res.n_train == 200


def test_fit_is_deterministic_for_a_seed_and_label_smoothing_works():
    X, y = toy_data(120)
    Xv, yv = toy_data(40, seed=1)
    ws = []
    for _ in range(2):
        m = tiny_model(seed=3)
        train.fit(m, X, y, Xv, yv, epochs=2, batch_size=32, seed=7)
        ws.append(m.get_weights())
    for a, b in zip(*ws, strict=True):
        np.testing.assert_array_equal(a, b)
    m = tiny_model(seed=3)
    r = train.fit(m, X, y, Xv, yv, epochs=1, batch_size=32, seed=7, label_smoothing=0.1)
    assert 0 <= r.history["val_accuracy"][0] <= 1


def test_min_steps_lengthens_tiny_sets_only():
    X, y = toy_data(40)
    r = train.fit(tiny_model(), X, y, epochs=1, batch_size=32, seed=0, min_steps=6, max_epochs=4)
    assert r.epochs == 3  # 2 steps per epoch → 3 epochs for 6 steps
    r = train.fit(tiny_model(), X, y, epochs=1, batch_size=32, seed=0, min_steps=60, max_epochs=4)
    assert r.epochs == 4
    assert r.best_epoch == 4  # no validation: the last epoch is kept


def test_finetune_strategies_and_p0(fake_models, tmp_path):
    prof = get_profile("ci").with_(finetune_epochs=1, pretrain_epochs=1)
    X, y = toy_data(160)
    Xv, yv = toy_data(40, seed=1)
    pre, _ = train.pretrain("tiny", X, y, Xv, yv, prof, seed=0)
    before = [w.copy() for w in pre.get_weights()]
    m0, r0 = train.finetune("P_0", pre, X, y, Xv, yv, prof)
    assert m0 is pre and r0 is None
    for s in ("Rd", "P_F", "P_U"):
        m, r = train.finetune(s, pre, X[:30], y[:30], Xv, yv, prof, seed=1)
        assert m is not pre and r.n_train == 30
    for a, b in zip(before, pre.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the pre-trained model is never modified
    with pytest.raises(ValueError, match="strategy"):
        train.finetune("P_X", pre, X, y, Xv, yv, prof)
    p = train.save_history(r, tmp_path / "h")
    assert train.load_history(p)["history"]["loss"]
    assert (tmp_path / "h.csv").read_text().startswith("epoch,")


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
    prof = get_profile("ci").with_(finetune_epochs=1)
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
    from harnb import embed

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
    from harnb.splits import stratified_sample

    y = np.array([0] * 90 + [1] * 9 + [2])
    idx = np.arange(100) + 1000
    s = stratified_sample(idx, y, 20, seed=0)
    assert 18 <= len(s) <= 21 and set(y[s - 1000]) == {0, 1, 2}
    np.testing.assert_array_equal(s, stratified_sample(idx, y, 20, seed=0))
