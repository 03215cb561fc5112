"""``harnb.training.train.fit`` on JAX, kept-state steps against ``train_on_batch``, in a subprocess
(``KERAS_BACKEND`` must be set before Keras is imported).

    KERAS_BACKEND=jax python tests/_jax_steps_check.py OUT.json

Trains a small model with BatchNorm (precise BN), dropout (seed generator state) and early
stopping twice per way, the second time on the same compiled model (``compile=False``, as the
grid's model pool does), and writes both ways' weights digests, histories and step times.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def run(way: str) -> dict:
    import keras

    from harnb.training import train

    os.environ["HARNB_TRAIN_ON_BATCH"] = "1" if way == "train_on_batch" else "0"
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 32, 3)).astype("float32")
    y = (X[:, :, 0].mean(1) > 0).astype("int64") + 2 * (X[:, :, 1].mean(1) > 0)
    Xv, yv = X[:60] + 0.1, y[:60]
    inp = keras.Input((32, 3))
    h = keras.layers.Conv1D(16, 5, padding="same")(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.Dropout(0.3)(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    model = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(h))
    budget = train.Budget(max_steps=40, eval_every=5, patience=3, min_steps=10)
    out: dict = {"runs": []}
    for compile_ in (True, False):
        t = time.perf_counter()
        res = train.fit(
            model, X, y, Xv, yv, budget=budget, batch_size=32, seed=1,
            precise_bn_windows=128, compile=compile_,
        )  # fmt: skip
        out["runs"].append(
            {
                "seconds": time.perf_counter() - t,
                "history": res.history | {"seconds": []},
                "best_step": res.best_step,
                "stopped": res.stopped,
                "weights": [w.tolist() for w in model.get_weights()],
                "steps_class": type(train._steps(model)).__name__,
            }
        )
    return out


def main() -> int:
    import keras

    assert keras.backend.backend() == "jax", keras.backend.backend()
    result = {way: run(way) for way in ("train_on_batch", "kept_state")}
    with open(sys.argv[1], "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
