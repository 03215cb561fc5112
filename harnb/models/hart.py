"""HART (Ek et al. 2022, "Lightweight transformers for HAR on mobile devices"), reference §5.3.

Sensor-wise patching (acc and gyro each through Conv1D(96, 16, stride 16) → 8 tokens of 192),
a learned position embedding, then six sensor-wise transformer blocks: a LayerNorm, and on
the three slices of the tokens an acc self-attention (3 heads, key_dim 48), a liteFormer
(4 kernels of K ∈ 3, 7, 15, 31, 31, 31 taps) and a gyro self-attention; residual; LayerNorm →
MLP 384 (swish) → 192; residual. Drop path linspace(0, 0.3, 6), dropout 0.3. Head: final
LayerNorm → global average → Dense(1024, swish) → Dropout(0.3) → Dense(n, softmax).

1,445,918 parameters with 6 classes (Table VI), 1,450,018 with 10: the liteFormer fixes
(:class:`harnb.models.layers.LiteFormer`) keep its 4 × K parameters, so counts are unchanged.
"""

from __future__ import annotations

import keras
from keras import layers

from harnb.models.common import FEATURES, check_input_shape, head_layer
from harnb.models.layers import (
    ChannelSplit,
    DropPath,
    LiteFormer,
    PositionEmbedding,
    drop_path_schedule,
)

FEATURE_DIM = 1024
PROJECTION = 192
PATCH = 16
HEADS = 3
LITE_HEADS = 4
KERNELS = (3, 7, 15, 31, 31, 31)
MLP_HEAD = 1024
DROPOUT = 0.3
EPS = 1e-6


def sensor_wise_block(
    x: keras.KerasTensor,
    *,
    heads: int,
    lite_heads: int,
    kernel: int,
    drop_path: float,
    dropout: float,
) -> keras.KerasTensor:
    """One sensor-wise transformer layer (HART block; also MobileHART's sensor-wise layers).

    Channels [0, D/4) attend as "acc", [D/4, 3D/4) go through the liteFormer, [3D/4, D)
    attend as "gyro"; each attention has key_dim D/4.
    """
    d = x.shape[-1]
    q, h = d // 4, d // 2
    x1 = layers.LayerNormalization(epsilon=EPS)(x)
    acc_in, lite_in, gyro_in = ChannelSplit((q, h, d - q - h))(x1)

    def attention(s: keras.KerasTensor) -> keras.KerasTensor:
        a = layers.MultiHeadAttention(num_heads=heads, key_dim=q, dropout=dropout)(s, s)
        return DropPath(drop_path)(a)

    acc = attention(acc_in)
    lite = LiteFormer(kernel, lite_heads, drop_path)(lite_in)
    gyro = attention(gyro_in)
    x2 = layers.Add()([layers.Concatenate(axis=-1)([acc, lite, gyro]), x])
    x3 = layers.LayerNormalization(epsilon=EPS)(x2)
    x3 = layers.Dense(2 * d, activation="swish")(x3)
    x3 = layers.Dropout(dropout)(x3)
    x3 = layers.Dense(d)(x3)
    x3 = DropPath(drop_path)(x3)
    return layers.Add()([x3, x2])


def build_hart(n_classes: int = 10, input_shape: tuple[int, int] = (128, 6)) -> keras.Model:
    """HART; the 1024-d output of the MLP head (after dropout) is the feature layer."""
    t, c = check_input_shape("hart", input_shape, channels=6, multiple=PATCH, min_length=PATCH)
    inputs = keras.Input(shape=(t, c), name="inputs")
    acc_in, gyro_in = ChannelSplit((3, 3))(inputs)
    acc = layers.Conv1D(PROJECTION // 2, PATCH, strides=PATCH)(acc_in)
    gyro = layers.Conv1D(PROJECTION // 2, PATCH, strides=PATCH)(gyro_in)
    x = layers.Concatenate(axis=-1)([acc, gyro])
    x = PositionEmbedding()(x)
    for kernel, rate in zip(KERNELS, drop_path_schedule(DROPOUT, len(KERNELS)), strict=True):
        x = sensor_wise_block(
            x, heads=HEADS, lite_heads=LITE_HEADS, kernel=kernel, drop_path=rate, dropout=DROPOUT
        )
    x = layers.LayerNormalization(epsilon=EPS)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(MLP_HEAD, activation="swish")(x)
    features = layers.Dropout(DROPOUT, name=FEATURES)(x)
    outputs = head_layer(n_classes)(features)
    return keras.Model(inputs, outputs, name="hart")
