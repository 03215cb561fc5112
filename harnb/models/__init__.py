"""The four architectures of the paper as backend-neutral Keras 3 models, and their fine-tuning.

``build(name)`` returns a functional model named after its architecture whose last layer is a
Dense(n_classes, softmax) called ``head``; the layer before it outputs the feature vector that
the paper's fine-tuning strategies keep (ISPL 256-d, DeepConvLSTM 128-d, HART and MobileHART
1024-d; reference §5.7). Models use ``keras`` and ``keras.ops`` only, so they run on TensorFlow
and on JAX (``KERAS_BACKEND``).

Fine-tuning strategies (paper §IV; :func:`finetune_variant`):

* ``Rd``  — same architecture, fresh random weights, everything trainable;
* ``P_F`` — pre-trained feature extractor frozen (BatchNorm in inference mode), fresh head;
* ``P_U`` — pre-trained feature extractor trainable, fresh head;
* ``P_0`` — the pre-trained model used as is (the 0 % column).

Unlike the released code (bug B-S6), the fresh head replaces the pre-trained softmax layer and
sits on the penultimate features instead of being stacked on the 10-way softmax output.

One module per architecture, ``layers`` (custom layers), ``registry`` (names and builders),
``flops`` (Table VI). May import the foundation (``harnb.config``, ``harnb.paper``) only.
"""

from __future__ import annotations

import keras

from harnb.models import ispl
from harnb.models.common import FEATURES, HEAD, check_n_classes, head_layer, seeded
from harnb.models.flops import flops, flops_by_layer, size_table
from harnb.models.registry import (
    _EXTRACTOR_SUFFIX,
    MODELS,
    STRATEGIES,
    arch_of,
    build,
    check_name,
    count_params,
    feature_dim,
)

__all__ = [
    "FEATURES",
    "HEAD",
    "MODELS",
    "STRATEGIES",
    "arch_of",
    "attach_head",
    "compose_frozen",
    "build",
    "check_name",
    "copy_model",
    "count_params",
    "feature_dim",
    "feature_extractor",
    "feature_head",
    "finetune_variant",
    "flops",
    "flops_by_layer",
    "frozen_features",
    "size_table",
]


def _head_of(model: keras.Model) -> keras.layers.Dense:
    try:
        return model.get_layer(HEAD)
    except ValueError:
        raise ValueError(
            f"model {model.name!r} has no layer named {HEAD!r}; build it with harnb.models.build"
        ) from None


def feature_extractor(model: keras.Model) -> keras.Model:
    """Everything before the final softmax layer, as a model sharing ``model``'s weights.

    Its output is the 2-D (batch, d) input of the ``head`` layer.
    """
    arch = arch_of(model)
    return keras.Model(model.input, _head_of(model).input, name=arch + _EXTRACTOR_SUFFIX)


def attach_head(extractor: keras.Model, n_classes: int, seed: int | None = None) -> keras.Model:
    """A classifier made of ``extractor`` (weights shared, not copied) and a fresh head.

    The head is initialised as in the architecture (ISPL: LeCun-uniform with L2 0.00593;
    others: Glorot-uniform), deterministically for an integer ``seed``.
    """
    arch = arch_of(extractor)
    if len(extractor.outputs) != 1 or len(extractor.outputs[0].shape) != 2:
        raise ValueError("attach_head needs an extractor with one 2-D (batch, d) output")
    kwargs = {"kernel_initializer": ispl.INIT, "l2": ispl.L2} if arch == "ispl" else {}
    with seeded(seed):
        head = head_layer(n_classes, **kwargs)
    return keras.Model(extractor.input, head(extractor.outputs[0]), name=arch)


def copy_model(model: keras.Model) -> keras.Model:
    """An independent copy of a harnb model: same architecture, same weights, no sharing."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def finetune_variant(
    strategy: str,
    pretrained: keras.Model,
    n_classes: int = 10,
    seed: int | None = None,
) -> keras.Model:
    """The model to fine-tune (or evaluate) under ``strategy`` (one of :data:`STRATEGIES`).

    The result never shares weights with ``pretrained``: training it leaves ``pretrained``
    unchanged. ``Rd`` rebuilds the architecture from ``seed``; ``P_F`` and ``P_U`` copy the
    pre-trained extractor and attach a fresh head seeded by ``seed``; ``P_F`` freezes every
    extractor layer, which in Keras 3 also runs its BatchNorm layers in inference mode (moving
    statistics, never updated) while dropout and drop path stay active in training, as they
    did in the released code's frozen variants; ``P_0`` is a copy of the pre-trained model with
    its own head, so ``n_classes`` must equal its number of outputs.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; valid choices: {', '.join(STRATEGIES)}")
    arch = arch_of(pretrained)
    check_n_classes(n_classes)
    if strategy == "Rd":
        return build(arch, n_classes, tuple(pretrained.input_shape[1:]), seed=seed)
    copy = copy_model(pretrained)
    for layer in copy.layers:
        layer.trainable = True
    if strategy == "P_0":
        out = _head_of(copy).units
        if out != n_classes:
            raise ValueError(
                f"P_0 uses the pre-trained head as is: it has {out} outputs, not {n_classes}"
            )
        return copy
    extractor = feature_extractor(copy)
    if strategy == "P_F":
        for layer in extractor.layers:
            layer.trainable = False
    return attach_head(extractor, n_classes, seed=seed)


def _feature_layer(model: keras.Model) -> tuple[object, float]:
    """The tensor the frozen extractor's features are read from, and the Dropout rate on it.

    Where the ``features`` layer is a Dropout (HART, MobileHART, DeepConvLSTM), features are
    read before it and the rate travels with the head, so a head trained on cached features is
    regularised as the frozen model's is; ISPL's features layer is its global pooling.
    """
    feat = model.get_layer(FEATURES)
    if isinstance(feat, keras.layers.Dropout):
        return feat.input, float(feat.rate)
    return feat.output, 0.0


def frozen_features(pretrained: keras.Model) -> keras.Model:
    """The pre-trained extractor as an inference-only model: windows → features for P_F.

    P_F never changes the extractor, so its features of a target's windows can be computed
    once and every P_F run then trains only :func:`feature_head` on them.
    """
    arch = arch_of(pretrained)
    tensor, _ = _feature_layer(pretrained)
    return keras.Model(pretrained.input, tensor, name=arch + "_frozen")


def feature_head(pretrained: keras.Model, n_classes: int = 10, seed: int | None = None):
    """P_F's trainable part on cached features: [Dropout(rate)] → fresh head.

    The head is drawn exactly as :func:`finetune_variant` draws P_F's head for the same
    ``seed``, so :func:`compose_frozen` of the two gives the P_F model.
    """
    arch = arch_of(pretrained)
    tensor, rate = _feature_layer(pretrained)
    kwargs = {"kernel_initializer": ispl.INIT, "l2": ispl.L2} if arch == "ispl" else {}
    with seeded(seed):  # the Dropout's generator too, so P_F repeats in any process
        head = head_layer(check_n_classes(n_classes), **kwargs)
        inp = keras.Input(shape=(int(tensor.shape[-1]),), name="frozen_features")
        x = keras.layers.Dropout(rate, name=FEATURES)(inp) if rate > 0 else inp
        return keras.Model(inp, head(x), name=arch)


def compose_frozen(pretrained: keras.Model, head_model: keras.Model) -> keras.Model:
    """The whole P_F classifier: a copy of ``pretrained``'s extractor with the trained head of
    ``head_model`` (from :func:`feature_head`), taking windows."""
    n_classes = int(head_model.output_shape[-1])
    model = finetune_variant("P_F", pretrained, n_classes=n_classes)
    _head_of(model).set_weights(_head_of(head_model).get_weights())
    return model
