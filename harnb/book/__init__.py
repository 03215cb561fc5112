"""Book: what the chapters show, built from committed results, and the build itself.

``pages`` (one module per chapter), ``tables`` and ``plots`` (how a page shows things),
``smoke`` (the chapters' smoke checks), ``build`` (papermill + jupyter-book).
May import ``harnb.study`` and below; not ``harnb.pretrained`` or ``harnb.cli``.
"""
