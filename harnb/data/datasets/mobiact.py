"""MobiAct (Vavoulas et al. 2016) and MobiFall v2.0: Samsung Galaxy S3 in a trouser pocket.

Two published layouts are read, found anywhere under ``root``:

* **raw per-trial files**, shared by MobiFall v2.0 (``MobiFall_Dataset_v2.0/subN/ADL/<CODE>/``)
  and MobiAct v1 (``MobiAct_Dataset/<CODE>/``): ``<CODE>_<acc|gyro|ori>_<subject>_<trial>.txt``,
  header lines starting with ``#``, then ``@DATA``, then ``timestamp(ns), x, y, z`` rows. Acc is
  m/s² incl. gravity (~87 Hz, irregular), gyro rad/s (~200 Hz). The two sensors keep their own
  irregular timestamps (preprocessing aligns them by time); one label per trial.
* **MobiAct v2 "Annotated Data"** CSVs (``<CODE>_<subject>_<trial>_annotated.csv``: timestamp
  (ns), rel_time, acc xyz, gyro xyz, azimuth, pitch, roll, label): common timestamps and one
  activity code per row.

Label mapping follows the released code's 7 classes: STD Standing, WAL Walking, JOG Running,
JUM Jumping, STU Upstairs, STN Downstairs, SCH Sitting. SCH is "sit on a chair" (6 s trials
that include sitting down), which the released code counted as Sitting; we keep that choice.
MobiAct v2's per-row annotations add SIT (sitting still), mapped to Sitting; CHU (getting up),
LYI (lying on the floor after a fall), car step in/out (CSI/CSO), falls and any other code are
outside the union (-1): the paper's MobiAct has no Lying class. By default
trials that would be entirely -1 are skipped (``keep_unlabelled=True`` keeps them).
If several copies of one trial exist under ``root`` (e.g. both layouts), the first in sorted
path order is used, so no trial is counted twice.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from harnb import config
from harnb.data.datasets._io import (
    content_end,
    format_error,
    label_array,
    read_numeric_tables,
    read_table,
    sort_unique,
)
from harnb.data.datasets.base import DatasetMissing, Recording, Stream

NAME = "MobiAct"
RATE = 87.0  # the accelerometer's typical rate; the gyro runs at ~200 Hz
DEVICE = "Samsung Galaxy S3"
POSITION = "trouser pocket"

#: MobiAct activity codes -> union class (the released code's 7 classes); others -> -1.
ACTIVITIES: dict[str, str | None] = {
    "STD": "Standing",
    "WAL": "Walking",
    "JOG": "Running",
    "JUM": "Jumping",
    "STU": "Upstairs",
    "STN": "Downstairs",
    "SCH": "Sitting",
    "SIT": "Sitting",  # v2 annotations only: sitting still on the chair
    "CSI": None,
    "CSO": None,
}
_LUT = {k: (config.CLASS_INDEX[v] if v else -1) for k, v in ACTIVITIES.items()}
_RAW_RE = re.compile(r"^([A-Z]{3})_(acc|gyro|ori)_(\d+)_(\d+)\.txt$")
_ANN_RE = re.compile(r"^([A-Z]{3})_(\d+)_(\d+)_annotated\.csv$")
ANNOTATED_HEADER = (
    "timestamp,rel_time,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,azimuth,pitch,roll,label"
)


def load(root: Path, keep_unlabelled: bool = False, **options: object) -> list[Recording]:
    """All MobiAct/MobiFall trials under ``root`` (raw files and/or v2 annotated CSVs)."""
    if options:
        raise TypeError(f"MobiAct options: keep_unlabelled; got {sorted(options)}")
    recs: list[Recording] = []
    seen: set[tuple[str, str, str]] = set()
    for path in sorted(root.rglob("*_annotated.csv")):
        m = _ANN_RE.match(path.name)
        if not m:
            continue
        key = (m.group(1), m.group(2), m.group(3))
        if key in seen:
            continue
        rec = read_annotated(path)
        seen.add(key)
        if keep_unlabelled or (rec.labels >= 0).any():
            recs.append(rec)
    trials: dict[tuple[str, str, str], dict[str, Path]] = defaultdict(dict)
    for path in sorted(root.rglob("*.txt")):
        m = _RAW_RE.match(path.name)
        if m:
            trials[(m.group(1), m.group(3), m.group(4))].setdefault(m.group(2), path)
    todo: list[tuple[Path, Path]] = []
    for key in sorted(trials, key=lambda k: (int(k[1]), k[0], int(k[2]))):
        if key in seen:
            continue
        code = key[0]
        if not keep_unlabelled and _LUT.get(code, -1) < 0:
            continue
        files = trials[key]
        if "acc" not in files or "gyro" not in files:
            warnings.warn(
                f"MobiAct trial {'_'.join(key)}: {'gyro' if 'acc' in files else 'acc'} file "
                "missing, trial skipped",
                stacklevel=2,
            )
            continue
        todo.append((files["acc"], files["gyro"]))
        seen.add(key)
    # every acc and gyro file through one bulk parser (a few read_csv calls in all)
    tables = _read_raw_many(p for pair in todo for p in pair)
    for acc_path, _ in todo:
        recs.append(_trial(acc_path, next(tables), next(tables)))
    if not recs:
        raise DatasetMissing(
            f"no MobiAct files under {root}: expected <CODE>_acc_<subject>_<trial>.txt "
            "(MobiFall v2.0 / MobiAct v1) or '<CODE>_<subject>_<trial>_annotated.csv' (MobiAct v2)"
        )
    return recs


def _raw_body(path: Path) -> tuple[Path, bytes, int, int]:
    """A raw sensor file's bytes, where its rows start (after '@DATA') and its header lines."""
    raw = path.read_bytes()
    pos = raw.find(b"@DATA")
    if pos < 0:
        raise format_error(path, None, "no '@DATA' line after the '#' header")
    eol = raw.find(b"\n", pos)
    start = eol + 1 if eol >= 0 else len(raw)
    header_lines = raw.count(b"\n", 0, start)
    if content_end(raw, start) == start:
        raise format_error(path, header_lines, "no data rows after '@DATA'")
    return path, raw, start, header_lines


def _read_raw_many(paths: Iterable[Path]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(timestamps s, (n, 3) values) of each raw file, sorted by time, timestamps unique."""
    for x in read_numeric_tables((_raw_body(p) for p in paths), "ifff", sep=","):
        t = x[:, 0] * 1e-9
        yield sort_unique(t, np.ascontiguousarray(x[:, 1:4]))


def read_raw(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (s, sorted, unique) and (n, 3) values of one raw MobiAct/MobiFall sensor file."""
    return next(_read_raw_many([path]))


def read_trial(acc_path: Path, gyro_path: Path) -> Recording:
    """One raw trial: separate acc and gyro Streams on their own clocks, a constant label."""
    tables = _read_raw_many([acc_path, gyro_path])
    return _trial(acc_path, next(tables), next(tables))


def _trial(
    acc_path: Path, acc: tuple[np.ndarray, np.ndarray], gyro: tuple[np.ndarray, np.ndarray]
) -> Recording:
    m = _RAW_RE.match(acc_path.name)
    if not m:
        raise format_error(acc_path, None, "not named <CODE>_acc_<subject>_<trial>.txt")
    code, subject, trial = m.group(1), m.group(3), m.group(4)
    (ta, xa), (tg, xg) = acc, gyro
    return Recording(
        dataset=NAME,
        subject=subject,
        session=f"{code}_{trial}",
        device=DEVICE,
        position=POSITION,
        acc=Stream(ta, xa),
        gyro=Stream(tg, xg),
        labels=np.full(len(ta), _LUT.get(code, -1), dtype=np.int8),
        nominal_rate=RATE,
        meta={"layout": "raw", "code": code, "trial": int(trial), "file": acc_path.name},
    )


def read_annotated(path: Path) -> Recording:
    """One MobiAct v2 annotated trial: common timestamps, per-row activity labels."""
    m = _ANN_RE.match(path.name)
    if not m:
        raise format_error(path, None, "not named <CODE>_<subject>_<trial>_annotated.csv")
    code, subject, trial = m.group(1), m.group(2), m.group(3)
    raw = path.read_bytes()
    header = raw.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff")
    if header.replace(" ", "") != ANNOTATED_HEADER:
        raise format_error(path, 1, f"unexpected header {header[:100]!r}")
    df = read_table(raw, "iffffffffffs", source=path, skip_lines=1)
    t = df[0].to_numpy(np.int64) * 1e-9
    x = df[list(range(2, 8))].to_numpy(np.float64)
    lab = label_array(df[11].str.strip().to_numpy(), ACTIVITIES)
    t, x, lab = sort_unique(t, x, lab)
    return Recording(
        dataset=NAME,
        subject=subject,
        session=f"{code}_{trial}",
        device=DEVICE,
        position=POSITION,
        acc=Stream(t, np.ascontiguousarray(x[:, :3])),
        gyro=Stream(t.copy(), np.ascontiguousarray(x[:, 3:])),
        labels=lab,
        nominal_rate=RATE,
        meta={"layout": "v2 annotated", "code": code, "trial": int(trial), "file": path.name},
    )
