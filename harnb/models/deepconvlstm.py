"""DeepConvLSTM (Ordóñez & Roggen 2016) as used by the paper (reference §5.2).

Four Conv2D(64, (5, 1)) + ReLU blocks whose kernels slide along time and are shared by the six
channels, then two LSTM(128) layers each followed by Dropout(0.5). No pooling, no BatchNorm.
457,546 parameters with 10 classes, as in Table VI.
"""

from __future__ import annotations

import keras
from keras import layers

from harnb.models.common import FEATURES, check_input_shape, head_layer

FEATURE_DIM = 128
FILTERS = 64
KERNEL = 5
N_CONV = 4
UNITS = 128
DROPOUT = 0.5


def build_deepconvlstm(n_classes: int = 10, input_shape: tuple[int, int] = (128, 6)) -> keras.Model:
    """DeepConvLSTM; the 128-d output of the second LSTM (after dropout) is the feature layer.

    The released Sequential declared input (128, 6, 1) and relied on Keras adding the channel
    axis; here an explicit Reshape does it, which changes no weight.
    """
    t, c = check_input_shape("deepconvlstm", input_shape, min_length=N_CONV * (KERNEL - 1) + 1)
    inputs = keras.Input(shape=(t, c), name="inputs")
    x = layers.Reshape((t, c, 1))(inputs)
    for _ in range(N_CONV):
        x = layers.Conv2D(FILTERS, (KERNEL, 1))(x)
        x = layers.Activation("relu")(x)
    t_out = t - N_CONV * (KERNEL - 1)
    x = layers.Reshape((t_out, c * FILTERS))(x)
    x = layers.LSTM(UNITS, activation="tanh", return_sequences=True)(x)
    x = layers.Dropout(DROPOUT)(x)
    x = layers.LSTM(UNITS, activation="tanh")(x)
    features = layers.Dropout(DROPOUT, name=FEATURES)(x)
    outputs = head_layer(n_classes)(features)
    return keras.Model(inputs, outputs, name="deepconvlstm")
