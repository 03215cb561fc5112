"""HHAR (Stisen et al. 2015): 9 users, 8 phones (4 models × 2) in a waist pouch, phones only.

Files: ``Activity recognition exp/Phones_accelerometer.csv`` and ``Phones_gyroscope.csv``, columns
``Index, Arrival_Time, Creation_Time, x, y, z, User, Model, Device, gt`` (Creation_Time in ns,
acc m/s² incl. gravity, gyro rad/s; ``gt`` one of stand, sit, walk, stairsup, stairsdown, bike,
null). Smartwatch files are ignored, as in the paper.

Fix of the released code's bug B-H1 (gyro rows taken at the *row positions* of the acc rows of
another file): acc and gyro are paired **by time** per (User, Device). Each sensor is sorted by
Creation_Time (duplicates dropped); the acc stream is split into recordings where the label
changes or there is a gap over 1 s; each recording gets the same device's gyro samples over its
time span (plus one sample either side, for interpolation at the edges). Recordings that are
entirely ``null`` (-1) are skipped unless ``keep_unlabelled=True``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from harnb import config
from harnb.data.datasets._io import format_error, read_table
from harnb.data.datasets.base import DatasetMissing, Recording, Stream

NAME = "HHAR"
POSITION = "waist pouch"
HEADER = "Index,Arrival_Time,Creation_Time,x,y,z,User,Model,Device,gt"
#: nominal rates of the phone models (reference §3.1)
RATES: dict[str, float] = {"nexus4": 200.0, "s3": 150.0, "s3mini": 100.0, "samsungold": 50.0}
MODELS: dict[str, str] = {
    "nexus4": "LG Nexus 4",
    "s3": "Samsung Galaxy S3",
    "s3mini": "Samsung Galaxy S3 mini",
    "samsungold": "Samsung Galaxy S+",
}
ACTIVITIES: dict[str, str | None] = {
    "stairsdown": "Downstairs",
    "stairsup": "Upstairs",
    "sit": "Sitting",
    "stand": "Standing",
    "walk": "Walking",
    "bike": "Cycling",
    "null": None,
}
MAX_GAP_S = 1.0
_KINDS = "iiifffssss"
_CAT = {6: "category", 7: "category", 8: "category", 9: "category"}


def load(root: Path, keep_unlabelled: bool = False, **options: object) -> list[Recording]:
    """All HHAR phone recordings under ``root``, acc and gyro paired by time."""
    if options:
        raise TypeError(f"HHAR options: keep_unlabelled; got {sorted(options)}")
    found = sorted(root.rglob("Phones_accelerometer.csv"))
    if not found:
        raise DatasetMissing(f"no 'Activity recognition exp/Phones_accelerometer.csv' under {root}")
    folder = found[0].parent
    gyro_path = folder / "Phones_gyroscope.csv"
    if not gyro_path.exists():
        raise DatasetMissing(f"no Phones_gyroscope.csv beside {found[0]}")
    acc = read_csv(found[0])
    gyro = read_csv(gyro_path)
    return split_and_pair(acc, gyro, keep_unlabelled=keep_unlabelled)


def read_csv(path: Path) -> pd.DataFrame:
    """One HHAR phone CSV: columns t (s), x, y, z, User, Model, Device, gt."""
    with open(path, "rb") as fh:
        header = fh.readline().decode("utf-8", "replace").strip().lstrip("\ufeff")
    if header != HEADER:
        raise format_error(path, 1, f"unexpected header {header[:100]!r}")
    df = read_table(path, _KINDS, skip_lines=1, usecols=range(2, 10), dtype=_CAT)
    lut = {k: (config.CLASS_INDEX[v] if v else -1) for k, v in ACTIVITIES.items()}
    gt = df[9]
    per_cat = np.array([lut.get(str(c), -1) for c in gt.cat.categories] + [-1], dtype=np.int8)
    out = pd.DataFrame(
        {
            "t": df[2].to_numpy(np.int64) * 1e-9,
            "x": df[3],
            "y": df[4],
            "z": df[5],
            "User": df[6],
            "Model": df[7],
            "Device": df[8],
            "gt": gt,
            "label": per_cat[gt.cat.codes.to_numpy()],  # code -1 (missing) -> last entry, -1
        }
    )
    return out


def _groups(df: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    return {
        (str(u), str(d)): g.sort_values("t", kind="stable").drop_duplicates("t")
        for (u, d), g in df.groupby(["User", "Device"], observed=True, sort=True)
    }


def split_and_pair(
    acc: pd.DataFrame, gyro: pd.DataFrame, keep_unlabelled: bool = False
) -> list[Recording]:
    """Per (User, Device): split acc at label changes/gaps, attach the gyro of that time span."""
    gyro_by = _groups(gyro)
    recs: list[Recording] = []
    no_gyro = 0
    for (user, device), a in _groups(acc).items():
        model = str(a["Model"].iloc[0])
        t = a["t"].to_numpy()
        xyz = a[["x", "y", "z"]].to_numpy(np.float64)
        lab = a["label"].to_numpy()
        cut = np.flatnonzero((np.diff(lab) != 0) | (np.diff(t) > MAX_GAP_S)) + 1
        starts = np.concatenate([[0], cut])
        ends = np.concatenate([cut, [len(t)]])
        g = gyro_by.get((user, device))
        gt = g["t"].to_numpy() if g is not None else np.empty(0)
        gx = g[["x", "y", "z"]].to_numpy(np.float64) if g is not None else np.empty((0, 3))
        for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
            if not keep_unlabelled and lab[s] < 0:
                continue
            t0, t1 = t[s], t[e - 1]
            i0 = max(int(np.searchsorted(gt, t0, "left")) - 1, 0)
            i1 = min(int(np.searchsorted(gt, t1, "right")) + 1, len(gt))
            sel = slice(i0, i1)
            keep = (gt[sel] >= t0 - MAX_GAP_S) & (gt[sel] <= t1 + MAX_GAP_S)
            if keep.sum() < 2:
                no_gyro += 1
                continue
            recs.append(
                Recording(
                    dataset=NAME,
                    subject=user,
                    session=f"{device}-{k:04d}",
                    device=device,
                    position=POSITION,
                    acc=Stream(t[s:e].copy(), xyz[s:e].copy()),
                    gyro=Stream(gt[sel][keep].copy(), gx[sel][keep].copy()),
                    labels=lab[s:e].copy(),
                    nominal_rate=RATES.get(model, float("nan")),
                    meta={"model": model, "phone": MODELS.get(model, model)},
                )
            )
    if no_gyro:
        warnings.warn(
            f"HHAR: {no_gyro} accelerometer segments without gyroscope samples were skipped",
            stacklevel=2,
        )
    return recs
