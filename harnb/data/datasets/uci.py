"""UCI HAR (Anguita et al. 2013): Samsung Galaxy S II on the waist, 30 subjects, 50 Hz.

Two published layouts are read, detected automatically under ``root``:

* **HAPT raw** (the dataset's update "Smartphone-Based Recognition of Human Activities and
  Postural Transitions", v2.1): ``RawData/acc_expXX_userYY.txt`` (acc in g incl. gravity),
  ``gyro_expXX_userYY.txt`` (rad/s) and ``RawData/labels.txt`` (``exp user activity start end``,
  1-based inclusive sample indices). These are the continuous signals that UCI HAR v1's windows
  were cut from, so we prefer them: one Recording per experiment, unlabelled samples and the
  postural transitions (activities 7–12) get -1.
* **v1 windows** (``UCI HAR Dataset/{train,test}/Inertial Signals/total_acc_*``,
  ``body_gyro_*``, ``y_*``, ``subject_*``): pre-cut 128-sample windows with 64-sample overlap.
  We rebuild continuous recordings: consecutive windows of the same subject whose overlapping
  halves are identical form one run; a run is stitched from the first 64 samples of each window
  plus the whole last window. Each window's label covers its first half (the shared half takes
  the later window's label); the last window labels all its 128 samples. Note ``body_gyro`` is
  the dataset's noise-filtered gyro, the only gyro v1 publishes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harnb import config
from harnb.data.datasets._io import format_error, label_array, read_numeric_tables, read_table
from harnb.data.datasets.base import DatasetMissing, Recording, Stream

NAME = "UCI"
RATE = 50.0
DEVICE = "Samsung Galaxy S II"
POSITION = "waist"

#: HAPT / UCI HAR activity ids -> union class; 7–12 (postural transitions) are outside it.
ACTIVITIES: dict[int, str | None] = {
    1: "Walking",
    2: "Upstairs",
    3: "Downstairs",
    4: "Sitting",
    5: "Standing",
    6: "Lying",
    7: None,
    8: None,
    9: None,
    10: None,
    11: None,
    12: None,
}

_LUT = {k: (config.CLASS_INDEX[v] if v else -1) for k, v in ACTIVITIES.items()}
_RAW_RE = re.compile(r"^acc_exp(\d+)_user(\d+)\.txt$")


def load(root: Path, **options: object) -> list[Recording]:
    """All UCI recordings under ``root``, from the HAPT raw files if present, else from v1."""
    if options:
        raise TypeError(f"UCI takes no options, got {sorted(options)}")
    raw = _find_hapt(root)
    if raw is not None:
        return load_hapt(raw)
    v1 = _find_v1(root)
    if v1 is not None:
        return load_v1(v1)
    raise DatasetMissing(
        f"no UCI files under {root}: expected HAPT 'RawData/labels.txt' with "
        "'acc_expXX_userYY.txt' files, or 'UCI HAR Dataset/train/Inertial Signals/'"
    )


def _find_hapt(root: Path) -> Path | None:
    for p in sorted(root.rglob("labels.txt")):
        if p.parent.name == "RawData":
            return p.parent
    return None


def _find_v1(root: Path) -> Path | None:
    for p in sorted(root.rglob("Inertial Signals")):
        if p.is_dir() and (p.parent.parent / "train").is_dir():
            return p.parent.parent
    return None


def load_hapt(rawdir: Path) -> list[Recording]:
    """One Recording per HAPT experiment (acc file + gyro file + its rows of labels.txt)."""
    lab = read_table(rawdir / "labels.txt", "iiiii", sep=None).to_numpy()
    runs: list[tuple[Path, Path, int, int]] = []
    for acc_path in sorted(rawdir.glob("acc_exp*_user*.txt")):
        m = _RAW_RE.match(acc_path.name)
        if not m:
            continue
        gyro_path = rawdir / f"gyro_exp{m.group(1)}_user{m.group(2)}.txt"
        runs.append((acc_path, gyro_path, int(m.group(1)), int(m.group(2))))
    # acc and gyro files alternate through one bulk parser (a few read_csv calls in all)
    tables = read_numeric_tables(
        (
            (path, _read_existing(path), 0, 0)
            for acc_path, gyro_path, _, _ in runs
            for path in (acc_path, gyro_path)
        ),
        "fff",
        sep=None,
    )
    recs: list[Recording] = []
    for acc_path, gyro_path, exp, user in runs:
        acc = next(tables)
        acc *= config.G
        gyro = next(tables)
        n = len(acc)
        if len(gyro) != n:
            raise format_error(
                gyro_path, None, f"{len(gyro)} gyroscope samples but {n} accelerometer samples"
            )
        labels = np.full(n, -1, dtype=np.int8)
        rows = lab[(lab[:, 0] == exp) & (lab[:, 1] == user)]
        for _, _, act, start, end in rows:
            if start < 1 or end > n or start > end:
                raise format_error(
                    rawdir / "labels.txt", None, f"exp {exp}: segment {start}-{end} outside 1..{n}"
                )
            labels[start - 1 : end] = _LUT.get(int(act), -1)
        t = np.arange(n, dtype=np.float64) / RATE
        recs.append(
            Recording(
                dataset=NAME,
                subject=str(user),
                session=f"exp{exp:02d}",
                device=DEVICE,
                position=POSITION,
                acc=Stream(t, acc),
                gyro=Stream(t.copy(), gyro),
                labels=labels,
                nominal_rate=RATE,
                meta={"layout": "HAPT raw", "file": acc_path.name},
            )
        )
    if not recs:
        raise DatasetMissing(f"no acc_expXX_userYY.txt files in {rawdir}")
    return recs


def _read_existing(path: Path) -> bytes:
    """A HAPT signal file's bytes; a missing gyro file is named as such."""
    if not path.exists():
        raise format_error(path, None, "missing gyroscope file of this experiment")
    return path.read_bytes()


def _windows(path: Path) -> np.ndarray:
    return read_table(path, "f" * 128, sep=None).to_numpy()


def load_v1(base: Path) -> list[Recording]:
    """Continuous recordings rebuilt from UCI HAR v1's overlapping windows (see module doc)."""
    recs: list[Recording] = []
    for split in ("train", "test"):
        d = base / split
        sig = d / "Inertial Signals"
        if not sig.is_dir():
            continue
        acc = np.stack([_windows(sig / f"total_acc_{a}_{split}.txt") for a in "xyz"], -1)
        gyro = np.stack([_windows(sig / f"body_gyro_{a}_{split}.txt") for a in "xyz"], -1)
        y = read_table(d / f"y_{split}.txt", "i", sep=None)[0].to_numpy()
        subj = read_table(d / f"subject_{split}.txt", "i", sep=None)[0].to_numpy()
        nw = len(y)
        if not (len(acc) == len(gyro) == len(subj) == nw):
            raise format_error(d, None, f"{split}: window counts of signals/y/subject differ")
        # a new run starts where the subject changes or the overlap halves differ
        cont = (subj[1:] == subj[:-1]) & np.all(
            np.isclose(acc[1:, :64], acc[:-1, 64:], atol=1e-7), axis=(1, 2)
        )
        starts = np.concatenate([[0], np.flatnonzero(~cont) + 1])
        ends = np.concatenate([starts[1:], [nw]])
        wl = label_array(y, ACTIVITIES)
        for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
            xa = np.concatenate([acc[a : b - 1, :64].reshape(-1, 3), acc[b - 1]]) * config.G
            xg = np.concatenate([gyro[a : b - 1, :64].reshape(-1, 3), gyro[b - 1]])
            lab = np.concatenate([np.repeat(wl[a : b - 1], 64), np.repeat(wl[b - 1], 128)])
            t = np.arange(len(xa), dtype=np.float64) / RATE
            recs.append(
                Recording(
                    dataset=NAME,
                    subject=str(int(subj[a])),
                    session=f"{split}{k:04d}",
                    device=DEVICE,
                    position=POSITION,
                    acc=Stream(t, xa),
                    gyro=Stream(t.copy(), xg),
                    labels=lab.astype(np.int8),
                    nominal_rate=RATE,
                    meta={"layout": "v1 windows", "split": split, "windows": (int(a), int(b))},
                )
            )
    if not recs:
        raise DatasetMissing(f"no UCI HAR v1 'Inertial Signals' under {base}")
    return recs
