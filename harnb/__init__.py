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

__version__ = "0.1.0"
