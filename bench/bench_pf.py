"""Benchmark: one P_F fine-tuning run on cached features vs through the frozen model.

Both paths train the same head (same seed, same budget of optimiser steps, same validation
every ``--eval-every`` steps, no early stopping so both take every step) on the real UCI fold
of the mirror (paper protocol, ``--ratio`` % subset), after one untimed warm-up run each (the
first run traces the compiled step). The features of the target's windows are computed once
per (pre-trained model, target, protocol) and shared by every P_F run of that fold (4 ratios x
ratios of one protocol in the cpu profile, where each seed has its own pre-training); their
one-off cost is printed beside the per-run times. The
pre-trained weights are random: timing does not depend on their values.

    HARNB_MIRROR=../shared/datasets .venv/bin/python bench/bench_pf.py [--model hart] [--steps 200]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="hart")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=20)
    ap.add_argument("--ratio", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    from harnb import models
    from harnb.data.splits import stratified_sample
    from harnb.training import folds, train
    from harnb.training.profiles import get_profile

    prof = get_profile("cpu")
    store = folds.load_store(prof)
    fold = folds.prepare_fold(store, "UCI", "paper", split_seed=0)
    sp = fold.split
    sub = sp.subset(args.ratio)
    val = stratified_sample(sp.target_val, fold.y[sp.target_val], prof.max_val_windows, 0)
    pre = models.build(args.model, 10, seed=0)
    budget = train.Budget(max_steps=args.steps, eval_every=args.eval_every)
    kw = dict(budget=budget, batch_size=prof.finetune_batch, seed=0)

    t = time.perf_counter()
    cache = folds.FeatureCache.compute(pre, fold, prof.eval_batch)
    t_feat = time.perf_counter() - t

    def frozen() -> float:
        m = models.finetune_variant("P_F", pre, 10, seed=1)
        t0 = time.perf_counter()
        train.fit(m, fold.X[sub], fold.y[sub], fold.X[val], fold.y[val], **kw)
        train.predict_labels(m, fold.X[sp.target_test])
        return time.perf_counter() - t0

    def cached() -> float:
        m = models.feature_head(pre, 10, seed=1)
        t0 = time.perf_counter()
        train.fit(m, cache.rows(sub), fold.y[sub], cache.rows(val), fold.y[val], **kw)
        train.predict_labels(m, cache.rows(sp.target_test))
        return time.perf_counter() - t0

    frozen(), cached()  # warm-up: tracing is not a per-run cost
    times = {"frozen": [], "cached": []}
    for _ in range(args.repeat):  # alternate, so other load hits both alike
        times["frozen"].append(frozen())
        times["cached"].append(cached())
    f, c = min(times["frozen"]), min(times["cached"])
    print(f"{args.model}, UCI {args.ratio} % ({len(sub)} windows), {args.steps} steps, "
          f"validation on {len(val)} windows every {args.eval_every}, test {len(sp.target_test)}")  # fmt: skip
    print(f"  through the frozen model: {f:8.2f} s per run (runs: {times['frozen']})")
    print(f"  on cached features:       {c:8.3f} s per run (runs: {times['cached']})")
    print(f"  one-off features of the {len(cache.index)} target windows: {t_feat:.1f} s")
    print(f"  speed-up per P_F run: {f / c:.0f}x; with the features' cost spread over the 4 "
          f"runs that share them: {f / (c + t_feat / 4):.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
