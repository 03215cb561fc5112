"""Benchmark: does running two grid processes at once buy throughput on this machine?

HART and MobileHART use a small share of the CPU's matmul peak (``bench_models.py``): much of a
training step is op dispatch on one thread, so a single ``harnb run`` leaves part of a 2-core
machine idle. This benchmark trains one model with the study's settings (TensorFlow, Adam
5e-4, batch 128, random inputs) in 1 process, then in ``--procs`` processes at once, and
reports the aggregate training rate of each and their ratio, in one run.

Two workloads:

* ``step`` (default): bare ``train_on_batch`` steps at batch 128. Every process builds its
  model and takes ``--warmup`` steps first, then all of them count the steps they finish in
  the same wall-clock window of ``--seconds`` (a shared start time), so compile time and
  staggered starts do not enter the rate.
* ``loop``: the grid's own fine-tuning loop (:func:`harnb.training.train.finetune`, strategy Rd, the
  ``cpu`` profile's batch 64, validation every 20 steps on 500 windows, precise BatchNorm),
  ``--steps`` steps on ``--train-windows`` random training windows (default 2,169:
  MotionSense's 10 %; precise BatchNorm reads up to 2,048 of them), after one short
  untimed run that traces the step; every process starts its timed run at the same moment.
  The rate is steps/s; this is what a ``harnb run`` part spends its time on.

    .venv/bin/python bench/bench_concurrency.py [--model mobilehart] [--procs 2]
        [--workload step|loop] [--seconds 30] [--steps 200] [--warmup 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

MARK = "BENCH-JSON "
BATCH = 128


def worker(model_name: str, start_at: float, seconds: float, warmup: int) -> dict:
    """Train ``model_name`` on random batches; count the steps finished in the window."""
    import numpy as np

    from harnb.models import build
    from harnb.training.train import compile_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, 128, 6)).astype("float32")
    y = rng.integers(0, 6, size=BATCH)
    model = build(model_name, n_classes=6)
    compile_model(model)
    for _ in range(warmup):
        model.train_on_batch(x, y)
    late = time.time() > start_at
    while time.time() < start_at:
        model.train_on_batch(x, y)  # keep the machine as loaded as in the window
    steps, end = 0, start_at + seconds
    while time.time() < end:
        model.train_on_batch(x, y)
        steps += 1
    return {"steps": steps, "seconds": seconds, "late": late}


def loop_worker(model_name: str, start_at: float, steps: int, n_train: int = 2169) -> dict:
    """Time ``steps`` steps of the grid's fine-tuning loop (Rd), starting at ``start_at``."""
    import numpy as np

    from harnb.models import build
    from harnb.training import profiles, train

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_train, 128, 6)).astype("float32")
    y = rng.integers(0, 10, size=len(X))
    Xv = rng.normal(size=(500, 128, 6)).astype("float32")
    yv = rng.integers(0, 10, size=len(Xv))
    cpu = profiles.get_profile("cpu")

    def budget(n: int) -> profiles.Profile:
        b = train.Budget(min_steps=n, max_steps=n, eval_every=20, patience=None)
        return cpu.with_(finetune_budget=b)

    pre = build(model_name, n_classes=10, seed=0)
    pool = train.ModelPool()
    train.finetune("Rd", pre, X, y, Xv, yv, budget(20), pool=pool)  # traces the step
    late = time.time() > start_at
    while time.time() < start_at:
        time.sleep(0.05)
    t = time.perf_counter()
    train.finetune("Rd", pre, X, y, Xv, yv, budget(steps), pool=pool)
    return {"steps": steps, "seconds": time.perf_counter() - t, "late": late}


def run_group(args: argparse.Namespace, procs: int) -> list[dict]:
    """``procs`` workers at once, sharing one start time."""
    start_at = time.time() + args.lead
    cmd = [
        sys.executable, os.path.abspath(__file__), "--worker", "--model", args.model,
        "--seconds", str(args.seconds), "--warmup", str(args.warmup), "--start-at", str(start_at),
        "--workload", args.workload, "--steps", str(args.steps),
        "--train-windows", str(args.train_windows),
    ]  # fmt: skip
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    ps = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(procs)
    ]
    out = []
    for p in ps:
        so, se = p.communicate()
        if p.returncode != 0:
            sys.exit(f"worker failed:\n{se[-4000:]}")
        out.append(
            json.loads(next(ln for ln in so.splitlines() if ln.startswith(MARK))[len(MARK) :])
        )
    if any(r["late"] for r in out):
        sys.exit(
            f"a worker was still warming up when the window opened: raise --lead ({args.lead} s)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--model", default="mobilehart", choices=("ispl", "deepconvlstm", "hart", "mobilehart")
    )
    p.add_argument("--procs", type=int, default=2, help="processes at once (>= 2)")
    p.add_argument("--workload", choices=("step", "loop"), default="step")
    p.add_argument("--seconds", type=float, default=30.0, help="timed window (step)")
    p.add_argument("--steps", type=int, default=200, help="fine-tuning steps timed (loop)")
    p.add_argument("--train-windows", type=int, default=2169, help="training windows (loop)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (>= 1)")
    p.add_argument("--lead", type=float, default=60.0, help="seconds from launch to the window")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        if args.workload == "loop":
            r = loop_worker(args.model, args.start_at, args.steps, args.train_windows)
        else:
            r = worker(args.model, args.start_at, args.seconds, args.warmup)
        print(MARK + json.dumps(r))
        return 0
    if args.procs < 2 or args.seconds <= 0 or args.warmup < 1 or args.steps < 20:
        p.error("--procs must be >= 2, --seconds > 0, --warmup >= 1, --steps >= 20")
    t0 = time.perf_counter()
    rates = {}
    for n in (1, args.procs):
        res = run_group(args, n)
        scale = 1 if args.workload == "loop" else BATCH
        per = [r["steps"] * scale / r["seconds"] for r in res]
        rates[n] = sum(per)
        unit = "fine-tuning steps/s" if args.workload == "loop" else "samples/s"
        print(
            f"{n} process(es): " + " + ".join(f"{v:.2f}" for v in per) + f" = {sum(per):.2f} {unit}"
        )
    what = (
        f"the grid's fine-tuning loop (Rd, batch 64), {args.steps} steps on "
        f"{args.train_windows} windows"
        if args.workload == "loop"
        else f"train_on_batch at batch {BATCH}, {args.seconds:.0f} s window"
    )
    print(
        f"{args.model}, TensorFlow, {what}; {os.cpu_count()} CPU(s), load average "
        f"{os.getloadavg()[0]:.1f}; {time.perf_counter() - t0:.0f} s in all"
    )
    print(f"aggregate {args.procs} processes / 1 process: {rates[args.procs] / rates[1]:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
