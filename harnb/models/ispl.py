"""ISPL Inception (iSPLInception, Ronald et al. 2021) as used by the paper (reference §5.1).

Five inception modules of 64 filters per branch (kernels 68/34/17 after a 32-filter
bottleneck, plus max-pool → 1×1), a residual shortcut after the third module, an input
BatchNorm ("not in original paper", kept as in the released code), L2 0.00593 and LeCun-uniform
init. 1,327,714 parameters with 10 classes, as in Table VI.
"""

from __future__ import annotations

import keras
from keras import layers

from harnb.models.common import FEATURES, check_input_shape, head_layer

FEATURE_DIM = 256
FILTERS = 64
DEPTH = 5
BOTTLENECK = 32
MAX_KERNEL = 68
L2 = 0.00593
INIT = "lecun_uniform"


def _conv(filters: int, kernel: int, *, activation: str | None, l2: bool) -> layers.Conv1D:
    return layers.Conv1D(
        filters,
        kernel,
        padding="same",
        activation=activation,
        use_bias=False,
        kernel_initializer=INIT,
        kernel_regularizer=keras.regularizers.L2(L2) if l2 else None,
    )


def _inception_module(x: keras.KerasTensor) -> keras.KerasTensor:
    # Bottleneck without L2, as in the released code.
    bottleneck = _conv(BOTTLENECK, 1, activation="relu", l2=False)(x)
    branches = [
        _conv(FILTERS, MAX_KERNEL // 2**i, activation="relu", l2=True)(bottleneck) for i in range(3)
    ]
    pooled = layers.MaxPooling1D(3, strides=1, padding="same")(x)
    branches.append(_conv(FILTERS, 1, activation="relu", l2=True)(pooled))
    y = layers.Concatenate(axis=-1)(branches)
    y = layers.BatchNormalization()(y)
    return layers.Activation("relu")(y)


def build_ispl(n_classes: int = 10, input_shape: tuple[int, int] = (128, 6)) -> keras.Model:
    """ISPL Inception; the 256-d global-average-pooled output is the feature layer."""
    shape = check_input_shape("ispl", input_shape)
    inputs = keras.Input(shape=shape, name="inputs")
    x = layers.BatchNormalization()(inputs)
    residual = x
    for depth in range(DEPTH):
        x = _inception_module(x)
        if depth % 3 == 2:  # fires after the third module only, as in the released code
            s = _conv(FILTERS * 4, 1, activation=None, l2=True)(residual)
            s = layers.BatchNormalization()(s)
            x = layers.Activation("relu")(layers.Add()([s, x]))
            residual = x
    features = layers.GlobalAveragePooling1D(name=FEATURES)(x)
    outputs = head_layer(n_classes, kernel_initializer=INIT, l2=L2)(features)
    return keras.Model(inputs, outputs, name="ispl")
