"""One module per chapter: each returns the chapter's tables and figures.

``findings`` (front page), ``datasets`` (1), ``preprocessing`` (2), ``cross`` (3),
``pretraining`` (4), ``lodo`` (5), ``tsne`` (6). May import ``harnb.book``'s ``tables`` and
``plots``, ``harnb.study`` and below.
"""
