"""Forward floating-point operations per sample, counted by walking a model's layers.

Backend-neutral: the count comes from layer types and the static shapes of a built functional
model, not from a backend profiler. Two conventions:

``"tf-profiler"`` (default) reproduces what the paper's Table VI measured: the TensorFlow 2.10
profiler's float-op count of the Keras 2 inference graph at batch 1 (the ``keras-flops``
method). Matrix products and convolutions count 2 × multiply-adds, bias adds and Add 1 per
element, BatchNorm 2N + 6C and LayerNorm 9N + 3R (their unfused Keras 2 forms), softmax 5 per
element, swish 1 (its multiply; the sigmoid op is not counted), ReLU/tanh/sigmoid 0, pooling
one op per window element, global average pooling one per input element. Its blind spots are
kept on purpose: Keras 2 attention computes its projections and attention products with
``Einsum``, which the profiler does not count (only their bias adds, the query scaling and the
softmax), and the profiler does not look inside the LSTM's recurrent loop, so LSTM layers count
0. With these rules the released models give Table VI exactly for ISPL (338,528,096),
DeepConvLSTM (86,184,508) and HART (15,212,636, 6 classes).

``"full"`` counts the same plus the work the profiler missed: the four attention projections,
Q·Kᵀ and A·V (2 × multiply-adds each) and the LSTM's recurrent matrix products and gate
arithmetic. It is the honest cost of a forward pass.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import keras
from keras import layers

import harnb.models.layers as hl

CONVENTIONS: tuple[str, ...] = ("tf-profiler", "full")

# Float ops per element of each activation, as the TF 2.10 profiler counted them.
_ACTIVATION_FLOPS: dict[str, int] = {
    "linear": 0,
    "relu": 0,
    "tanh": 0,
    "sigmoid": 0,
    "silu": 1,
    "swish": 1,
    "softmax": 5,
}

# Layers that move or select data, or are the identity at inference.
_FREE = (
    layers.InputLayer,
    layers.Reshape,
    layers.Flatten,
    layers.Concatenate,
    layers.Dropout,
    layers.ZeroPadding1D,
    hl.ChannelSlice,
    hl.ChannelSplit,
    hl.DropPath,
)


def _numel(shape: Any) -> int:
    """Elements per sample: the product of all dimensions but the batch axis."""
    dims = tuple(shape)[1:]
    if any(d is None for d in dims):
        raise ValueError(f"FLOPs need static shapes; got {tuple(shape)}")
    return math.prod(dims)


def _activation(fn: Callable | None, n: int) -> int:
    name = getattr(fn, "__name__", "linear") if fn is not None else "linear"
    if name not in _ACTIVATION_FLOPS:
        raise ValueError(f"no FLOP rule for activation {name!r}")
    return _ACTIVATION_FLOPS[name] * n


def _conv(layer: Any, x: Any, y: Any) -> int:
    n = _numel(y.shape)
    taps = math.prod(layer.kernel_size)
    if isinstance(layer, layers.DepthwiseConv1D | layers.DepthwiseConv2D):
        macs = n * taps
    else:
        macs = n * taps * (x.shape[-1] // getattr(layer, "groups", 1))
    return 2 * macs + (n if layer.use_bias else 0) + _activation(layer.activation, n)


def _dense(layer: Any, x: Any, y: Any) -> int:
    n = _numel(y.shape)
    return 2 * x.shape[-1] * n + (n if layer.use_bias else 0) + _activation(layer.activation, n)


def _mha(layer: Any, node: Any, y: Any, convention: str) -> int:
    args, kwargs = node.arguments.args, node.arguments.kwargs
    query = args[0] if args else kwargs["query"]
    value = args[1] if len(args) > 1 else kwargs["value"]
    key = kwargs.get("key") if kwargs.get("key") is not None else value
    tq, dq = query.shape[-2], query.shape[-1]
    tk, dk, dv = key.shape[-2], key.shape[-1], value.shape[-1]
    h, kd, vd, dout = layer.num_heads, layer.key_dim, layer.value_dim or layer.key_dim, y.shape[-1]
    bias = (tq * h * kd + tk * h * kd + tk * h * vd + tq * dout) if layer.use_bias else 0
    visible = bias + tq * h * kd + 5 * h * tq * tk  # bias adds, query scaling, softmax
    if convention == "tf-profiler":
        return visible
    projections = 2 * (tq * dq * h * kd + tk * dk * h * kd + tk * dv * h * vd + tq * h * vd * dout)
    products = 2 * h * tq * tk * (kd + vd)
    return visible + projections + products


def _lstm(layer: Any, x: Any, convention: str) -> int:
    if convention == "tf-profiler":
        return 0  # the profiler never saw inside the recurrent loop
    t, d, u = x.shape[-2], x.shape[-1], layer.units
    per_step = 2 * 4 * u * (d + u) + 4 * u + 4 * u  # gate matmuls, bias, c and h updates
    return t * per_step


def _layer_flops(layer: Any, node: Any, convention: str) -> int:
    ins, outs = node.input_tensors, node.output_tensors
    x = ins[0] if ins else None
    y = outs[0]
    if isinstance(layer, _FREE):
        return 0
    if isinstance(layer, layers.Activation):
        return _activation(layer.activation, _numel(y.shape))
    if isinstance(
        layer, layers.Conv1D | layers.Conv2D | layers.DepthwiseConv1D | layers.DepthwiseConv2D
    ):
        return _conv(layer, x, y)
    if isinstance(layer, layers.Dense):
        return _dense(layer, x, y)
    if isinstance(layer, layers.BatchNormalization):
        return 2 * _numel(x.shape) + 6 * x.shape[-1]
    if isinstance(layer, layers.LayerNormalization):
        n = _numel(x.shape)
        return 9 * n + 3 * (n // x.shape[-1])
    if isinstance(layer, layers.Add):
        return _numel(y.shape) * (len(ins) - 1)
    if isinstance(layer, layers.MaxPooling1D | layers.AveragePooling1D):
        return math.prod(layer.pool_size) * _numel(y.shape)
    if isinstance(layer, layers.GlobalAveragePooling1D):
        return _numel(x.shape)
    if isinstance(layer, layers.MultiHeadAttention):
        return _mha(layer, node, y, convention)
    if isinstance(layer, layers.LSTM):
        return _lstm(layer, x, convention)
    if isinstance(layer, hl.PositionEmbedding):
        return _numel(y.shape)
    if isinstance(layer, hl.LiteFormer):
        # Depthwise conv along time (2 per tap and element) + softmax of the H × K kernels.
        return 2 * _numel(y.shape) * layer.kernel_size + 5 * layer.heads * layer.kernel_size
    raise ValueError(f"no FLOP rule for layer {layer.name!r} of type {type(layer).__name__}")


def flops_by_layer(model: keras.Model, convention: str = "tf-profiler") -> dict[str, int]:
    """Forward float ops per sample of every layer of a built functional ``model``.

    Nested models are expanded, their layers named ``outer/inner``.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; valid choices: {CONVENTIONS}")
    graph = getattr(model, "_functional", model)  # a Sequential wraps a functional graph
    nodes_by_depth = getattr(graph, "_nodes_by_depth", None)
    if nodes_by_depth is None:
        raise ValueError(f"{model.name!r} is not a built functional Keras model")
    out: dict[str, int] = {}
    for depth in sorted(nodes_by_depth, reverse=True):  # inputs first
        for node in nodes_by_depth[depth]:
            layer = node.operation
            if isinstance(layer, keras.Model):
                for k, v in flops_by_layer(layer, convention).items():
                    out[f"{layer.name}/{k}"] = out.get(f"{layer.name}/{k}", 0) + v
                continue
            out[layer.name] = out.get(layer.name, 0) + _layer_flops(layer, node, convention)
    return out


def flops(
    model_or_name: keras.Model | str, *, n_classes: int = 10, convention: str = "tf-profiler"
) -> int:
    """Forward float ops per sample of a model (or of ``build(name, n_classes)``).

    The default convention reproduces the paper's Table VI measurement; ``"full"`` also counts
    attention and LSTM matrix products (see the module docstring).
    """
    if isinstance(model_or_name, str):
        return _flops_of(model_or_name, n_classes, convention)
    return sum(flops_by_layer(model_or_name, convention).values())


@functools.cache
def _flops_of(name: str, n_classes: int, convention: str) -> int:
    from harnb.models.registry import build

    return sum(flops_by_layer(build(name, n_classes=n_classes, seed=0), convention).values())


def size_table() -> list[dict[str, Any]]:
    """Table VI regenerated: parameters and FLOPs of our models beside the paper's.

    One row per model, at the head size Table VI used (ISPL and DeepConvLSTM 10 classes,
    HART and MobileHART 6; reference §5.6), with the ``full`` FLOPs next to the
    profiler-convention ones.
    """
    from harnb.models.registry import MODELS, build, count_params
    from harnb.paper import TABLE_VI

    rows = []
    for name in MODELS:
        n_classes = 6 if name in ("hart", "mobilehart") else 10
        model = build(name, n_classes=n_classes, seed=0)
        p_params, p_flops = TABLE_VI[name]
        f = flops(model)
        rows.append(
            {
                "model": name,
                "classes": n_classes,
                "params": count_params(model),
                "params_paper": p_params,
                "flops": f,
                "flops_paper": p_flops,
                "flops_rel_diff": (f - p_flops) / p_flops,
                "flops_full": flops(model, convention="full"),
            }
        )
    return rows
