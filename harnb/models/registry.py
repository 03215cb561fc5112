"""The architecture registry: names, builders and feature sizes of the four models.

Kept apart from the package's ``__init__`` so that :mod:`harnb.models.flops` can build models
without importing the package that re-exports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras

from harnb.config import ARCHITECTURES
from harnb.models import deepconvlstm, hart, ispl, mobilehart
from harnb.models.common import check_n_classes, seeded

#: Architecture names, in the order of the paper's tables (defined in the foundation, so that
#: commands check a name without importing Keras).
MODELS: tuple[str, ...] = ARCHITECTURES
#: Fine-tuning strategies (paper §IV): random init, pre-trained frozen / unfrozen, as is.
STRATEGIES: tuple[str, ...] = ("Rd", "P_F", "P_U", "P_0")

_BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "ispl": ispl.build_ispl,
    "deepconvlstm": deepconvlstm.build_deepconvlstm,
    "hart": hart.build_hart,
    "mobilehart": mobilehart.build_mobilehart,
}
_FEATURE_DIMS: dict[str, int] = {
    "ispl": ispl.FEATURE_DIM,
    "deepconvlstm": deepconvlstm.FEATURE_DIM,
    "hart": hart.FEATURE_DIM,
    "mobilehart": mobilehart.FEATURE_DIM,
}
_EXTRACTOR_SUFFIX = "_features"


def check_name(name: str) -> str:
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; valid choices: {', '.join(MODELS)}")
    return name


def build(
    name: str,
    n_classes: int = 10,
    input_shape: tuple[int, int] = (128, 6),
    seed: int | None = None,
) -> keras.Model:
    """Build architecture ``name`` (one of :data:`MODELS`) with an ``n_classes`` softmax head.

    With an integer ``seed`` the initial weights (and dropout seeds) are a deterministic
    function of it on a given backend; with ``None`` they are random.
    """
    check_name(name)
    check_n_classes(n_classes)
    with seeded(seed):
        return _BUILDERS[name](n_classes=n_classes, input_shape=tuple(input_shape))


def feature_dim(name: str) -> int:
    """Size of the feature vector that architecture ``name`` feeds to its head."""
    return _FEATURE_DIMS[check_name(name)]


def arch_of(model: keras.Model) -> str:
    """The architecture name of a model built here, or of its feature extractor."""
    name = model.name.removesuffix(_EXTRACTOR_SUFFIX)
    if name not in _BUILDERS:
        raise ValueError(
            f"model {model.name!r} is not a harnb model; its name must be one of "
            f"{', '.join(MODELS)} (optionally + {_EXTRACTOR_SUFFIX!r})"
        )
    return name


def count_params(model: keras.Model) -> int:
    """All weight scalars, trainable or not (BatchNorm moving statistics included), as Keras
    and the paper's Table VI count them."""
    return int(sum(math.prod(w.shape) for w in model.weights))
