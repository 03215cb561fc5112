"""RealWorld (HAR) 2016 (Sztyler & Stuckenschmidt): 15 probands, Samsung Galaxy S4, 7 positions.

Files: ``proband<k>/data/<acc|gyr>_<activity>_csv.zip``; inside, CSVs
``<acc|Gyroscope>_<activity>[_<i>]_<position>.csv`` with header ``id,attr_time,attr_x,attr_y,
attr_z`` (epoch ms; acc m/s² incl. gravity, gyro rad/s, 50 Hz). Multi-part recordings come as
several CSVs or as nested ``<sensor>_<activity>_<i>_csv.zip`` archives; every part is read,
``_1_`` included (the released code skipped it). Zip members are read in memory.

Only the requested ``position`` (default ``waist``, as the paper) is kept. Acc and gyro are
paired **by timestamp** (the released code paired them by index and resampled/dropped on length
mismatch, bug B-R1): each acc part becomes one Recording whose gyro is the same position's gyro
samples over the part's time span (plus one sample either side).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from harnb import config
from harnb.data.datasets._io import format_error, read_table, sort_unique
from harnb.data.datasets.base import DatasetError, DatasetMissing, Recording, Stream

NAME = "RealWorld"
RATE = 50.0
DEVICE = "Samsung Galaxy S4"
POSITIONS = ("chest", "forearm", "head", "shin", "thigh", "upperarm", "waist")
HEADER = "id,attr_time,attr_x,attr_y,attr_z"
ACTIVITIES: dict[str, str] = {
    "climbingdown": "Downstairs",
    "climbingup": "Upstairs",
    "running": "Running",
    "sitting": "Sitting",
    "standing": "Standing",
    "walking": "Walking",
    "lying": "Lying",
    "jumping": "Jumping",
}
_OUTER_RE = re.compile(r"^(acc|gyr)_([a-z]+)_csv\.zip$")
_NESTED_RE = re.compile(r"^(?:.*/)?(acc|gyr|Gyroscope)_([a-z]+)_(\d+)_csv\.zip$")
_CSV_RE = re.compile(r"^(?:.*/)?(acc|Gyroscope|gyr)_([a-z]+)(?:_(\d+))?_([a-z]+)\.csv$")
_SUBJ_RE = re.compile(r"^proband(\d+)$")

Part = tuple[np.ndarray, np.ndarray]  # (t seconds, xyz)


def load(root: Path, position: str = "waist", **options: object) -> list[Recording]:
    """All RealWorld recordings of one body ``position`` under ``root``."""
    if options:
        raise TypeError(f"RealWorld options: position; got {sorted(options)}")
    if position not in POSITIONS:
        raise ValueError(f"RealWorld position {position!r}; valid: {', '.join(POSITIONS)}")
    zips = sorted(
        p
        for p in root.rglob("*_csv.zip")
        if _OUTER_RE.match(p.name)
        and p.parent.name == "data"
        and _SUBJ_RE.match(p.parent.parent.name)
    )
    if not zips:
        raise DatasetMissing(f"no proband<k>/data/<acc|gyr>_<activity>_csv.zip files under {root}")
    # (subject, activity) -> sensor -> part -> (t, xyz)
    parts: dict[tuple[int, str], dict[str, dict[int, Part]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for z in zips:
        subject = int(_SUBJ_RE.match(z.parent.parent.name).group(1))  # type: ignore[union-attr]
        sensor, activity = _OUTER_RE.match(z.name).groups()  # type: ignore[union-attr]
        for part, t, xyz in read_archive(z.read_bytes(), str(z), position):
            parts[(subject, activity)][sensor][part] = (t, xyz)
    recs: list[Recording] = []
    for (subject, activity), sensors in sorted(parts.items()):
        acc_parts, gyr_parts = sensors.get("acc", {}), sensors.get("gyr", {})
        if not acc_parts or not gyr_parts:
            continue
        gt = np.concatenate([p[0] for p in gyr_parts.values()])
        gx = np.concatenate([p[1] for p in gyr_parts.values()])
        gt, gx = sort_unique(gt, gx)
        label = config.CLASS_INDEX[ACTIVITIES[activity]] if activity in ACTIVITIES else -1
        for part, (t, xyz) in sorted(acc_parts.items()):
            i0 = max(int(np.searchsorted(gt, t[0], "left")) - 1, 0)
            i1 = min(int(np.searchsorted(gt, t[-1], "right")) + 1, len(gt))
            if i1 - i0 < 2:
                continue  # no gyroscope over this part's time span
            recs.append(
                Recording(
                    dataset=NAME,
                    subject=str(subject),
                    session=f"{activity}_{part}",
                    device=DEVICE,
                    position=position,
                    acc=Stream(t, xyz),
                    gyro=Stream(gt[i0:i1].copy(), gx[i0:i1].copy()),
                    labels=np.full(len(t), label, dtype=np.int8),
                    nominal_rate=RATE,
                    meta={"activity": activity, "part": part},
                )
            )
    if not recs:
        raise DatasetMissing(
            f"no RealWorld acc+gyro recordings for position {position!r} under {root}"
        )
    return recs


def read_archive(
    data: bytes, label: str, position: str
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(part, t, xyz) of every CSV of ``position`` in a RealWorld sensor zip, nested zips too.

    The part number comes from the CSV name, else from the nested zip's name, else it is 1.
    """
    return [(p if p else 1, t, x) for p, t, x in _read_archive(data, label, position)]


def _read_archive(
    data: bytes, label: str, position: str
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    out: list[tuple[int, np.ndarray, np.ndarray]] = []
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise DatasetError(f"{label}: not a readable zip archive ({e})") from e
    with zf:
        for m in zf.infolist():
            if m.is_dir():
                continue
            where = f"{label}:{m.filename}"
            nz = _NESTED_RE.match(m.filename)
            if nz:
                for part, t, xyz in _read_archive(_read_member(zf, m, label), where, position):
                    out.append((int(nz.group(3)) if part == 0 else part, t, xyz))
                continue
            mc = _CSV_RE.match(m.filename)
            if not mc or mc.group(4) != position:
                continue
            part = int(mc.group(3)) if mc.group(3) else 0
            t, xyz = read_csv(_read_member(zf, m, label), where)
            out.append((part, t, xyz))
    return out


def _read_member(zf: zipfile.ZipFile, m: zipfile.ZipInfo, label: str) -> bytes:
    try:
        return zf.read(m)
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise DatasetError(f"{label}: member {m.filename!r} is corrupt ({e})") from e


def read_csv(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One RealWorld sensor CSV: timestamps in s (sorted, unique) and (n, 3) values."""
    header = raw.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff")
    if header != HEADER:
        raise format_error(where, 1, f"unexpected header {header[:80]!r}")
    df = read_table(raw, "iifff", source=where, skip_lines=1, usecols=range(1, 5))
    t = df[1].to_numpy(np.int64) * 1e-3
    return sort_unique(t, df[[2, 3, 4]].to_numpy(np.float64))  # type: ignore[return-value]
