"""The four architectures: sizes and FLOPs vs Table VI, the liteFormer / DropPath fixes, batch
independence, seeds, weights round trip, feature extractors and fine-tuning variants.

Runs on whichever backend ``KERAS_BACKEND`` selects; ``test_models_backends.py`` runs both.
"""

from __future__ import annotations

import ast
import functools
import math
import random
from pathlib import Path

import keras
import numpy as np
import pytest

from harnb import models as M
from harnb.models.flops import flops_by_layer
from harnb.models.layers import DropPath, LiteFormer

PKG = Path(M.__file__).resolve().parent

# Table VI of the paper: ISPL and DeepConvLSTM with 10 classes, HART and MobileHART with 6
# (reference §5.6), and the counts of the same code with the other head size.
TABLE_VI = {
    "ispl": (10, 1_327_714, 338_528_096),
    "deepconvlstm": (10, 457_546, 86_184_508),
    "hart": (6, 1_445_918, 15_212_636),
    "mobilehart": (6, 2_542_942, 19_809_292),
}
PARAMS_OTHER_HEAD = {
    ("ispl", 6): 1_326_686,
    ("deepconvlstm", 6): 457_030,
    ("hart", 10): 1_450_018,
    ("mobilehart", 10): 2_547_042,
}
# Our exact per-sample FLOPs (tf-profiler convention). They equal Table VI exactly except for
# the liteFormer's kernel softmax (5 · heads · taps per layer), which our forward pass applies
# at inference and the released one did not: HART 5·4·(3+7+15+31+31+31) = 2,360, MobileHART
# 2 layers · 5·2·4 = 80.
OUR_FLOPS = {
    "ispl": 338_528_096,
    "deepconvlstm": 86_184_508,
    "hart": 15_212_636 + 2_360,
    "mobilehart": 19_809_292 + 80,
}
COMPILE = dict(
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=["accuracy"],
    run_eagerly=True,  # these are unit checks; compiled training runs in test_models_backends
)


@functools.cache
def shared(name: str, n_classes: int = 10) -> keras.Model:
    """One model per (name, n_classes) for read-only tests (building MobileHART takes seconds)."""
    return M.build(name, n_classes, seed=0)


def batch(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 128, 6)).astype("float32")


def predict(model: keras.Model | keras.layers.Layer, x: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(x, training=False))


def weights(model: keras.Model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


# --------------------------------------------------------------------------- registry, API


def test_registry_constants() -> None:
    assert M.MODELS == ("ispl", "deepconvlstm", "hart", "mobilehart")
    assert M.STRATEGIES == ("Rd", "P_F", "P_U", "P_0")
    assert [M.feature_dim(n) for n in M.MODELS] == [256, 128, 1024, 1024]


@pytest.mark.parametrize("name", M.MODELS)
def test_structure_head_and_features(name: str) -> None:
    m = shared(name)
    assert m.name == name
    head = m.layers[-1]
    assert head.name == "head" and isinstance(head, keras.layers.Dense)
    assert head.units == 10 and head.activation.__name__ == "softmax"
    assert m.input_shape == (None, 128, 6) and m.output_shape == (None, 10)
    fe = M.feature_extractor(m)
    assert fe.output_shape == (None, M.feature_dim(name))
    assert fe.layers[-1].name == "features"
    # Shares weights: the very same variables.
    assert {id(v) for v in fe.weights} <= {id(v) for v in m.weights}
    x = batch(3)
    f = predict(fe, x)
    np.testing.assert_allclose(
        predict(m, x), keras.ops.convert_to_numpy(head(f)), rtol=1e-5, atol=1e-6
    )


def test_model_code_is_backend_neutral() -> None:
    """No TensorFlow inside model code: keras and keras.ops only."""
    for path in PKG.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("tensorflow") for a in node.names), path.name
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("tensorflow"), path.name
            assert not (isinstance(node, ast.Name) and node.id == "tf"), path.name


# --------------------------------------------------------------------------- Table VI


@pytest.mark.parametrize("name", M.MODELS)
def test_param_counts_match_table_vi(name: str) -> None:
    n_classes, params, _ = TABLE_VI[name]
    assert M.count_params(shared(name, n_classes)) == params
    (other,) = [k for k in PARAMS_OTHER_HEAD if k[0] == name]
    assert M.count_params(shared(*other)) == PARAMS_OTHER_HEAD[other]


@pytest.mark.parametrize("name", M.MODELS)
def test_flops_match_table_vi(name: str) -> None:
    n_classes, _, paper = TABLE_VI[name]
    ours = M.flops(shared(name, n_classes))
    assert ours == OUR_FLOPS[name]
    assert abs(ours - paper) / paper < 0.05
    assert abs(ours - paper) / paper < 2e-4  # in fact within 0.02 %


def test_flops_full_convention_adds_attention_and_lstm() -> None:
    """'full' also counts what the TF profiler missed: LSTM loops and attention einsums."""
    assert M.flops(shared("ispl"), convention="full") == M.flops(shared("ispl"))
    # DeepConvLSTM: T = 112 steps; LSTM 1 (384 → 128) and LSTM 2 (128 → 128).
    lstm = 112 * (8 * 128 * (384 + 128) + 8 * 128) + 112 * (8 * 128 * 256 + 8 * 128)
    dcl = shared("deepconvlstm")
    assert M.flops(dcl, convention="full") - M.flops(dcl) == lstm
    # HART: per attention (8 tokens, 48 → 3 heads × 48) 4 projections + QKᵀ + AV, 12 of them.
    per_mha = 2 * 4 * 8 * 48 * 3 * 48 + 2 * 3 * 8 * 8 * (48 + 48)
    hart = shared("hart")
    assert M.flops(hart, convention="full") - M.flops(hart) == 12 * per_mha
    with pytest.raises(ValueError, match="tf-profiler"):
        M.flops(hart, convention="exact")


def test_flops_by_name_and_breakdown() -> None:
    assert M.flops("deepconvlstm") == OUR_FLOPS["deepconvlstm"]
    per_layer = flops_by_layer(shared("ispl"))
    assert sum(per_layer.values()) == OUR_FLOPS["ispl"]
    assert per_layer["head"] == 2 * 256 * 10 + 10 + 5 * 10
    # The extractor is the model minus the head.
    assert M.flops(M.feature_extractor(shared("ispl"))) == OUR_FLOPS["ispl"] - per_layer["head"]


def test_size_table_regenerates_table_vi() -> None:
    from harnb.paper import TABLE_VI as PAPER

    rows = {r["model"]: r for r in M.size_table()}
    assert list(rows) == list(M.MODELS)
    for name, (n_classes, params, fl) in TABLE_VI.items():
        r = rows[name]
        assert (r["classes"], r["params"], r["params_paper"]) == (n_classes, params, params)
        assert PAPER[name] == (params, fl) == (r["params_paper"], r["flops_paper"])
        assert r["flops"] == OUR_FLOPS[name] and abs(r["flops_rel_diff"]) < 2e-4
        assert r["flops_full"] >= r["flops"]


def test_flops_unknown_layer_is_an_error() -> None:
    inp = keras.Input((8, 4))
    m = keras.Model(inp, keras.layers.GRU(3)(inp))
    with pytest.raises(ValueError, match="no FLOP rule"):
        M.flops(m)


# --------------------------------------------------------------------------- the fixes


def test_liteformer_convolves_along_time_per_head() -> None:
    """Output equals a NumPy depthwise convolution along time, head h's softmaxed kernel on
    channel group h, 'same' padding (left (K−1)//2)."""
    k, h, t, c = 4, 2, 16, 48
    layer = LiteFormer(k, h)
    x = batch(3)[:, :t, :1].repeat(c, axis=-1) * np.linspace(0.5, 1.5, c, dtype="float32")
    y = keras.ops.convert_to_numpy(layer(x))
    w = keras.ops.convert_to_numpy(layer.normalized_kernel())  # (K, H)
    np.testing.assert_allclose(w.sum(0), 1.0, rtol=1e-6)
    left = (k - 1) // 2
    xp = np.pad(x, ((0, 0), (left, k - 1 - left), (0, 0)))
    ref = np.zeros_like(x)
    for ch in range(c):
        wk = w[:, ch // (c // h)]
        for i in range(k):
            ref[:, :, ch] += wk[i] * xp[:, i : i + t, ch]
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert layer.count_params() == k * h


def test_liteformer_needs_a_known_length() -> None:
    with pytest.raises(ValueError, match="known number of tokens"):
        LiteFormer(4, 2)(keras.Input((None, 48)))


def test_liteformer_softmax_is_a_reparameterisation() -> None:
    """Training steps move the raw variable by gradients only; no in-place softmax overwrite."""
    layer = LiteFormer(5, 4, drop_path=0.0)
    x = batch(2)[:, :8, :1].repeat(96, axis=-1)
    layer(x)
    raw = keras.ops.convert_to_numpy(layer.kernel).copy()
    layer(x, training=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.kernel), raw)
    assert not np.allclose(raw.sum(0), 1.0)  # the variable itself is not normalised


@pytest.mark.parametrize("training", [False, True])
def test_liteformer_never_mixes_samples(training: bool) -> None:
    """The reference's check: batch of 8 with only sample 5 non-zero (B-T1 leaked into 1, 3, 7)."""
    layer = LiteFormer(7, 4, drop_path=0.0)
    x = np.zeros((8, 8, 96), "float32")
    x[5] = batch(1)[0, :8, :1] + np.arange(96, dtype="float32") / 96
    y = keras.ops.convert_to_numpy(layer(x, training=training))
    nonzero = np.flatnonzero(np.abs(y).reshape(8, -1).max(1) > 0)
    assert nonzero.tolist() == [5]


def test_drop_path_is_per_sample() -> None:
    layer = DropPath(0.5, seed=3)
    x = np.ones((256, 8, 12), "float32")
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    per_sample = y.reshape(256, -1)
    # Every sample is either dropped entirely or kept entirely (scaled by 1/(1 − p)).
    assert set(np.unique(per_sample.min(1))) <= {0.0, 2.0}
    np.testing.assert_array_equal(per_sample.min(1), per_sample.max(1))
    assert 0.3 < (per_sample[:, 0] == 0).mean() < 0.7
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)
    # A zero sample stays zero and a kept sample is not influenced by the others.
    x2 = x.copy()
    x2[0] = 0.0
    assert np.all(keras.ops.convert_to_numpy(layer(x2, training=True))[0] == 0.0)


def test_drop_path_schedule_matches_reference() -> None:
    from harnb.models.layers import drop_path_schedule

    np.testing.assert_allclose(drop_path_schedule(0.3, 6), [0, 0.06, 0.12, 0.18, 0.24, 0.3])
    hart = shared("hart")
    lite = [layer for layer in hart.layers if isinstance(layer, LiteFormer)]
    np.testing.assert_allclose([layer.drop_path for layer in lite], np.linspace(0, 0.3, 6))
    assert [layer.kernel_size for layer in lite] == [3, 7, 15, 31, 31, 31]


@pytest.mark.parametrize("name", M.MODELS)
def test_batch_independence(name: str) -> None:
    """A sample's prediction is the same alone, inside a random batch, and after permuting it."""
    m = shared(name)
    x = batch(16, seed=1)
    p_batch = predict(m, x)
    np.testing.assert_allclose(predict(m, x[5:6])[0], p_batch[5], atol=1e-5)
    perm = np.random.default_rng(2).permutation(16)
    np.testing.assert_allclose(predict(m, x[perm]), p_batch[perm], atol=1e-5)
    other = np.concatenate([x[3:4], batch(7, seed=9)])
    np.testing.assert_allclose(predict(m, other)[0], p_batch[3], atol=1e-5)


# --------------------------------------------------------------------------- seeds, weights


def test_seed_makes_weights_deterministic_without_touching_global_random() -> None:
    state = random.getstate()
    a, b, c = (M.build("hart", 6, seed=s) for s in (7, 7, 8))
    assert random.getstate() == state
    for wa, wb in zip(weights(a), weights(b), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(weights(a), weights(c), strict=True))


@pytest.mark.parametrize("name", M.MODELS)
def test_weights_round_trip(name: str, tmp_path: Path) -> None:
    m = shared(name)
    path = tmp_path / f"{name}.weights.h5"
    m.save_weights(path)
    fresh = M.build(name, 10, seed=123)
    x = batch(4)
    assert not all(np.array_equal(a, b) for a, b in zip(weights(m), weights(fresh), strict=True))
    fresh.load_weights(path)
    for wa, wb in zip(weights(m), weights(fresh), strict=True):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(predict(fresh, x), predict(m, x))


# --------------------------------------------------------------------------- fine-tuning


def _n_trainable(model: keras.Model) -> int:
    return sum(math.prod(w.shape) for w in model.trainable_weights)


def _train_step(model: keras.Model, n_classes: int) -> None:
    model.compile(optimizer=keras.optimizers.Adam(1e-2), **COMPILE)
    y = np.arange(8) % n_classes
    model.train_on_batch(batch(8, seed=4), y)


@pytest.mark.parametrize(
    ("name", "train"), [("ispl", True), ("hart", False)]
)  # ISPL has the BatchNorms to check; HART's training step is left to the backend tests
def test_finetune_variants(name: str, train: bool) -> None:
    pre = M.build(name, 10, seed=0)
    before = weights(pre)
    fe_pre = M.feature_extractor(pre)
    x = batch(4)
    feats_pre = predict(fe_pre, x)
    n = 6
    head_params = M.feature_dim(name) * n + n
    variants = {
        s: M.finetune_variant(s, pre, 10 if s == "P_0" else n, seed=1) for s in M.STRATEGIES
    }
    for s, v in variants.items():
        assert v.name == name and v.layers[-1].name == "head"
        assert not {id(w) for w in v.weights} & {id(w) for w in pre.weights}, s

    rd, pf, pu, p0 = (variants[s] for s in M.STRATEGIES)
    # P_0: the pre-trained model as is (a copy).
    np.testing.assert_array_equal(predict(p0, x), predict(pre, x))
    assert _n_trainable(p0) == _n_trainable(pre)
    # P_F / P_U start from the pre-trained extractor; a fresh head of n classes.
    for v in (pf, pu):
        np.testing.assert_allclose(predict(M.feature_extractor(v), x), feats_pre, rtol=1e-6)
        assert v.output_shape == (None, n)
    assert _n_trainable(pf) == head_params
    assert _n_trainable(pu) == _n_trainable(M.build(name, n))
    # Rd: same architecture, fresh weights, all trainable.
    assert _n_trainable(rd) == _n_trainable(pu)
    assert not np.allclose(predict(M.feature_extractor(rd), x), feats_pre)
    # Same seed, same fresh head for P_F and P_U.
    np.testing.assert_array_equal(
        np.array(pf.get_layer("head").kernel), np.array(pu.get_layer("head").kernel)
    )

    if not train:
        return
    fe_pf_before = weights(M.feature_extractor(pf))
    for s, v in variants.items():
        _train_step(v, 10 if s == "P_0" else n)
    # Training any variant leaves the pre-trained model unchanged.
    for wa, wb in zip(before, weights(pre), strict=True):
        np.testing.assert_array_equal(wa, wb)
    # P_F's extractor, BatchNorm moving statistics included, did not move; its head did.
    for wa, wb in zip(fe_pf_before, weights(M.feature_extractor(pf)), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.allclose(predict(pu, x), predict(M.finetune_variant("P_U", pre, n, seed=1), x))


@pytest.mark.parametrize("name", M.MODELS)
def test_copy_model_is_an_independent_clone(name: str) -> None:
    """finetune_variant's copies: every custom layer clones from its config."""
    m = shared(name)
    c = M.copy_model(m)
    assert c.name == name and [type(a) for a in c.layers] == [type(b) for b in m.layers]
    assert not {id(w) for w in c.weights} & {id(w) for w in m.weights}
    for wa, wb in zip(weights(m), weights(c), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_finetune_variant_of_a_finetuned_model_and_attach_head() -> None:
    pre = shared("hart")
    pu = M.finetune_variant("P_U", pre, 6, seed=0)
    again = M.finetune_variant("P_F", pu, 4, seed=0)
    assert again.output_shape == (None, 4) and _n_trainable(again) == 1024 * 4 + 4
    fe = M.feature_extractor(pre)
    clf = M.attach_head(fe, 3, seed=5)
    assert clf.name == "hart" and clf.output_shape == (None, 3)
    assert {id(v) for v in fe.weights} <= {id(v) for v in clf.weights}  # shared, not copied
    np.testing.assert_array_equal(
        np.array(clf.get_layer("head").kernel),
        np.array(M.attach_head(fe, 3, seed=5).get_layer("head").kernel),
    )
    ispl_head = M.attach_head(M.feature_extractor(shared("ispl")), 3).get_layer("head")
    assert ispl_head.kernel_regularizer is not None  # ISPL's head keeps its L2


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: M.build("resnet"), r"valid choices: ispl, deepconvlstm, hart, mobilehart"),
        (lambda: M.build("hart", n_classes=1), "n_classes"),
        (lambda: M.build("ispl", n_classes=2.5), "n_classes"),
        (lambda: M.build("hart", input_shape=(100, 6)), "multiple of 16"),
        (lambda: M.build("hart", input_shape=(128, 3)), "6 channels"),
        (lambda: M.build("mobilehart", input_shape=(128, 9)), "6 channels"),
        (lambda: M.build("deepconvlstm", input_shape=(10, 6)), "time_steps"),
        (lambda: M.build("ispl", input_shape=(128,)), r"\(time_steps, channels\)"),
        (lambda: M.feature_dim("bert"), "valid choices"),
        (lambda: M.finetune_variant("P_X", shared("ispl")), r"valid choices: Rd, P_F, P_U, P_0"),
        (lambda: M.finetune_variant("P_0", shared("ispl"), n_classes=6), "10 outputs"),
        (lambda: M.finetune_variant("P_U", shared("ispl"), n_classes=1), "n_classes"),
    ],
)
def test_bad_input_raises_clear_value_error(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_other_input_lengths_build() -> None:
    """Non-default window lengths work where the architecture allows them."""
    assert M.build("hart", 6, input_shape=(64, 6)).output_shape == (None, 6)
    assert M.build("ispl", 6, input_shape=(100, 9)).output_shape == (None, 6)
    assert M.build("deepconvlstm", 6, input_shape=(64, 3)).output_shape == (None, 6)


def test_channel_split_trains_exactly_like_one_slice_per_range():
    """HART and MobileHART split channels with one op: same outputs and same gradients (so
    the same weights after training) as one ChannelSlice per range."""
    import keras

    from harnb.models.layers import ChannelSlice, ChannelSplit

    sizes, x = (2, 5, 3), np.random.default_rng(0).normal(size=(16, 4, 10)).astype("float32")
    y = np.arange(16) % 3

    def model(split: bool) -> keras.Model:
        keras.utils.set_random_seed(0)
        inp = keras.Input((4, 10))
        bounds = np.cumsum((0, *sizes))
        parts = (
            ChannelSplit(sizes)(inp)
            if split
            else [ChannelSlice(a, b)(inp) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        )
        h = keras.layers.Concatenate()([keras.layers.Dense(4)(p) for p in parts])
        out = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(h))
        m = keras.Model(inp, out)
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return m

    a, b = model(False), model(True)
    for _ in range(3):
        a.train_on_batch(x, y)
        b.train_on_batch(x, y)
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights(), strict=True))
    with pytest.raises(ValueError, match="positive sizes"):
        ChannelSplit((3, 0))
