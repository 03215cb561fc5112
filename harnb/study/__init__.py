"""Study: the experiments and their results files.

``grid`` (the resumable LODO grid) and ``cells`` (one cell's computation), ``cluster`` (the
same on Dask), ``cross`` (the cross-dataset matrix), ``results`` (tidy files, configuration
hashes), ``intervals`` (paired bootstrap), ``artefacts`` (what ``harnb publish`` writes),
``published`` (readers of the committed files). May import ``harnb.training`` and below.
"""
