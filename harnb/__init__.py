"""harnb: combine public HAR datasets, pre-train on their union, evaluate Leave-One-Dataset-Out.

The package holds every computation of the book; notebooks only call it. It is layered, each
layer importing only itself and the layers above it in this list (``tests/test_layers.py``):

* ``config``, ``paper`` — paths and constants; the paper's reported numbers;
* ``data`` — the datasets' loaders, fetching, preprocessing into windows, splits;
* ``models`` — the four architectures, backend-neutral Keras 3;
* ``training`` — profiles, budgets, the training loop, folds, evaluation, the baseline;
* ``study`` — the LODO grid, the cluster runner, the cross-dataset matrix, results files,
  intervals and the readers of committed results;
* ``book`` (pages per chapter, tables, plots, the build) and ``pretrained`` (released models,
  fine-tuning on your data, export) — side by side, neither importing the other;
* ``cli`` — the ``harnb`` command on top.
"""

import os

__version__ = "0.1.0"

# TensorFlow decides by the CPU whether its oneDNN kernels are on: on CPUs with AVX-512 VNNI or
# AMX (the Intel machines of the earlier runs) it turns them on itself; on a 2-core AMD EPYC with
# AVX2 it left them off, and training ran 1.3-1.5 times slower (one thread, batch 128, s a step
# off → on: HART 0.56 → 0.37, MobileHART 1.05 → 0.68, ISPL 3.96 → 3.04, DeepConvLSTM 2.04 → 1.61).
# Set before any TensorFlow import, so every harnb process (CLI, chapters, lanes, Dask workers)
# gets them; TF_ENABLE_ONEDNN_OPTS=0 turns them off. The two differ by round-off only.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
