"""Project-wide constants and paths: the union label space, dataset names, where data lives.

Paths come from environment variables so the same code runs in CI, on a laptop and on a GPU box:
``HARNB_DATA`` (default ``<repo>/data``) holds ``raw/``, ``processed/`` and ``runs/``;
``HARNB_MIRROR`` names an offline mirror folder of the original dataset archives;
``HARNB_STORES_ONLY=1`` uses the cached windows stores alone, where the raw data are absent
(:mod:`harnb.data.storepack`).
"""

from __future__ import annotations

import os
from pathlib import Path

#: The paper's 10-class union, in the index order of the released code (reference §2.1).
CLASSES: tuple[str, ...] = (
    "Downstairs",
    "Upstairs",
    "Running",
    "Sitting",
    "Standing",
    "Walking",
    "Lying",
    "Cycling",
    "Nordic_Walking",
    "Jumping",
)
N_CLASSES = len(CLASSES)
CLASS_INDEX: dict[str, int] = {c: i for i, c in enumerate(CLASSES)}

#: The six datasets of the paper, in the order of its tables.
DATASETS: tuple[str, ...] = ("HHAR", "MobiAct", "MotionSense", "RealWorld", "UCI", "PAMAP2")
#: Public datasets harnb also reads, beyond the paper's: fetched, loaded and windowed like the
#: six (and available to every chapter), but never in the paper's tables, which stay six.
EXTRA_DATASETS: tuple[str, ...] = ("HuGaDB",)

#: Target sampling rate and window geometry of the paper (50 Hz, 128 samples, 50 % overlap).
RATE_HZ = 50.0
WINDOW = 128
HOP = 64
#: Channel order of every window: acc x, y, z (m/s², with gravity), gyro x, y, z (rad/s).
CHANNELS: tuple[str, ...] = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
G = 9.80665  # standard gravity, m/s² per g

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Root of all local data (raw extracts, processed caches, run outputs)."""
    return Path(os.environ.get("HARNB_DATA", REPO_ROOT / "data")).expanduser().resolve()


def raw_dir() -> Path:
    """Where each dataset is extracted, one folder per dataset name."""
    return data_dir() / "raw"


def processed_dir() -> Path:
    """Content-keyed preprocessing caches."""
    return data_dir() / "processed"


def runs_dir() -> Path:
    """Training outputs: checkpoints, histories, results files."""
    return data_dir() / "runs"


def mirror_dir() -> Path | None:
    """The offline mirror named by ``HARNB_MIRROR``, or None when unset."""
    m = os.environ.get("HARNB_MIRROR")
    return Path(m).expanduser().resolve() if m else None
