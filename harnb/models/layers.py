"""Custom layers shared by the architectures, written with ``keras`` and ``keras.ops`` only.

Every layer here is per-sample: its output for one sample never depends on the other samples
of the batch (the released HART code broke this in ``liteFormer``; reference §5.4, bug B-T1).
All layers are registered as Keras serialisable objects so models clone and save cleanly.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

_PKG = "harnb"


@keras.saving.register_keras_serializable(package=_PKG)
class ChannelSlice(layers.Layer):
    """``x[..., start:stop]`` as a layer, so functional models never slice KerasTensors raw.

    HART and MobileHART split the acc (0:3) and gyro (3:6) channels, and the token features
    into the acc-attention / liteFormer / gyro-attention thirds, with it.
    """

    def __init__(self, start: int, stop: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= start < stop:
            raise ValueError(f"ChannelSlice needs 0 <= start < stop, got {start}:{stop}")
        self.start = int(start)
        self.stop = int(stop)

    def call(self, inputs: Any) -> Any:
        return inputs[..., self.start : self.stop]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.stop - self.start)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package=_PKG)
class ChannelSplit(layers.Layer):
    """``x[..., a:b]`` for consecutive ranges at once, as one split.

    The same outputs as one :class:`ChannelSlice` per range, but one op forward and one
    concatenation backward, where each slice's gradient pads a full-width tensor with zeros
    and the pads are then summed (HART trains 1.11× faster with it, ``bench/bench_models.py``).
    Adding zeros is exact, so the numbers are the same.
    """

    def __init__(self, sizes: list[int] | tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not sizes or any(int(n) < 1 for n in sizes):
            raise ValueError(f"ChannelSplit needs positive sizes, got {sizes}")
        self.sizes = [int(n) for n in sizes]

    def call(self, inputs: Any) -> Any:
        if inputs.shape[-1] != sum(self.sizes):
            raise ValueError(f"ChannelSplit{self.sizes} got {inputs.shape[-1]} channels")
        cuts = np.cumsum(self.sizes)[:-1].tolist()
        return ops.split(inputs, cuts, axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> list[tuple]:
        return [(*input_shape[:-1], n) for n in self.sizes]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sizes": self.sizes}


@keras.saving.register_keras_serializable(package=_PKG)
class PositionEmbedding(layers.Layer):
    """Adds a learned embedding per token position (HART's ``PatchEncoder``).

    One (tokens, dim) table, initialised like ``keras.layers.Embedding`` (uniform ±0.05), so
    the parameter count equals the released code's ``Embedding(num_patches, dim)``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def build(self, input_shape: tuple) -> None:
        tokens, dim = input_shape[-2], input_shape[-1]
        self.embeddings = self.add_weight(
            shape=(tokens, dim),
            initializer=keras.initializers.RandomUniform(-0.05, 0.05),
            name="embeddings",
        )

    def call(self, inputs: Any) -> Any:
        return inputs + ops.cast(self.embeddings, inputs.dtype)


@keras.saving.register_keras_serializable(package=_PKG)
class DropPath(layers.Layer):
    """Stochastic depth: in training, drop a residual branch for whole samples.

    The keep/drop mask has shape (batch, 1, …, 1): one Bernoulli draw per sample, scaled by
    1/(1 − rate), so no sample's output depends on another's (the released liteFormer applied
    its DropPath over the head axis of a batch-mixing reshape instead; reference §5.4).
    Identity at inference, like ``Dropout``.
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"DropPath rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if self.rate > 0 else None

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training or self.rate == 0.0:
            return inputs
        keep = 1.0 - self.rate
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        u = keras.random.uniform(shape, dtype=inputs.dtype, seed=self.seed_generator)
        mask = ops.floor(keep + u)
        return inputs / keep * mask

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package=_PKG)
class LiteFormer(layers.Layer):
    """HART's "liteFormer": a lightweight convolution (Wu et al. 2019) along the tokens.

    The C channels are split into ``heads`` groups of C/heads consecutive channels; group h is
    convolved along time (the token axis), channel by channel, with one K-tap kernel w_h,
    'same' padding. Each kernel is softmax-normalised over its K taps *in the forward pass*, as
    a reparameterisation of an underlying variable, in training and in inference alike.

    Fixes relative to the released code (reference §5.4, bug B-T1), same parameters (H × K):

    * it convolves along time, per sample: a sample's output never depends on other samples
      (the released raw reshape convolved along channel groups and moved head-h outputs of
      sample b into sample ⌊(h·B + b)/H⌋ of the output);
    * the softmax is a reparameterisation, not an in-place overwrite of the kernel variable at
      every training step (which also left inference using the un-normalised variable);
    * DropPath is per-sample standard stochastic depth (see :class:`DropPath`);
    * NWC convolution through ``keras.ops``, so it runs on CPU and on every backend (the
      released NCW ``tf.nn.conv1d`` was GPU-only).

    The kernel variable has shape (K, H) and is initialised U(±√(3/K)), the distribution
    Glorot-uniform gives each of the released code's H separate (K, 1, 1) kernels.
    """

    def __init__(self, kernel_size: int, heads: int, drop_path: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if kernel_size < 1 or heads < 1:
            raise ValueError(
                f"LiteFormer needs kernel_size, heads >= 1; got {kernel_size}, {heads}"
            )
        self.kernel_size = int(kernel_size)
        self.heads = int(heads)
        self.drop_path = float(drop_path)
        self.drop = DropPath(self.drop_path, name="drop_path")

    def build(self, input_shape: tuple) -> None:
        tokens, channels = input_shape[-2], input_shape[-1]
        if tokens is None:
            raise ValueError("LiteFormer needs a known number of tokens (time steps)")
        if channels is None or channels % self.heads:
            raise ValueError(
                f"LiteFormer: {channels} channels cannot be split into {self.heads} heads"
            )
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.heads),
            initializer=keras.initializers.VarianceScaling(1.0, "fan_in", "uniform"),
            name="kernel",
        )
        self.drop.build(input_shape)

    def normalized_kernel(self) -> Any:
        """The (K, H) kernels actually applied: softmax over the K taps of each head."""
        return ops.softmax(self.kernel, axis=0)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        t, channels = inputs.shape[-2], inputs.shape[-1]
        w = ops.cast(self.normalized_kernel(), inputs.dtype)  # (K, H)
        # The depthwise convolution written as a T × T band matrix per head, M[h, t, s] = w[s − t + (K − 1)//2, h], applied as one batched matmul. Same
        # result ('same' padding, left pad (K − 1)//2), but XLA on CPU runs small depthwise
        # convolutions and their gradients tens of times slower (bench: 88 → 4 ms per step).
        offset = np.arange(t)[None, :] - np.arange(t)[:, None] + (self.kernel_size - 1) // 2
        valid = ((offset >= 0) & (offset < self.kernel_size)).astype("float32")
        taps = ops.take(w, np.clip(offset, 0, self.kernel_size - 1).reshape(-1), axis=0)
        band = ops.reshape(taps, (t, t, self.heads)) * ops.cast(valid[..., None], w.dtype)
        band = ops.transpose(band, (2, 0, 1))  # (H, T, T)
        x = ops.reshape(inputs, (-1, t, self.heads, channels // self.heads))
        y = ops.matmul(band, ops.transpose(x, (0, 2, 1, 3)))  # (B, H, T, C/H)
        y = ops.reshape(ops.transpose(y, (0, 2, 1, 3)), (-1, t, channels))
        return self.drop(y, training=training)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "heads": self.heads,
            "drop_path": self.drop_path,
        }


def drop_path_schedule(rate: float, n: int) -> list[float]:
    """Linearly increasing drop-path rates 0 … rate over n blocks (``np.linspace(0, rate, n)``)."""
    if n == 1:
        return [0.0]
    return [rate * i / (n - 1) for i in range(n)]


@keras.saving.register_keras_serializable(package=_PKG)
class DepthwiseConv1D(layers.DepthwiseConv1D):
    """``keras.layers.DepthwiseConv1D`` (same weights, same results) whose JAX forward pass is
    a sum of K strided, shifted products instead of a grouped convolution.

    XLA on CPU runs small grouped convolutions and their gradients 7–10× slower than that sum
    (MobileHART's inverted residual blocks: 45 → 6 ms per training step of one layer), while
    TensorFlow's native depthwise kernel beats the sum, so TensorFlow keeps it.
    """

    def call(self, inputs: Any) -> Any:
        if (
            keras.backend.backend() != "jax"
            or self.depth_multiplier != 1
            or self.dilation_rate != (1,)
            or self.data_format != "channels_last"
            or inputs.shape[1] is None
        ):
            return super().call(inputs)
        (k,), (s,), t = self.kernel_size, self.strides, inputs.shape[1]
        if self.padding == "same":  # TensorFlow/XLA 'SAME': extra padding goes on the right
            out = -(-t // s)
            total = max((out - 1) * s + k - t, 0)
            inputs = ops.pad(inputs, ((0, 0), (total // 2, total - total // 2), (0, 0)))
        else:
            out = (t - k) // s + 1
        kernel = ops.cast(self.kernel[:, :, 0], inputs.dtype)  # (K, C)
        y = sum(inputs[:, i : i + (out - 1) * s + 1 : s, :] * kernel[i] for i in range(k))
        if self.use_bias:
            y = y + ops.cast(self.bias, y.dtype)
        return self.activation(y) if self.activation is not None else y
