"""Project-wide constants and paths: the union label space, dataset names, where data lives.

Paths come from environment variables so the same code runs in CI, on a laptop and on a GPU box:
``HARNB_DATA`` (default ``<repo>/data``) holds ``raw/``, ``processed/`` and ``runs/``;
``HARNB_MIRROR`` names an offline mirror folder of the original dataset archives (unset: the
folder ``../shared/datasets`` beside the repository, where it exists; set but empty: no mirror);
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

#: The four architectures (``harnb.models.MODELS``), here so that a command can check a model
#: name before it imports Keras.
ARCHITECTURES: tuple[str, ...] = ("ispl", "deepconvlstm", "hart", "mobilehart")

#: Target sampling rate and window geometry of the paper (50 Hz, 128 samples, 50 % overlap).
RATE_HZ = 50.0
WINDOW = 128
HOP = 64
#: Channel order of every window: acc x, y, z (m/s², with gravity), gyro x, y, z (rad/s).
CHANNELS: tuple[str, ...] = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
G = 9.80665  # standard gravity, m/s² per g

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The committed results the book renders and serves (``_static/results/``, subfolders kept).
RESULTS_DIR = REPO_ROOT / "data" / "results"


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


def default_mirror() -> Path:
    """Where the mirror is looked for when ``HARNB_MIRROR`` is unset: ``../shared/datasets``
    beside the repository (the layout of this project's machines, and what ``make`` uses)."""
    return REPO_ROOT.parent / "shared" / "datasets"


def mirror_dir() -> Path | None:
    """The offline mirror of original archives, or None when there is none.

    ``HARNB_MIRROR`` when set (an empty value means no mirror); unset, :func:`default_mirror`
    if that folder exists, so that ``harnb data fetch UCI`` works in a fresh shell as it does
    under ``make`` and the tests.
    """
    m = os.environ.get("HARNB_MIRROR")
    if m is None:
        d = default_mirror()
        return d.resolve() if d.is_dir() else None
    return Path(m).expanduser().resolve() if m.strip() else None


def mirror_state() -> str:
    """The mirror in words, for messages: the folder and where it came from, or why none."""
    m = os.environ.get("HARNB_MIRROR")
    if m is not None:
        return f"HARNB_MIRROR={mirror_dir()}" if m.strip() else "HARNB_MIRROR is empty: no mirror"
    d = mirror_dir()
    if d is not None:
        return f"HARNB_MIRROR unset, so its default {d}"
    return f"HARNB_MIRROR unset, and its default {default_mirror().resolve()} does not exist"
