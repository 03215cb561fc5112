"""MotionSense (Malekzadeh et al.): iPhone 6s in the front trouser pocket, 24 subjects, 50 Hz.

Files: ``A_DeviceMotion_data/<act>_<trial>/sub_<N>.csv`` with a header and columns index,
attitude roll/pitch/yaw, gravity x/y/z (g), rotationRate x/y/z (rad/s), userAcceleration x/y/z
(g, gravity removed by iOS). One Recording per (trial folder, subject file); the subject id is
``N`` from the file name (the released code used the listing position instead).

**Sign convention (why we negate).** iOS Core Motion reports acceleration in g with the opposite
sign to Android: a phone lying face-up reads gravity = (0, 0, -1) on iOS (the vector points to
the ground) but +9.81 m/s² on z on Android (the specific force points up). Every other dataset
here (Android phones, PAMAP2's IMUs) uses the Android convention, so we take
``acc = -(userAcceleration + gravity) * G``. Evidence on the data itself: each row's gravity
equals ``R(attitude)ᵀ · (0, 0, -1)`` for Apple's Euler convention (R = Rz(yaw)·Rx(pitch)·Ry(roll),
world z up), e.g. ``sub_1`` of ``std_6``: roll 2.489, pitch -1.397 give (0.105, 0.985, 0.137),
the file says (0.105, 0.985, 0.137), so MotionSense's gravity points *down* and must be negated
to read like an accelerometer (had the authors negated it, the check would fail). After the flip,
standing trials have |acc| ≈ 9.8 m/s² with mean y ≈ -9.5 m/s² for 23 of 24 subjects (phone top
down in the pocket; subject 5's std_14 is top up, +9.8): that orientation is physical, not a sign
error, so a check of "same sign as UCI's vertical axis" cannot decide the convention. The gyro (right-handed, rad/s) is the same
on both platforms and is kept as is.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harnb import config
from harnb.data.datasets._io import format_error, read_numeric_tables
from harnb.data.datasets.base import DatasetMissing, Recording, Stream

NAME = "MotionSense"
RATE = 50.0
DEVICE = "iPhone 6s"
POSITION = "front pocket"

#: Trial-folder prefixes -> union class (all six are in the union).
ACTIVITIES: dict[str, str] = {
    "dws": "Downstairs",
    "ups": "Upstairs",
    "jog": "Running",
    "sit": "Sitting",
    "std": "Standing",
    "wlk": "Walking",
}
HEADER = (
    ",attitude.roll,attitude.pitch,attitude.yaw,gravity.x,gravity.y,gravity.z,"
    "rotationRate.x,rotationRate.y,rotationRate.z,"
    "userAcceleration.x,userAcceleration.y,userAcceleration.z"
)
_DIR_RE = re.compile(r"^([a-z]{3})_(\d+)$")
_FILE_RE = re.compile(r"^sub_(\d+)\.csv$")


def load(root: Path, **options: object) -> list[Recording]:
    """All MotionSense DeviceMotion recordings under ``root`` (see module doc for units)."""
    if options:
        raise TypeError(f"MotionSense takes no options, got {sorted(options)}")
    files = sorted(
        p
        for p in root.rglob("sub_*.csv")
        if _FILE_RE.match(p.name)
        and (m := _DIR_RE.match(p.parent.name))
        and m.group(1) in ACTIVITIES
        and p.parent.parent.name == "A_DeviceMotion_data"
    )
    if not files:
        raise DatasetMissing(f"no A_DeviceMotion_data/<act>_<trial>/sub_N.csv files under {root}")
    # all files through one bulk parser: a few read_csv calls instead of one per file
    tables = read_numeric_tables((_body(p) for p in files), "i" + "f" * 12, usecols=range(4, 13))
    return [_recording(p, x) for p, x in zip(files, tables, strict=True)]


def read_file(path: Path) -> Recording:
    """One trial of one subject; acc in m/s² with gravity, Android sign convention."""
    x = next(read_numeric_tables([_body(path)], "i" + "f" * 12, usecols=range(4, 13)))
    return _recording(path, x)


def _body(path: Path) -> tuple[Path, bytes, int, int]:
    """The file's bytes and where its data rows start, after checking its name and header."""
    if not _DIR_RE.match(path.parent.name) or not _FILE_RE.match(path.name):
        raise format_error(path, None, "not named <act>_<trial>/sub_<N>.csv")
    raw = path.read_bytes()
    eol = raw.find(b"\n")
    header = raw[: eol if eol >= 0 else len(raw)].decode("utf-8", "replace")
    header = header.strip().lstrip("\ufeff")
    if header != HEADER:
        raise format_error(path, 1, f"unexpected header {header[:80]!r}")
    return path, raw, eol + 1 if eol >= 0 else len(raw), 1


def _recording(path: Path, x: np.ndarray) -> Recording:
    """A Recording from the parsed columns 4..12 (gravity, rotationRate, userAcceleration)."""
    dm = _DIR_RE.match(path.parent.name)
    fm = _FILE_RE.match(path.name)
    if not dm or not fm:
        raise format_error(path, None, "not named <act>_<trial>/sub_<N>.csv")
    gravity, rot, user = x[:, 0:3], x[:, 3:6], x[:, 6:9]
    acc = user + gravity
    acc *= -config.G
    act, trial = dm.group(1), int(dm.group(2))
    n = len(acc)
    t = np.arange(n, dtype=np.float64) / RATE
    return Recording(
        dataset=NAME,
        subject=fm.group(1),
        session=f"{act}_{trial}",
        device=DEVICE,
        position=POSITION,
        acc=Stream(t, acc),
        gyro=Stream(t.copy(), np.ascontiguousarray(rot)),
        labels=np.full(n, config.CLASS_INDEX[ACTIVITIES[act]], dtype=np.int8),
        nominal_rate=RATE,
        meta={"file": f"{path.parent.name}/{path.name}", "trial": trial},
    )
