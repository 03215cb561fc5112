"""MobileHART-XS (Ek et al. 2022), reference §5.5.

A MobileViT-style network with separate acc and gyro stems: per sensor a stride-2 conv and a
MobileNetV2 stack (inverted residual blocks, IRB), a sensor-wise HART block (two sensor-wise
transformer layers with liteFormer, D = 96), fusion, then IRB → MobileViT block (d = 120, 4
layers) → IRB → MobileViT block (d = 144, 3 layers) → 1×1 conv 384 → global average →
Dense(1024, swish) → Dropout(0.3) → Dense(n, softmax).

2,542,942 parameters with 6 classes (Table VI), 2,547,042 with 10 (7,360 of them BatchNorm
statistics); the liteFormer fixes keep its 2 × 4 parameters per layer, so counts are unchanged.
The released builder ``mobileHART_XS`` was unreachable from its training script (bug B-S1).
"""

from __future__ import annotations

import keras
from keras import layers

from harnb.models.common import FEATURES, check_input_shape, head_layer
from harnb.models.hart import EPS, sensor_wise_block
from harnb.models.layers import ChannelSplit, DepthwiseConv1D, drop_path_schedule

FEATURE_DIM = 1024
PROJECTION_DIMS = (96, 120, 144)
FILTERS = (8, 16, 24, 32, 80, 96, 384)
EXPANSION = 4
MLP_HEAD = 1024
DROPOUT = 0.3
DROP_PATH = 0.3
HEADS = 2
LITE_KERNEL = 4


def conv_block(
    x: keras.KerasTensor, filters: int, kernel_size: int = 3, strides: int = 1
) -> keras.KerasTensor:
    """Conv1D(filters, k, stride, same, swish, bias)."""
    return layers.Conv1D(filters, kernel_size, strides=strides, padding="same", activation="swish")(
        x
    )


def inverted_residual(
    x: keras.KerasTensor, expanded: int, out: int, strides: int = 1
) -> keras.KerasTensor:
    """MobileNetV2 IRB: 1×1 expand → depthwise 3 → 1×1 project, BN after each; residual if
    shapes allow. Stride 2 zero-pads by one and uses a 'valid' depthwise conv, as released."""
    m = layers.Conv1D(expanded, 1, padding="same", use_bias=False)(x)
    m = layers.BatchNormalization()(m)
    m = layers.Activation("swish")(m)
    if strides == 2:
        m = layers.ZeroPadding1D(1)(m)
    m = DepthwiseConv1D(
        3, strides=strides, padding="same" if strides == 1 else "valid", use_bias=False
    )(m)
    m = layers.BatchNormalization()(m)
    m = layers.Activation("swish")(m)
    m = layers.Conv1D(out, 1, padding="same", use_bias=False)(m)
    m = layers.BatchNormalization()(m)
    if x.shape[-1] == out and strides == 1:
        return layers.Add()([m, x])
    return m


def _mv2_stack(x: keras.KerasTensor) -> keras.KerasTensor:
    f, e = FILTERS, EXPANSION
    x = inverted_residual(x, f[0] * e, f[1])
    x = inverted_residual(x, f[1] * e, f[2], strides=2)
    x = inverted_residual(x, f[2] * e, f[2])
    x = inverted_residual(x, f[2] * e, f[2])
    return inverted_residual(x, f[2] * e, f[3], strides=2)


def _transformer(x: keras.KerasTensor, n_layers: int, dim: int) -> keras.KerasTensor:
    """MobileViT transformer: pre-LN MHA (2 heads, key_dim = dim) and MLP 2·dim, no drop path
    and no final LayerNorm, as in the released ``transformer_block``."""
    for _ in range(n_layers):
        x1 = layers.LayerNormalization(epsilon=EPS)(x)
        a = layers.MultiHeadAttention(num_heads=HEADS, key_dim=dim, dropout=DROPOUT)(x1, x1)
        x2 = layers.Add()([a, x])
        x3 = layers.LayerNormalization(epsilon=EPS)(x2)
        x3 = layers.Dense(2 * x.shape[-1], activation="swish")(x3)
        x3 = layers.Dropout(DROPOUT)(x3)
        x3 = layers.Dense(x.shape[-1])(x3)
        x = layers.Add()([x3, x2])
    return x


def _mobilevit_block(x: keras.KerasTensor, n_layers: int, dim: int) -> keras.KerasTensor:
    local = conv_block(x, dim)
    local = conv_block(local, dim, kernel_size=1)
    g = _transformer(local, n_layers, dim)
    folded = conv_block(g, x.shape[-1], kernel_size=1)
    return conv_block(layers.Concatenate(axis=-1)([x, folded]), dim)


def _sensor_wise_hart(
    acc: keras.KerasTensor, gyro: keras.KerasTensor, n_layers: int, dim: int
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """Per-sensor local convs, sensor-wise transformer layers with liteFormer, per-sensor fold."""
    half = dim // 2
    local = [conv_block(conv_block(s, half), half, kernel_size=1) for s in (acc, gyro)]
    x = layers.Concatenate(axis=-1)(local)
    for rate in drop_path_schedule(DROP_PATH, n_layers):
        x = sensor_wise_block(
            x, heads=HEADS, lite_heads=HEADS, kernel=LITE_KERNEL, drop_path=rate, dropout=DROPOUT
        )
    out = []
    for s, part in zip((acc, gyro), ChannelSplit((half, dim - half))(x), strict=True):
        folded = conv_block(part, s.shape[-1], kernel_size=1)
        out.append(conv_block(layers.Concatenate(axis=-1)([s, folded]), half))
    return out[0], out[1]


def build_mobilehart(n_classes: int = 10, input_shape: tuple[int, int] = (128, 6)) -> keras.Model:
    """MobileHART-XS; the 1024-d output of the MLP head (after dropout) is the feature layer."""
    t, c = check_input_shape("mobilehart", input_shape, channels=6, multiple=32, min_length=32)
    inputs = keras.Input(shape=(t, c), name="inputs")
    acc_in, gyro_in = ChannelSplit((3, 3))(inputs)
    acc = _mv2_stack(conv_block(acc_in, FILTERS[0], strides=2))
    gyro = _mv2_stack(conv_block(gyro_in, FILTERS[0], strides=2))
    acc, gyro = _sensor_wise_hart(acc, gyro, n_layers=2, dim=PROJECTION_DIMS[0])
    x = layers.Concatenate(axis=-1)([acc, gyro])
    x = layers.Dense(PROJECTION_DIMS[0], activation="swish")(x)
    x = layers.Dropout(DROPOUT)(x)
    x = inverted_residual(x, PROJECTION_DIMS[0] * EXPANSION, FILTERS[4], strides=2)
    x = _mobilevit_block(x, n_layers=4, dim=PROJECTION_DIMS[1])
    x = inverted_residual(x, PROJECTION_DIMS[1] * EXPANSION, FILTERS[5], strides=2)
    x = _mobilevit_block(x, n_layers=3, dim=PROJECTION_DIMS[2])
    x = conv_block(x, FILTERS[6], kernel_size=1)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(MLP_HEAD, activation="swish")(x)
    features = layers.Dropout(DROPOUT, name=FEATURES)(x)
    outputs = head_layer(n_classes)(features)
    return keras.Model(inputs, outputs, name="mobilehart")
