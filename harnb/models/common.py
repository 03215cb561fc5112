"""Helpers shared by the architecture modules: seeding, input checks, the classification head."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import keras
from keras import layers

#: Name of the final Dense(n_classes, softmax) layer of every model.
HEAD = "head"
#: Name of the layer whose output is the feature vector (the layer before the head).
FEATURES = "features"


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Make every unseeded Keras initializer / dropout seed drawn inside deterministic.

    Keras 3 gives an unseeded initializer or ``SeedGenerator`` a seed drawn from Python's
    ``random`` module when it is created; seeding that module for the duration of a build makes
    the weights a pure function of ``seed`` (per backend), and restoring its state afterwards
    leaves the caller's global random state untouched (unlike ``keras.utils.set_random_seed``).
    Keras draws those seeds from a private generator seeded the same way (so the same
    sequence), because the module's shared one is also drawn from by other threads of the
    process: a Dask worker's event loop, between the seeding and the build, changed the weights.
    """
    if seed is None:
        yield
        return
    state = random.getstate()
    random.seed(int(seed))
    try:
        from keras.src.random import seed_generator as _sg
    except ImportError:  # pragma: no cover - another Keras layout: the shared generator only
        _sg = None
    keras_random = getattr(_sg, "python_random", None)
    if keras_random is not None:
        _sg.python_random = random.Random(int(seed))
    try:
        yield
    finally:
        if keras_random is not None:
            _sg.python_random = keras_random
        random.setstate(state)


def check_n_classes(n_classes: int) -> int:
    """A classifier needs at least two classes."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    return n_classes


def check_input_shape(
    name: str,
    input_shape: tuple[int, int],
    *,
    channels: int | None = None,
    multiple: int = 1,
    min_length: int = 1,
) -> tuple[int, int]:
    """Validate (time steps, channels) for an architecture and say what it needs."""
    try:
        t, c = (int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: input_shape must be (time_steps, channels), e.g. (128, 6); got {input_shape!r}"
        ) from None
    need = []
    if channels is not None and c != channels:
        need.append(f"{channels} channels (acc x,y,z + gyro x,y,z)")
    if t < min_length or t % multiple:
        need.append(f"time_steps >= {min_length} and a multiple of {multiple}")
    if c < 1:
        need.append("channels >= 1")
    if need:
        raise ValueError(f"{name}: input_shape {input_shape!r} invalid; needs " + ", ".join(need))
    return t, c


def head_layer(
    n_classes: int, *, kernel_initializer: str = "glorot_uniform", l2: float | None = None
) -> layers.Dense:
    """The classification head: Dense(n_classes, softmax), named ``head``."""
    return layers.Dense(
        check_n_classes(n_classes),
        activation="softmax",
        kernel_initializer=kernel_initializer,
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
        name=HEAD,
    )
