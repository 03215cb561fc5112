"""Benchmark: TFLite and ONNX exports of every architecture beside Keras (match, size, latency).

Each architecture is the released model where ``harnb.pretrained`` has it, else random weights
(seed 0: the match, size and latency do not depend on the values). It is exported in both
formats and run on real UCI windows (z-scored by UCI's statistics): the largest absolute
difference of the softmax outputs from Keras', the file sizes, and the median latency of
``--runs`` single-window calls (TFLite in LiteRT, ONNX in onnxruntime, Keras' compiled
``predict_on_batch``), plus the ratio Keras / exported. Latencies are of this machine under
whatever else it runs; the ratios measured in one run are what carries over.

    HARNB_MIRROR=../shared/datasets .venv/bin/python bench/bench_export.py [--runs 50]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["hart", "mobilehart", "ispl", "deepconvlstm"])
    ap.add_argument("--windows", type=int, default=64)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()

    import numpy as np

    from harnb import models, pretrained
    from harnb.data import preprocess
    from harnb.pretrained import export

    store = preprocess.load_windows(["UCI"], progress=False)
    X = preprocess.normalise(store, preprocess.fit_normalisation(store))
    X = X[np.sort(np.random.default_rng(0).choice(len(X), args.windows, replace=False))]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name in args.models:
            released = name in pretrained.available()
            m = pretrained.load(name) if released else models.build(name, seed=0)
            for fmt in export.FORMATS:
                try:
                    path = export.export_model(m, Path(d) / f"{name}{export.SUFFIX[fmt]}", fmt)
                except export.ExportError as e:
                    print(f"{name} {fmt}: {e}")
                    continue
                r = export.compare(m, path, X, n_latency=args.runs)
                rows.append((name, "released" if released else "random", fmt, r))
    print(
        f"{'model':13} {'weights':8} {'format':6} {'max|diff|':>9} {'MB':>6} {'keras MB':>8} "
        f"{'ms':>7} {'keras ms':>8} {'speed-up':>8}"
    )
    for name, w, fmt, r in rows:
        print(
            f"{name:13} {w:8} {fmt:6} {r['max_abs_diff']:9.1e} {r['bytes'] / 1e6:6.2f} "
            f"{r['keras_bytes'] / 1e6:8.2f} {r['latency_s'] * 1e3:7.2f} "
            f"{r['keras_latency_s'] * 1e3:8.2f} {r['keras_latency_s'] / r['latency_s']:7.1f}x"
        )


if __name__ == "__main__":
    main()
