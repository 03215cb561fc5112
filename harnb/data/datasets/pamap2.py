"""PAMAP2 (Reiss & Stricker 2012): 9 subjects (101–109), three Colibri IMUs, 100 Hz.

Files: ``PAMAP2_Dataset/Protocol/subject10X.dat`` (or ``Protocol/`` directly under ``root``;
``Optional/`` is not read, as in the paper): 54 space-separated columns — timestamp (s),
activityID, heart rate, then hand, chest and ankle IMU × 17 (temperature, acc ±16 g xyz m/s²,
acc ±6 g xyz, gyro xyz rad/s, mag xyz, 4 invalid orientation values). We use acc16 + gyro of
one ``position``: ``chest`` by default (no waist IMU exists; the chest is closest), ``ankle``
(what the released code used) or ``hand``.

Cleaning, and why it differs from the released code: rows with activityID 0 (transients) and
rows where the chosen IMU has NaN (wireless dropouts) are dropped — never interpolated across
the gap or across subjects (B-P2); recordings split at time gaps over 0.1 s. Vacuum cleaning
(16), ironing (17) and any other activity get -1 and are *dropped* by preprocessing; the
released code turned them into "Downstairs" (bug B-P1). Recordings that are entirely -1 are
skipped unless ``keep_unlabelled=True``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harnb.data.datasets._io import label_array, read_table
from harnb.data.datasets.base import DatasetMissing, Recording, Stream

NAME = "PAMAP2"
RATE = 100.0
DEVICE = "Colibri wireless IMU (Trivisio)"
NCOL = 54
#: first column of each IMU block (temperature); acc16 is +1..+3, gyro +7..+9
IMU_OFFSET: dict[str, int] = {"hand": 3, "chest": 20, "ankle": 37}
ACTIVITIES: dict[int, str | None] = {
    1: "Lying",
    2: "Sitting",
    3: "Standing",
    4: "Walking",
    5: "Running",
    6: "Cycling",
    7: "Nordic_Walking",
    12: "Upstairs",
    13: "Downstairs",
    24: "Jumping",
    16: None,  # vacuum cleaning
    17: None,  # ironing
}
MAX_GAP_S = 0.1
_FILE_RE = re.compile(r"^subject(\d+)\.dat$")


def load(
    root: Path, position: str = "chest", keep_unlabelled: bool = False, **options: object
) -> list[Recording]:
    """All PAMAP2 Protocol recordings of one IMU ``position`` under ``root``."""
    if options:
        raise TypeError(f"PAMAP2 options: position, keep_unlabelled; got {sorted(options)}")
    if position not in IMU_OFFSET:
        raise ValueError(f"PAMAP2 position {position!r}; valid: {', '.join(IMU_OFFSET)}")
    files = sorted(
        p
        for p in root.rglob("subject*.dat")
        if _FILE_RE.match(p.name) and p.parent.name == "Protocol"
    )
    if not files:
        raise DatasetMissing(f"no PAMAP2_Dataset/Protocol/subject10X.dat files under {root}")
    recs: list[Recording] = []
    for f in files:
        recs.extend(read_subject(f, position, keep_unlabelled=keep_unlabelled))
    return recs


def read_subject(
    path: Path, position: str = "chest", keep_unlabelled: bool = False
) -> list[Recording]:
    """One subject's protocol file, cut into gap-free recordings of the chosen IMU."""
    o = IMU_OFFSET[position]
    cols = [0, 1, o + 1, o + 2, o + 3, o + 7, o + 8, o + 9]
    nan_ok = [i >= 2 for i in range(NCOL)]
    df = read_table(path, "f" * NCOL, sep=None, usecols=cols, allow_nan=nan_ok, check_fields=True)
    x = df.to_numpy(np.float64)
    act = x[:, 1].astype(np.int64)
    ok = (act != 0) & ~np.isnan(x[:, 2:]).any(axis=1)
    x, act = x[ok], act[ok]
    subject = _FILE_RE.match(path.name).group(1)  # type: ignore[union-attr]
    t = x[:, 0]
    lab = label_array(act, ACTIVITIES)
    cut = np.flatnonzero((np.diff(t) > MAX_GAP_S) | (np.diff(t) <= 0)) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [len(t)]])
    recs = []
    for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
        if e - s < 2 or (not keep_unlabelled and (lab[s:e] < 0).all()):
            continue
        ids = np.unique(act[s:e])
        recs.append(
            Recording(
                dataset=NAME,
                subject=subject,
                session=f"protocol-{k:03d}",
                device=DEVICE,
                position=position,
                acc=Stream(t[s:e].copy(), x[s:e, 2:5].copy()),
                gyro=Stream(t[s:e].copy(), x[s:e, 5:8].copy()),
                labels=lab[s:e].copy(),
                nominal_rate=RATE,
                meta={"activity_ids": ids.tolist()},
            )
        )
    return recs
