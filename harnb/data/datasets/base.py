"""The contract between dataset loaders and preprocessing.

A loader turns a dataset's original files into :class:`Recording` objects: one continuous
recording of one device on one subject, in SI units, with per-sample labels already mapped to the
union label space (``-1`` where the activity is outside the union or unlabelled; preprocessing
drops those samples, it never relabels them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class DatasetError(Exception):
    """Base class for every data problem harnb reports to the user."""


class DatasetMissing(DatasetError):
    """A dataset's files are not where harnb looks; the message says how to obtain them."""


class DataFormatError(DatasetError):
    """A file does not have its published format; the message names the file and line."""


@dataclass
class Stream:
    """One sensor's samples: timestamps in seconds (float64, increasing) and (n, 3) values."""

    t: np.ndarray
    xyz: np.ndarray

    def __post_init__(self) -> None:
        if self.t.ndim != 1 or self.xyz.ndim != 2 or self.xyz.shape != (len(self.t), 3):
            raise ValueError(f"bad stream shapes t{self.t.shape} xyz{self.xyz.shape}")


@dataclass
class Recording:
    """One continuous recording.

    ``acc`` is acceleration in m/s² *including gravity*; ``gyro`` is angular rate in rad/s.
    The two streams may have different, irregular timestamps; preprocessing puts them on one
    50 Hz grid. ``labels`` holds one union label per ``acc`` sample (int8, -1 = dropped).
    ``nominal_rate`` is the dataset's stated rate in Hz (used for anti-aliasing and reporting).
    """

    dataset: str
    subject: str
    session: str
    device: str
    position: str
    acc: Stream
    gyro: Stream
    labels: np.ndarray
    nominal_rate: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.labels.shape != (len(self.acc.t),):
            raise ValueError(
                f"{self.dataset}/{self.subject}/{self.session}: labels {self.labels.shape} "
                f"do not match acc samples {len(self.acc.t)}"
            )
