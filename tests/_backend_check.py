"""Backend check, run in a subprocess with ``KERAS_BACKEND`` set before Keras is imported.

For each model: build (seed 0), predict a fixed batch, save the weights (``.weights.h5``) and
the predictions; optionally load another backend's weights and predict with them; run one
training step with the project's compile settings. Results go to ``<dir>/<backend>.json``.

    KERAS_BACKEND=jax python tests/_backend_check.py --dir D --load-from tensorflow
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

# before `import keras` below: harnb sets TensorFlow's oneDNN default on import (no TF import)
import harnb  # noqa: F401


def batch(n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The fixed input batch every backend sees."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 128, 6)).astype("float32"), rng.integers(0, 10, size=n)


def depthwise_max_diff() -> float:
    """harnb's DepthwiseConv1D (a shifted sum on JAX) vs Keras' own, same weights."""
    import keras

    from harnb.models.layers import DepthwiseConv1D

    rng = np.random.default_rng(1)
    worst = 0.0
    for k, s, pad, t in [
        (3, 1, "same", 16),
        (3, 2, "valid", 18),
        (4, 2, "same", 15),
        (5, 3, "same", 16),
    ]:
        x = rng.normal(size=(2, t, 7)).astype("float32")
        ours = DepthwiseConv1D(k, strides=s, padding=pad, activation="swish")
        ref = keras.layers.DepthwiseConv1D(k, strides=s, padding=pad, activation="swish")
        ref(x)
        ours(x)
        ours.set_weights([w + 0.1 for w in ref.get_weights()])
        ref.set_weights(ours.get_weights())
        a, b = (keras.ops.convert_to_numpy(layer(x)) for layer in (ours, ref))
        assert a.shape == b.shape, (a.shape, b.shape)
        worst = max(worst, float(np.abs(a - b).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--models", nargs="*", default=None)
    p.add_argument("--load-from", default=None, help="backend whose saved weights to load")
    p.add_argument(
        "--train",
        choices=("default", "eager", "none"),
        default="default",
        help="default: compiled predict and training step; eager: both run eagerly",
    )
    args = p.parse_args(argv)

    import keras

    from harnb.models import MODELS, build, count_params

    backend = keras.backend.backend()
    assert backend == os.environ.get("KERAS_BACKEND", backend), "backend not taken from env"
    x, y = batch()
    eager = args.train == "eager"

    def infer(model: keras.Model) -> np.ndarray:
        """Inference-mode outputs: an eager call in eager mode, else the compiled predict."""
        if eager:
            return keras.ops.convert_to_numpy(model(x, training=False))
        return np.asarray(model.predict_on_batch(x))

    out: dict[str, dict] = {}
    for name in args.models or MODELS:
        t0 = time.perf_counter()
        r: dict = {}
        model = build(name, 10, seed=0)
        r["params"] = count_params(model)
        pred = infer(model)
        r["pred_shape"] = list(pred.shape)
        r["finite"] = bool(np.isfinite(pred).all())
        r["rows_sum_to_one"] = bool(np.allclose(pred.sum(-1), 1.0, atol=1e-5))
        np.save(args.dir / f"{backend}_{name}.npy", pred)
        weights = args.dir / f"{backend}_{name}.weights.h5"
        model.save_weights(weights)
        # Round trip within this backend: a fresh, differently seeded model loads them.
        other = build(name, 10, seed=1)
        other.load_weights(weights)
        r["roundtrip_max_abs"] = float(np.abs(infer(other) - pred).max())
        if args.load_from:
            other.load_weights(args.dir / f"{args.load_from}_{name}.weights.h5")
            np.save(
                args.dir / f"{backend}_from_{args.load_from}_{name}.npy",
                infer(other),
            )
        if args.train != "none":
            model.compile(
                optimizer=keras.optimizers.Adam(5e-4),
                loss=keras.losses.SparseCategoricalCrossentropy(),
                metrics=["accuracy"],
                run_eagerly=eager,
            )
            before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
            logs = model.train_on_batch(x, y, return_dict=True)
            r["train_loss"] = float(logs["loss"])
            r["weights_changed"] = bool(
                any(
                    not np.array_equal(b, keras.ops.convert_to_numpy(w))
                    for b, w in zip(before, model.trainable_weights, strict=True)
                )
            )
        r["seconds"] = round(time.perf_counter() - t0, 1)
        out[name] = r
        print(backend, name, r, flush=True)
    # On JAX nothing (harnb or Keras) should have pulled TensorFlow in.
    out["_process"] = {
        "backend": backend,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "depthwise_max_diff": depthwise_max_diff(),
    }
    (args.dir / f"{backend}.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
