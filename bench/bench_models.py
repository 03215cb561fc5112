"""Benchmark: training and inference throughput of the four models, TensorFlow vs JAX backend.

Each backend runs in its own fresh subprocess (``KERAS_BACKEND`` is read when Keras is
imported), one after the other, on the same random inputs, with the project's compile settings
(Adam 5e-4, sparse categorical cross-entropy, accuracy; Keras' default ``jit_compile``). Per
model: build, ``--warmup`` training steps (the first one traces/compiles, reported as "first
step"), then ``--batches`` timed ``train_on_batch`` steps; likewise ``predict_on_batch`` for
inference. Throughput is samples per second at ``--batch-size`` (128, as in the paper).

The table shows both backends and the JAX/TF ratio; the HART ratios are printed last.

    /work/venv/bin/python bench/bench_models.py [--models hart ...] [--batches 3] [--repeat 3] [--warmup 2]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

BACKENDS = ("tensorflow", "jax")
MARK = "BENCH-JSON "


def best_rate(step: Callable[[], object], batches: int, repeat: int) -> float:
    """Steps per second: the best of ``repeat`` timings of ``batches`` steps each (the best is
    the least disturbed by other load on a shared machine). Each step's result is brought to
    the host, so asynchronous dispatch cannot hide work."""
    import numpy as np

    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(batches):
            np.asarray(step())
        best = min(best, time.perf_counter() - t)
    return batches / best


def worker(
    models: list[str], batch: int, batches: int, warmup: int, repeat: int
) -> dict[str, dict]:
    """Runs inside one backend's subprocess; returns per-model timings."""
    import keras
    import numpy as np

    from harnb.models import build

    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, 128, 6)).astype("float32")
    y = rng.integers(0, 10, size=batch)
    res: dict[str, dict] = {}
    for name in models:
        model = build(name, 10, seed=0)
        model.compile(
            optimizer=keras.optimizers.Adam(5e-4),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
        r: dict[str, float] = {}
        t = time.perf_counter()
        model.train_on_batch(x, y)  # returns host floats: the step has finished
        r["train_first_s"] = time.perf_counter() - t
        for _ in range(warmup - 1):
            model.train_on_batch(x, y)
        r["train_sps"] = (
            best_rate(functools.partial(model.train_on_batch, x, y), batches, repeat) * batch
        )

        t = time.perf_counter()
        np.asarray(model.predict_on_batch(x))
        r["infer_first_s"] = time.perf_counter() - t
        for _ in range(warmup - 1):
            np.asarray(model.predict_on_batch(x))
        r["infer_sps"] = (
            best_rate(functools.partial(model.predict_on_batch, x), batches, repeat) * batch
        )
        res[name] = r
        print(
            keras.backend.backend(), name, {k: round(v, 2) for k, v in r.items()}, file=sys.stderr
        )
    return res


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, dict]:
    """One backend in a fresh interpreter; its results come back as a JSON line."""
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--models",
        *args.models,
        "--batch-size",
        str(args.batch_size),
        "--batches",
        str(args.batches),
        "--warmup",
        str(args.warmup),
        "--repeat",
        str(args.repeat),
    ]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{backend} worker failed:\n{proc.stderr[-4000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(MARK))
    return json.loads(line[len(MARK) :])


def table(res: dict[str, dict[str, dict]], models: list[str]) -> str:
    tf, jx = res["tensorflow"], res["jax"]
    head = (
        f"{'model':<13}{'train TF':>10}{'train JAX':>11}{'JAX/TF':>8}"
        f"{'infer TF':>11}{'infer JAX':>11}{'JAX/TF':>8}{'1st step TF/JAX (s)':>22}"
    )
    rows = [head, "-" * len(head)]
    for m in models:
        a, b = tf[m], jx[m]
        rows.append(
            f"{m:<13}{a['train_sps']:>10.0f}{b['train_sps']:>11.0f}"
            f"{b['train_sps'] / a['train_sps']:>7.2f}×"
            f"{a['infer_sps']:>11.0f}{b['infer_sps']:>11.0f}"
            f"{b['infer_sps'] / a['infer_sps']:>7.2f}×"
            f"{a['train_first_s']:>13.1f} / {b['train_first_s']:.1f}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", nargs="+", default=["ispl", "deepconvlstm", "hart", "mobilehart"])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--batches", type=int, default=3, help="timed steps per repeat")
    p.add_argument("--repeat", type=int, default=3, help="timed repeats; the best one counts")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (>= 1)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if min(args.warmup, args.batches, args.repeat) < 1:
        p.error("--warmup, --batches and --repeat must be >= 1")
    if args.worker:
        out = worker(args.models, args.batch_size, args.batches, args.warmup, args.repeat)
        print(MARK + json.dumps(out))
        return 0

    t0 = time.perf_counter()
    res = {b: run_backend(b, args) for b in BACKENDS}
    print(
        f"samples/s at batch {args.batch_size}; {args.warmup} warm-up steps, then the best of "
        f"{args.repeat} × {args.batches} timed steps; {os.cpu_count()} CPU(s), load average "
        f"{os.getloadavg()[0]:.1f}; {time.perf_counter() - t0:.0f} s in all"
    )
    print(table(res, args.models))
    if "hart" in args.models:
        tf, jx = res["tensorflow"]["hart"], res["jax"]["hart"]
        print(
            f"HART JAX/TF: training {jx['train_sps'] / tf['train_sps']:.2f}×, "
            f"inference {jx['infer_sps'] / tf['infer_sps']:.2f}×"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
