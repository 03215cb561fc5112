"""Data: acquire the original dataset files, parse them, resample and window them, split them.

``datasets`` (registry and one loader per dataset), ``fetch`` (mirror or download),
``preprocess`` (50 Hz windows, normalisation), ``store``/``storepack`` (the cached windows),
``splits`` (subject-wise LODO splits), ``orientation`` (device-frame handling).
May import ``harnb.config`` and ``harnb.paper`` only.
"""
