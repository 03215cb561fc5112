"""Benchmark: training throughput of the four models against what the machine can do.

Each backend runs in its own fresh subprocess (``KERAS_BACKEND`` is read when Keras is
imported), one after the other, on the same random inputs, with the project's compile settings
(Adam 5e-4, sparse categorical cross-entropy). In each subprocess:

* **peak**: the best rate of a 2048 × 2048 fp32 matrix product through ``keras.ops.matmul``
  (2 · 2048³ float ops), the yardstick the models are measured against in the same run;
* per model and **variant**, ``--warmup`` training steps (the first one traces/compiles), then
  the best of ``--repeat`` × ``--batches`` timed ``train_on_batch`` steps, and likewise
  ``predict_on_batch``. A training step costs 3 × the forward float ops of
  ``harnb.models.flops(name, convention="full")`` per sample (forward + two backward products);
  achieved GFLOP/s and the share of the peak follow. Variants (TensorFlow only):

  - ``default``: as the study trains (Keras' default ``jit_compile``, off on a CPU);
  - ``xla``: ``jit_compile=True``;
  - ``slices`` (HART, MobileHART): before ``ChannelSplit`` — one ``ChannelSlice`` per channel
    range, the blocks' code before this round (the numbers are the same, see the tests);
  - ``bf16``: the ``mixed_bfloat16`` policy (AMX/AVX-512-BF16 matmuls); a different numeric
    method, shown for information, not used by the study;

  JAX runs ``default`` (always compiled by XLA) and ``kept``: the steps as ``harnb.training.train.fit``
  takes them on JAX (:class:`harnb.training.train._JaxSteps`: Keras' compiled step with the state kept
  between calls, no per-step write-back or wait), each repeat timed to its last step's end.

``--profile`` adds, on TensorFlow, a trace of ``--batches`` training steps per model
(``tf.profiler``), summed by op into: matrix products and convolutions, element-wise and
reductions (LayerNorm/BatchNorm/activations/their gradients), data movement (transpose, slice,
concat, tile, pad, gather), dropout random numbers, and the optimiser (ops under ``adam/``),
with the ops per step: where a step's time goes and how much of it is not math.

    .venv/bin/python bench/bench_models.py [--models hart ...] [--variants default xla ...]
        [--backends tensorflow jax] [--profile] [--batches 4] [--repeat 3] [--warmup 3]
"""

from __future__ import annotations

import argparse
import collections
import functools
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

BACKENDS = ("tensorflow", "jax")
MODELS = ("ispl", "deepconvlstm", "hart", "mobilehart")
TF_VARIANTS = ("default", "xla", "slices", "bf16")
JAX_VARIANTS = ("default", "kept")
VARIANTS = (*TF_VARIANTS, "kept")
MARK = "BENCH-JSON "
PEAK_N = 2048


def best_time(step: Callable[[], object], batches: int, repeat: int) -> float:
    """Seconds per step: the best of ``repeat`` timings of ``batches`` steps (the best is the
    least disturbed by other load). Each result is brought to the host, so asynchronous
    dispatch cannot hide work."""
    import numpy as np

    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(batches):
            np.asarray(step())
        best = min(best, time.perf_counter() - t)
    return best / batches


def kept_time(model, x, y, batches: int, repeat: int) -> float:
    """Seconds per step of ``harnb.training.train``'s kept-state JAX steps, best of ``repeat`` runs of
    ``batches`` steps, each run timed until its last step's results are in the variables."""
    import numpy as np

    from harnb.training.train import _JaxSteps

    steps = _JaxSteps(model)
    best = float("inf")
    for r in range(repeat + 1):  # run 0 warms the path (it compiles nothing new)
        t = time.perf_counter()
        for _ in range(batches):
            steps.step(x, y)
        steps.sync()
        np.asarray(model.trainable_variables[-1].value)
        if r:
            best = min(best, time.perf_counter() - t)
    return best / batches


def matmul_peak(repeat: int) -> float:
    """GFLOP/s of a 2048² fp32 matmul on this backend (a scalar comes back to the host)."""
    import keras
    import numpy as np
    from keras import ops

    rng = np.random.default_rng(0)
    a = ops.convert_to_tensor(rng.normal(size=(PEAK_N, PEAK_N)).astype("float32"))
    b = ops.convert_to_tensor(rng.normal(size=(PEAK_N, PEAK_N)).astype("float32"))
    if keras.backend.backend() == "jax":
        import jax

        f = jax.jit(lambda u, v: (u @ v)[0, 0])
    else:
        f = lambda u, v: ops.matmul(u, v)[0, 0]  # noqa: E731
    f(a, b)
    t = best_time(lambda: f(a, b), 3, max(repeat, 3))
    return 2 * PEAK_N**3 / t / 1e9


def legacy_slices() -> Callable:
    """A stand-in for ``ChannelSplit`` that builds one ``ChannelSlice`` per range (before)."""
    import numpy as np

    from harnb.models.layers import ChannelSlice

    def factory(sizes):
        bounds = np.cumsum((0, *sizes)).tolist()
        return lambda x: [
            ChannelSlice(a, b)(x) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]

    return factory


def build_variant(name: str, variant: str):
    """The model compiled as ``variant`` asks (see the module docstring)."""
    import keras

    from harnb.models import build, hart, mobilehart

    saved = hart.ChannelSplit, mobilehart.ChannelSplit
    policy = keras.config.dtype_policy()
    try:
        if variant == "slices":
            hart.ChannelSplit = mobilehart.ChannelSplit = legacy_slices()
        if variant == "bf16":
            keras.config.set_dtype_policy("mixed_bfloat16")
        model = build(name, 10, seed=0)
    finally:
        hart.ChannelSplit, mobilehart.ChannelSplit = saved
        keras.config.set_dtype_policy(policy)
    kw = {"jit_compile": True} if variant == "xla" else {}
    model.compile(
        optimizer=keras.optimizers.Adam(5e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        **kw,
    )
    return model


OP_GROUPS = (
    ("matmul/conv", ("MatMul", "Conv", "Einsum")),
    ("data movement", ("Transpose", "Slice", "Concat", "Tile", "Pad", "Gather", "Split",
                       "Reshape", "Pack", "Unpack", "Identity", "Cast", "Select", "Fill")),
    ("random (dropout)", ("Random",)),
)  # fmt: skip


def op_group(op_name: str, op_type: str) -> str:
    """Which part of a step an op belongs to (see the module docstring)."""
    if "adam/" in op_name.lower():
        return "optimiser"
    for group, keys in OP_GROUPS:
        if any(k in op_type for k in keys):
            return group
    return "element-wise/reductions"


def profile_steps(model, x, y, steps: int) -> dict:
    """TensorFlow op time per training step, by group and by op type (from a profiler trace)."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    with tempfile.TemporaryDirectory() as d:
        tf.profiler.experimental.start(d)
        t = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        wall = (time.perf_counter() - t) / steps
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        with open(sorted(glob.glob(f"{d}/**/*.xplane.pb", recursive=True))[-1], "rb") as f:
            space.ParseFromString(f.read())
    groups: collections.Counter = collections.Counter()
    types: collections.Counter = collections.Counter()
    n = 0
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for e in line.events:
                full = names[e.metadata_id]
                if ":" not in full or full.startswith("ExecutorState"):
                    continue
                op_name, op_type = full.rsplit(":", 1)
                sec = e.duration_ps / 1e12 / steps
                groups[op_group(op_name, op_type)] += sec
                types[op_type] += sec
                n += 1
    return {
        "wall_s": wall,
        "ops_per_step": n / steps,
        "groups": dict(groups),
        "top_types": dict(types.most_common(8)),
    }


def worker(args: argparse.Namespace) -> dict:
    """Runs inside one backend's subprocess; returns the peak and per-model timings."""
    import keras
    import numpy as np

    from harnb.models import flops

    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch_size, 128, 6)).astype("float32")
    y = rng.integers(0, 10, size=args.batch_size)
    out: dict = {"peak_gflops": matmul_peak(args.repeat), "models": {}, "profile": {}}
    for name in args.models:
        f = flops(name, convention="full")
        for variant in args.variants:
            if variant not in (JAX_VARIANTS if backend == "jax" else TF_VARIANTS):
                continue
            if variant == "slices" and name not in ("hart", "mobilehart"):
                continue
            model = build_variant(name, variant)
            t = time.perf_counter()
            model.train_on_batch(x, y)
            r = {"first_step_s": time.perf_counter() - t, "flops": f}
            for _ in range(args.warmup - 1):
                model.train_on_batch(x, y)
            if variant == "kept":
                step = kept_time(model, x, y, args.batches, args.repeat)
            else:
                step = best_time(
                    functools.partial(model.train_on_batch, x, y), args.batches, args.repeat
                )
            r["train_sps"] = args.batch_size / step
            np.asarray(model.predict_on_batch(x))
            inf = best_time(functools.partial(model.predict_on_batch, x), args.batches, args.repeat)
            r["infer_sps"] = args.batch_size / inf
            out["models"][f"{name}/{variant}"] = r
            print(backend, name, variant, {k: round(v, 2) for k, v in r.items()}, file=sys.stderr)
            if args.profile and variant == "default" and backend == "tensorflow":
                out["profile"][name] = profile_steps(model, x, y, args.batches)
            del model
    return out


def run_backend(backend: str, argv: list[str]) -> dict:
    """One backend in a fresh interpreter; its results come back as a JSON line."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", *argv]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{backend} worker failed:\n{proc.stderr[-4000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(MARK))
    return json.loads(line[len(MARK) :])


def report(res: dict[str, dict], args: argparse.Namespace) -> str:
    """The throughput table, the before/after ratios and the profiles, as text."""
    lines = []
    head = (
        f"{'backend':<11}{'model':<13}{'variant':<9}{'train/s':>9}{'GFLOP/s':>9}{'of peak':>9}"
        f"{'infer/s':>9}{'1st step s':>11}"
    )
    for backend, r in res.items():
        peak = r["peak_gflops"]
        lines += ["", f"{backend}: 2048² fp32 matmul {peak:.0f} GFLOP/s", head, "-" * len(head)]
        for key, m in r["models"].items():
            name, variant = key.split("/")
            g = 3 * m["flops"] * m["train_sps"] / 1e9
            lines.append(
                f"{backend:<11}{name:<13}{variant:<9}{m['train_sps']:>9.0f}{g:>9.1f}"
                f"{g / peak:>8.0%} {m['infer_sps']:>9.0f}{m['first_step_s']:>11.1f}"
            )
    tf = res.get("tensorflow", {}).get("models", {})
    ratios = []
    for name in args.models:
        base = tf.get(f"{name}/default", {}).get("train_sps")
        for variant in ("slices", "xla", "bf16"):
            other = tf.get(f"{name}/{variant}", {}).get("train_sps")
            if base and other:
                ratios.append(f"{name} {variant}/default {other / base:.2f}×")
        jx = res.get("jax", {}).get("models", {}).get(f"{name}/default", {}).get("train_sps")
        if base and jx:
            ratios.append(f"{name} JAX/TF {jx / base:.2f}×")
        kept = res.get("jax", {}).get("models", {}).get(f"{name}/kept", {}).get("train_sps")
        if jx and kept:
            ratios.append(f"{name} JAX kept/default {kept / jx:.2f}×")
    if ratios:
        lines += ["", "training rates, as ratios within this run:"]
        lines += [f"  {r}" for r in ratios]
    for name, p in res.get("tensorflow", {}).get("profile", {}).items():
        total = sum(p["groups"].values())
        lines += [
            "",
            f"profile {name}: {p['wall_s'] * 1e3:.0f} ms per step wall, "
            f"{total * 1e3:.0f} ms of op time (summed over threads), {p['ops_per_step']:.0f} ops",
        ]
        for g, s in sorted(p["groups"].items(), key=lambda kv: -kv[1]):
            lines.append(f"  {g:<26}{s * 1e3:>7.1f} ms {s / total:>6.1%}")
        top = ", ".join(f"{k} {v * 1e3:.1f}" for k, v in p["top_types"].items())
        lines.append(f"  top op types (ms): {top}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument("--profile", action="store_true", help="trace TensorFlow training steps")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--batches", type=int, default=4, help="timed steps per repeat")
    p.add_argument("--repeat", type=int, default=3, help="timed repeats; the best one counts")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (>= 1)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = p.parse_args(argv)
    if min(args.warmup, args.batches, args.repeat) < 1:
        p.error("--warmup, --batches and --repeat must be >= 1")
    if args.worker:
        print(MARK + json.dumps(worker(args)))
        return 0
    t0 = time.perf_counter()
    res = {b: run_backend(b, argv) for b in args.backends}
    print(
        f"samples/s at batch {args.batch_size}; {args.warmup} warm-up steps, then the best of "
        f"{args.repeat} × {args.batches} timed steps; {os.cpu_count()} CPU(s), load average "
        f"{os.getloadavg()[0]:.1f}; {time.perf_counter() - t0:.0f} s in all"
    )
    print(report(res, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
