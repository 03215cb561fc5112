"""The harnb CSV folder format: bring your own dataset without writing a loader.

A folder holds one metadata file, :data:`META` (JSON), and one CSV file per recording under a
sub-folder per subject: ``FOLDER/<subject>/<session>.csv``. Every CSV has a header naming at
least :data:`COLUMNS` (``timestamp, acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, label``; any
order, other columns ignored); units are declared once in the metadata. The full specification
is ``book/your_data_format.md``; :func:`read_folder` checks all of it and names the file and line
of the first problem, so a user fixes their export once instead of debugging windows later.
Read for prediction (``labels=False``), the label column and the metadata's ``labels`` mapping
are optional: new recordings have no labels.

Values that parse but cannot be what a phone or an IMU measured are refused too, by
:func:`check_recording` (per file) and :func:`check_dataset` (over every file): values beyond
any sensor's range, a dataset whose median |acc| is far from gravity, gyro rates beyond what a
body reaches, a constant gyro, timestamps whose rate is far from the declared one. Each error
names the file, the line or the metadata key, the value and its likely cause (a unit declared
wrongly, a corrupted value), and the :data:`CHECKS` name that ``harnb data add --allow``
accepts when the values are real. Timestamps that arrive in bursts (a watch delivering a few
samples at once every ~100 ms) at the declared rate on average are re-timed at that rate.

:func:`export_csv` writes any loaded dataset in this format (SI units, union labels), which is
how the format is exercised on real data (MotionSense) in the tests.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harnb import config
from harnb.data.datasets.base import DataFormatError, DatasetError, Recording, Stream

#: Plausibility checks a user can turn off when the values are real (``harnb data add
#: --allow CHECK``), and what each refuses. Thresholds below; book/your_data_format.md says why.
CHECKS: dict[str, str] = {
    "acc-range": "an acc value beyond any phone or IMU accelerometer's range",
    "gyro-range": "a gyro value beyond any phone or IMU gyroscope's range",
    "gravity": "a median |acc| far from gravity (over the dataset)",
    "gyro-body": "gyro rates beyond what a body reaches (over the dataset)",
    "flat": "a gyroscope that reads one value through a whole file",
    "rate": "timestamps whose sampling rate is far from the declared rate_hz",
}
#: The widest range of a phone or wearable accelerometer (±32 g: LSM6DSO32; most are ±8 or
#: ±16 g). A value beyond it on any axis was not measured by one.
ACC_LIMIT_G = 32.0
#: The widest range of a phone or IMU gyroscope (±4000 °/s; phones stop at ±2000 °/s).
GYRO_LIMIT_DPS = 4000.0
#: The dataset's median |acc| must lie in this band (in g): gravity dominates whatever the
#: activity (the mirror's UCI, MotionSense and MobiFall: 1.01–1.02 g; single recordings
#: 0.33 g, jumping, to 1.88 g, jogging).
GRAVITY_BAND_G = (0.5, 2.0)
#: The dataset's 99th percentile of |gyro| must not exceed this (rad/s, ≈ 1150 °/s): faster
#: than a running shank's peak for 1 % of the time is beyond what a body does (the mirror's
#: three datasets: 2.8–6.2 rad/s; the highest single recording, jogging: 14.3).
GYRO_BODY_P99 = 20.0
#: A file whose median timestamp step gives a rate more than this factor away from the
#: declared rate_hz is refused (a timestamp unit off by 1000), unless its samples come in
#: bursts at the declared rate on average.
RATE_FACTOR = 3.0
#: Bursts: the mean rate between pauses must be within this fraction of the declared rate;
#: then the declared rate wins and the samples are re-timed at it.
BURST_TOLERANCE = 0.10
#: A step longer than this (s), and than 5 declared periods, is a pause, kept as a gap.
PAUSE_S = 1.0
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class ImplausibleDataError(DataFormatError):
    """Values that parse but cannot be what a sensor measured; ``check`` names the
    :data:`CHECKS` entry that ``harnb data add --allow`` turns off."""

    def __init__(self, message: str, check: str) -> None:
        super().__init__(message)
        self.check = check


#: The metadata file's name inside a dataset folder.
META = "harnb-dataset.json"
FORMAT = "harnb-csv/1"
COLUMNS: tuple[str, ...] = (
    "timestamp",
    "acc_x",
    "acc_y",
    "acc_z",
    "gyro_x",
    "gyro_y",
    "gyro_z",
    "label",
)
#: Declared unit -> factor to SI (seconds, m/s², rad/s).
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
ACC_UNITS = {"m/s^2": 1.0, "m/s2": 1.0, "g": config.G}
GYRO_UNITS = {"rad/s": 1.0, "deg/s": math.pi / 180.0}
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
_SUBJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REQUIRED = ("format", "name", "device", "position", "rate_hz", "units", "subjects", "labels")
_OPTIONAL = (
    "full_name",
    "citation",
    "terms",
    "classes",
    "acc_includes_gravity",
    "derived_from",
    "notes",
)


@dataclass(frozen=True)
class FolderMeta:
    """The validated metadata of a dataset folder.

    ``labels`` maps each label written in the CSV files to a class name, or to None (those
    samples are dropped, like the six datasets' activities outside the union); it is empty for
    a folder read for prediction without one. ``own_classes`` is True when the classes are the
    user's own rather than the 10-class union; then ``classes`` lists them in label-index
    order. ``derived_from`` names a dataset holding the same recordings (an export): the two
    are never loaded together, which would put a LODO target's recordings among its sources.
    """

    name: str
    device: str
    position: str
    rate_hz: float
    time_unit: str
    acc_unit: str
    gyro_unit: str
    subjects: tuple[str, ...]
    labels: dict[str, str | None]
    own_classes: bool
    classes: tuple[str, ...]
    full_name: str = ""
    citation: str = ""
    terms: str = ""
    derived_from: str = ""

    def label_index(self) -> dict[str, int]:
        """CSV label -> class index (-1 = dropped)."""
        pos = {c: i for i, c in enumerate(self.classes)}
        return {k: (-1 if v is None else pos[v]) for k, v in self.labels.items()}


def _err(path: Path, line: int | None, reason: str) -> DataFormatError:
    where = f"{path}, line {line}" if line is not None else str(path)
    return DataFormatError(f"{where}: {reason}")


def _key_line(text: str, key: str) -> int | None:
    """The line of ``"key":`` in a JSON text (for messages), or None."""
    m = re.search(rf'"{re.escape(key)}"\s*:', text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def meta_path(folder_or_file: str | os.PathLike[str]) -> Path:
    """The metadata file of a dataset folder (a path to the file itself is accepted)."""
    p = Path(folder_or_file).expanduser()
    if p.is_dir():
        p = p / META
    if not p.is_file():
        raise DatasetError(
            f"{p}: no such file; a dataset folder needs its metadata file {META} "
            "(see book/your_data_format.md)"
        )
    return p.resolve()


def read_meta(folder_or_file: str | os.PathLike[str], *, labels: bool = True) -> FolderMeta:
    """Parse and check a folder's metadata; errors name the file and line of the bad key.

    ``labels=False`` (prediction) makes the ``labels`` mapping optional, as new recordings
    have none; a mapping that is given is checked all the same.
    """
    path = meta_path(folder_or_file)
    text = path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise _err(path, e.lineno, f"not valid JSON: {e.msg}") from e
    if not isinstance(doc, dict):
        raise _err(path, 1, "must hold one JSON object")

    def bad(key: str, reason: str) -> DataFormatError:
        return _err(path, _key_line(text, key), f"{key!r} {reason}")

    required = _REQUIRED if labels else tuple(k for k in _REQUIRED if k != "labels")
    missing = [k for k in required if k not in doc]
    if missing:
        raise _err(path, None, f"missing key(s) {', '.join(missing)} (required: {required})")
    unknown = sorted(set(doc) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise bad(unknown[0], f"is not a known key (known: {_REQUIRED + _OPTIONAL})")
    if doc["format"] != FORMAT:
        raise bad("format", f"must be {FORMAT!r}, got {doc['format']!r}")
    name = doc["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise bad("name", "must be a letter then up to 39 letters, digits, '_' or '-'")
    for k in ("device", "position", "full_name", "citation", "terms", "derived_from", "notes"):
        if k in doc and not isinstance(doc[k], str):
            raise bad(k, "must be a string")
    rate = doc["rate_hz"]
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        raise bad("rate_hz", f"must be the nominal sampling rate in Hz (> 0), got {rate!r}")
    units = doc["units"]
    if not isinstance(units, dict):
        raise bad("units", 'must be an object like {"timestamp": "s", "acc": "g", ...}')
    choices = {"timestamp": TIME_UNITS, "acc": ACC_UNITS, "gyro": GYRO_UNITS}
    for k, table in choices.items():
        u = units.get(k)
        if u not in table:
            raise _err(
                path,
                _key_line(text, k) or _key_line(text, "units"),
                f"unknown or missing unit for {k!r}: {u!r}; choose one of {sorted(table)}",
            )
    extra_units = sorted(set(units) - set(choices))
    if extra_units:
        raise bad(extra_units[0], f"is not a unit key (use {sorted(choices)})")
    if doc.get("acc_includes_gravity", True) is not True:
        raise bad(
            "acc_includes_gravity",
            "must be true: harnb needs acceleration as a raw accelerometer reads it, with "
            "gravity (add the gravity vector back before exporting, e.g. iOS userAcceleration "
            "+ gravity, with the Android sign: +9.81 m/s² on z lying face up)",
        )
    subjects = doc["subjects"]
    if isinstance(subjects, list):  # ids written as numbers are folder names all the same
        subjects = [
            str(s) if isinstance(s, int) and not isinstance(s, bool) else s for s in subjects
        ]
    if (
        not isinstance(subjects, list)
        or not subjects
        or not all(isinstance(s, str) and _SUBJECT_RE.match(s) for s in subjects)
    ):
        raise bad("subjects", "must be a non-empty list of subject ids (folder names, strings)")
    if len(set(subjects)) != len(subjects):
        raise bad("subjects", "lists a subject twice")
    classes_mode = doc.get("classes", "union")
    if classes_mode not in ("union", "own"):
        raise bad("classes", f"must be 'union' (default) or 'own', got {classes_mode!r}")
    mapping = doc.get("labels", {})  # absent only when read for prediction
    if "labels" in doc and (not isinstance(mapping, dict) or not mapping):
        raise bad("labels", "must map each label written in the CSV files to a class (or null)")
    own = classes_mode == "own"
    for raw, cls in mapping.items():
        if cls is not None and not isinstance(cls, str):
            raise bad("labels", f"maps {raw!r} to {cls!r}; a class name or null is expected")
        if not own and cls is not None and cls not in config.CLASS_INDEX:
            raise _err(
                path,
                _key_line(text, raw) or _key_line(text, "labels"),
                f"label {raw!r} maps to {cls!r}, which is not one of the 10 union classes "
                f"{config.CLASSES}; map it to one of them, to null (dropped), or set "
                '"classes": "own" (then the dataset can be fine-tuned on but cannot be a LODO '
                "target or source)",
            )
    if own:
        seen: dict[str, None] = {}
        for cls in mapping.values():
            if cls is not None:
                seen.setdefault(cls, None)
        classes = tuple(seen)
        if not classes and mapping:
            raise bad("labels", "maps every label to null: no class is left")
        if len(classes) > 127:
            raise bad("labels", "has more than 127 classes")
    else:
        classes = config.CLASSES
    return FolderMeta(
        name=name,
        device=doc["device"],
        position=doc["position"],
        rate_hz=float(rate),
        time_unit=units["timestamp"],
        acc_unit=units["acc"],
        gyro_unit=units["gyro"],
        subjects=tuple(subjects),
        labels=dict(mapping),
        own_classes=own,
        classes=classes,
        full_name=doc.get("full_name", ""),
        citation=doc.get("citation", ""),
        terms=doc.get("terms", ""),
        derived_from=doc.get("derived_from", ""),
    )


def recording_files(folder: Path, meta: FolderMeta) -> list[tuple[str, Path]]:
    """``(subject, csv path)`` of every recording, checked against the metadata's subjects."""
    folder = Path(folder)
    mpath = folder / META
    found: list[tuple[str, Path]] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(sub.rglob("*.csv"))
        if not files:
            continue
        if sub.name not in meta.subjects:
            raise _err(
                files[0],
                None,
                f'subject folder {sub.name!r} is not listed in {mpath}\'s "subjects"',
            )
        found += [(sub.name, f) for f in files]
    stray = sorted(folder.glob("*.csv"))
    if stray:
        raise _err(stray[0], None, "a recording must lie in its subject's folder, <subject>/*.csv")
    have = {s for s, _ in found}
    absent = [s for s in meta.subjects if s not in have]
    if absent:
        raise _err(mpath, None, f"subject(s) {absent} have no <subject>/*.csv recording")
    return found


def _split(line: str) -> list[str]:
    return [f.strip().strip('"') for f in line.split(",")]


def read_csv(
    path: Path, meta: FolderMeta, *, labels: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One recording: timestamps in s, acc (n, 3) m/s², gyro (n, 3) rad/s, class indices (n,).

    Every bad row is reported by file and line: a missing column, a field that is not a
    number, a NaN or empty value, a timestamp not after the previous one, a label outside the
    metadata's mapping. ``labels=False`` (prediction: new recordings have no labels) does not
    read the label column, present or not, and gives every sample class 0.
    """
    columns = COLUMNS if labels else COLUMNS[:7]
    raw = path.read_bytes()
    text_head = raw[: raw.find(b"\n") if b"\n" in raw else len(raw)].decode("utf-8", "replace")
    header = _split(text_head.lstrip("\ufeff"))
    missing = [c for c in columns if c not in header]
    if missing:
        raise _err(path, 1, f"missing column(s) {', '.join(missing)}; header is {header}")
    dup = sorted({c for c in columns if header.count(c) > 1})
    if dup:
        raise _err(path, 1, f"column(s) {', '.join(dup)} appear more than once")
    body = raw.rstrip()  # trailing blank lines are not rows
    bad_line = _wrong_field_count(body, len(header))
    if bad_line is not None:
        raise _err(path, *bad_line)
    num = COLUMNS[:7]
    try:
        df = pd.read_csv(
            io.BytesIO(body),
            usecols=list(columns),
            dtype={**{c: np.float64 for c in num}, **({"label": str} if labels else {})},
            keep_default_na=False,
            na_values={c: ["", "NaN", "nan", "NA"] for c in num},
            skip_blank_lines=False,
            engine="c",
            encoding="utf-8-sig",
        )
    except (ValueError, pd.errors.ParserError) as e:
        raise _scan_error(path, body, header, e) from e
    if len(df) == 0:
        raise _err(path, None, "has a header but no data row")
    x = df[list(num)].to_numpy(np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        found = _scan_error(path, body, header, None)
        if found is not None and "fields" in str(found):
            raise found
        raise _err(path, row + 2, f"{num[col]} is missing, NaN or infinite")
    _check_float32(path, x, meta)
    t = x[:, 0] * TIME_UNITS[meta.time_unit]
    step = np.diff(x[:, 0])
    if (step <= 0).any():
        i = int(np.flatnonzero(step <= 0)[0]) + 1
        raise _err(
            path,
            i + 2,
            f"timestamp {float(x[i, 0])!r} is not after the previous row's {float(x[i - 1, 0])!r}: "
            "timestamps must strictly increase within a recording",
        )
    acc = x[:, 1:4] * ACC_UNITS[meta.acc_unit]
    gyro = x[:, 4:7] * GYRO_UNITS[meta.gyro_unit]
    if not labels:
        return t, acc, gyro, np.zeros(len(t), np.int8)
    empty = df["label"].isna().to_numpy() | (df["label"].to_numpy(str) == "")
    if empty.any():
        raise _err(path, int(np.flatnonzero(empty)[0]) + 2, "label is empty")
    lab = df["label"].to_numpy(str)
    uniq, inv = np.unique(lab, return_inverse=True)
    index = meta.label_index()
    outside = [k for k, u in enumerate(uniq) if u not in index]
    if outside:
        row = int(np.flatnonzero(np.isin(inv, outside))[0])
        raise _err(
            path,
            row + 2,
            f'label {str(lab[row])!r} is not in the metadata\'s "labels" mapping '
            f"({sorted(index)}); add it there (map it to null to drop it)",
        )
    codes = np.array([index[u] for u in uniq], dtype=np.int8)[inv]
    return t, acc, gyro, codes


def _check_float32(path: Path, x: np.ndarray, meta: FolderMeta) -> None:
    """A value that is finite as read but infinite in float32 (the windows' precision) is an
    error, never overridable: one such value makes a dataset's statistics infinite."""
    si = np.abs(x[:, 1:7]) * np.repeat([ACC_UNITS[meta.acc_unit], GYRO_UNITS[meta.gyro_unit]], 3)
    big = si > _FLOAT32_MAX
    if big.any():
        row, col = (int(v[0]) for v in np.nonzero(big))
        unit = meta.acc_unit if col < 3 else meta.gyro_unit
        raise _err(
            path,
            row + 2,
            f"{COLUMNS[col + 1]} is {x[row, col + 1]:.4g} {unit}, beyond float32 (±3.4e38, "
            "the precision of harnb's windows): a corrupted value",
        )


def _wrong_field_count(body: bytes, n: int) -> tuple[int, str] | None:
    """The first line whose number of fields is not ``n``, counted without parsing (fast).

    Files with quoted fields are left to the CSV reader (a quoted comma is not a separator).
    """
    if b'"' in body:
        return None
    b = np.frombuffer(body, np.uint8)
    nl = np.flatnonzero(b == 10)
    cum = np.r_[0, np.cumsum(b == 44)]
    starts, ends = np.r_[0, nl + 1], np.r_[nl, len(b)]
    fields = cum[ends] - cum[starts] + 1
    bad = np.flatnonzero(fields != n)
    if not len(bad):
        return None
    k = int(bad[0])
    return k + 1, f"expected {n} fields, found {int(fields[k])}"


def _scan_error(
    path: Path, body: bytes, header: list[str], cause: Exception | None
) -> DataFormatError | None:
    """The first line with a wrong field count or a non-number (slow path, errors only)."""
    cols = {c: header.index(c) for c in COLUMNS[:7]}
    lines = body.decode("utf-8", "replace").splitlines()
    for k, line in enumerate(lines[1:], start=2):
        fields = _split(line)
        if len(fields) != len(header):
            return _err(path, k, f"expected {len(header)} fields, found {len(fields)}")
        for c in COLUMNS[:7]:
            f = fields[cols[c]]
            try:
                v = float(f)
            except ValueError:
                return _err(path, k, f"{c} is not a number: {f!r}")
            if not math.isfinite(v):
                return _err(path, k, f"{c} is missing, NaN or infinite")
    if cause is None:
        return None
    return _err(path, None, f"unreadable CSV ({cause})")


# --------------------------------------------------------------------------- plausibility


def _hint(check: str) -> str:
    return f"if the values are real, pass --allow {check} to harnb data add"


def allowed(allow: Iterable[str] | None) -> frozenset[str]:
    """``allow`` checked against :data:`CHECKS` (ValueError names an unknown one)."""
    out = frozenset(allow or ())
    unknown = sorted(out - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown check(s) {unknown} to allow; choose from {sorted(CHECKS)}")
    return out


def _few(k: int, n: int) -> bool:
    """A handful of rows out of many: a glitch, not a unit."""
    return k <= max(3, n // 1000)


def _range(path: Path, v: np.ndarray, sensor: str, meta: FolderMeta) -> None:
    """ImplausibleDataError at the first value beyond any phone/IMU sensor's range."""
    acc = sensor == "acc"
    unit = meta.acc_unit if acc else meta.gyro_unit
    factor = ACC_UNITS[unit] if acc else GYRO_UNITS[unit]
    limit = ACC_LIMIT_G * config.G if acc else math.radians(GYRO_LIMIT_DPS)
    over = np.abs(v) > limit
    if not over.any():
        return
    rows = np.flatnonzero(over.any(axis=1))
    row = int(rows[0])
    col = int(np.flatnonzero(over[row])[0])
    k, n = len(rows), len(v)
    raw = float(v[row, col]) / factor
    med_raw = float(np.median(np.linalg.norm(v, axis=1))) / factor
    if acc:
        span = f"±{ACC_LIMIT_G:g} g = ±{limit:.0f} m/s² per axis"
        if 500 <= med_raw <= 2000:
            cause = (
                f"acc in mg? (the file's median |acc| is {med_raw:.0f} {unit}; divide mg "
                'by 1000 and declare "acc": "g")'
            )
        elif _few(k, n):
            cause = (
                f"a corrupted value (a glitch or an overflow of the exporting app: {k} of {n} "
                f"rows; the file's median |acc| is {med_raw * factor:.3g} m/s², a normal one)"
            )
        else:
            cause = f"acc scaled wrongly ({k} of {n} rows are beyond the range)"
    else:
        span = f"±{GYRO_LIMIT_DPS:g} °/s = ±{limit:.1f} rad/s per axis"
        as_deg = float(np.abs(v).max()) * math.pi / 180
        if unit == "rad/s" and as_deg <= limit and not _few(k, n):
            cause = (
                f"gyro in deg/s declared as rad/s? ({k} of {n} rows are beyond the range; as "
                f'deg/s the largest would be {as_deg:.3g} rad/s): declare "gyro": "deg/s"'
            )
        elif _few(k, n):
            cause = (
                f"a corrupted value (a glitch or an overflow of the exporting app: {k} of {n} rows)"
            )
        else:
            cause = f"gyro scaled wrongly ({k} of {n} rows are beyond the range)"
    raise ImplausibleDataError(
        f"{path}, line {row + 2}: {COLUMNS[col + (1 if acc else 4)]} is {raw:.4g} {unit}, beyond "
        f"any phone or IMU {'accelerometer' if acc else 'gyroscope'}'s range ({span}): {cause}; "
        f"{_hint(sensor + '-range')}",
        sensor + "-range",
    )


def _retime(t: np.ndarray, d: np.ndarray, pause: np.ndarray, rate: float) -> np.ndarray:
    """Samples at exactly ``rate`` between pauses; a pause keeps its length (still a gap)."""
    n = len(t)
    brk = np.flatnonzero(pause)
    starts = np.r_[0, brk + 1]
    lengths = np.diff(np.r_[starts, n])
    k = np.arange(n) - np.repeat(starts, lengths)
    first = t[0] + np.r_[0.0, np.cumsum((lengths[:-1] - 1) / rate + d[brk])]
    return np.repeat(first, lengths) + k / rate


def _timing(path: Path, t: np.ndarray, meta: FolderMeta, allow: frozenset[str]):
    """``(t, note)``: bursts at the declared rate are re-timed at it (with a note); a rate far
    from the declared one is an error (a timestamp unit off by 1000 is the usual cause)."""
    if len(t) < 3:
        return t, ""
    rate, d = meta.rate_hz, np.diff(t)
    period, med = 1.0 / rate, float(np.median(d))
    if period / RATE_FACTOR <= med <= period * RATE_FACTOR:
        return t, ""
    pause = d > max(PAUSE_S, 5 * period)
    inside = d[~pause]
    mean_rate = len(inside) / float(inside.sum()) if inside.sum() > 0 else math.inf
    if med < period / RATE_FACTOR and abs(mean_rate / rate - 1) <= BURST_TOLERANCE:
        note = (
            f"{path}: the samples come in bursts (median step {med * 1e3:.2g} ms) at "
            f"{mean_rate:.1f} Hz on average: the declared rate_hz {rate:g} wins, they are "
            f"re-timed at {rate:g} Hz"
        )
        return _retime(t, d, pause, rate), note
    if "rate" in allow:
        return t, ""
    unit = meta.time_unit
    implied = 1.0 / med
    guess = [
        u
        for u, f in TIME_UNITS.items()
        if u != unit and 1 / RATE_FACTOR <= implied * TIME_UNITS[unit] / f / rate <= RATE_FACTOR
    ]
    if guess:
        cause = f'timestamps in {guess[0]} declared as {unit}? (declare "timestamp": "{guess[0]}")'
    elif med < period and mean_rate < implied / 2:
        cause = (
            f"the samples come in bursts whose mean rate, {mean_rate:.3g} Hz, is not the "
            f"declared one: declare rate_hz {mean_rate:.3g} if that is the sensor's rate (bursts "
            "at the declared rate are re-timed at it)"
        )
    else:
        cause = f"declare rate_hz {implied:.3g} if that is the sensor's rate"
    raise ImplausibleDataError(
        f"{path}, column timestamp: the median step is {med / TIME_UNITS[unit]:.4g} {unit}, a "
        f"rate of {implied:.4g} Hz, more than {RATE_FACTOR:g}× off the declared rate_hz "
        f"{rate:g}: {cause}; {_hint('rate')}",
        "rate",
    )


def check_recording(
    path: Path,
    t: np.ndarray,
    acc: np.ndarray,
    gyro: np.ndarray,
    meta: FolderMeta,
    allow: Iterable[str] = (),
) -> tuple[np.ndarray, str]:
    """One file's plausibility (SI units in); returns its timestamps (re-timed when they come
    in bursts at the declared rate) and a note saying so, or ``""``."""
    ok = allowed(allow)
    if "acc-range" not in ok:
        _range(path, acc, "acc", meta)
    if "gyro-range" not in ok:
        _range(path, gyro, "gyro", meta)
    if "flat" not in ok and len(gyro) >= 10 and not np.ptp(gyro, axis=0).any():
        raise ImplausibleDataError(
            f"{path}, columns gyro_x, gyro_y, gyro_z: the gyroscope reads "
            f"{tuple(float(v) for v in gyro[0] / GYRO_UNITS[meta.gyro_unit])} {meta.gyro_unit} in "
            f"all {len(gyro)} rows: it was not recorded (a real one's noise changes every "
            f"reading), and harnb's models need both sensors; {_hint('flat')}",
            "flat",
        )
    return _timing(path, t, meta, ok)


def check_dataset(
    folder: Path, meta: FolderMeta, recs: Sequence[Recording], allow: Iterable[str] = ()
) -> None:
    """Plausibility over every file: the median |acc| near gravity, the 99th percentile of
    |gyro| within what a body reaches. Errors name the metadata's unit line."""
    ok = allowed(allow)
    if not recs:
        return
    mpath = Path(folder) / META

    def line(key: str) -> int | None:  # of the unit to fix, read only for an error
        text = mpath.read_text(encoding="utf-8") if mpath.is_file() else ""
        return _key_line(text, key) or _key_line(text, "units")

    rows = sum(len(r.acc.t) for r in recs)
    where = f"{len(recs)} file(s), {rows} rows"
    if "gravity" not in ok:
        med = float(np.median(np.concatenate([np.linalg.norm(r.acc.xyz, axis=1) for r in recs])))
        lo, hi = (b * config.G for b in GRAVITY_BAND_G)
        if not lo <= med <= hi:
            unit = meta.acc_unit
            raw = med / ACC_UNITS[unit]
            if unit != "g" and GRAVITY_BAND_G[0] <= raw <= GRAVITY_BAND_G[1]:
                cause = 'acc in g declared as m/s²? (declare "acc": "g")'
            elif unit == "g" and lo <= raw <= hi:
                cause = 'acc in m/s² declared as g? (declare "acc": "m/s^2")'
            elif 500 <= raw <= 2000:
                cause = 'acc in mg? (divide by 1000 and declare "acc": "g")'
            elif med == 0:
                cause = "acc is zero: no accelerometer was recorded"
            elif med < lo:
                cause = (
                    "gravity removed (linear acceleration, iOS userAcceleration)? harnb needs "
                    "acc as a raw accelerometer reads it: add the gravity vector back"
                )
            else:
                cause = "acc scaled wrongly"
            raise ImplausibleDataError(
                f"{mpath}, line {line('acc')}: the median "
                f"|acc| over {where} is {med:.3g} m/s² ({med / config.G:.3g} g), but gravity "
                f"alone gives {config.G:.2f} m/s² and the median of any activity lies within "
                f"{GRAVITY_BAND_G[0]:g}–{GRAVITY_BAND_G[1]:g} g: {cause}; {_hint('gravity')}",
                "gravity",
            )
    if "gyro-body" not in ok:
        mags = np.concatenate([np.linalg.norm(r.gyro.xyz, axis=1) for r in recs])
        p99 = float(np.percentile(mags, 99))
        if p99 > GYRO_BODY_P99:
            if meta.gyro_unit == "rad/s" and math.radians(p99) <= GYRO_BODY_P99:
                cause = 'gyro in deg/s declared as rad/s? (declare "gyro": "deg/s")'
            else:
                cause = "gyro scaled wrongly or corrupted"
            raise ImplausibleDataError(
                f"{mpath}, line {line('gyro')}: 1 % of "
                f"the gyro samples over {where} turn faster than {p99:.4g} rad/s "
                f"({math.degrees(p99):.0f} °/s), beyond what a body reaches (the 99th "
                f"percentile of |gyro| stays under {GYRO_BODY_P99:g} rad/s ≈ "
                f"{math.degrees(GYRO_BODY_P99):.0f} °/s): {cause}; {_hint('gyro-body')}",
                "gyro-body",
            )


def read_folder(
    folder: str | os.PathLike[str],
    *,
    labels: bool = True,
    allow: Iterable[str] | None = None,
    **options: object,
) -> list[Recording]:
    """Every recording of a dataset folder, checked and converted to SI units.

    Option ``subjects`` (a list of ids) reads only those subjects. ``labels=False`` reads a
    folder for prediction: no label column or ``labels`` mapping needed, every sample class 0.
    Every file and then the whole folder pass the plausibility checks (:data:`CHECKS`) but
    those in ``allow``; a file re-timed because its samples come in bursts carries a note in
    its Recording's ``meta["note"]``.
    """
    subjects = options.pop("subjects", None)
    if options:
        raise TypeError(f"a CSV folder dataset takes only 'subjects', got {sorted(options)}")
    ok = allowed(allow)
    folder = meta_path(folder).parent
    meta = read_meta(folder, labels=labels)
    out = []
    for subject, path in recording_files(folder, meta):
        if subjects is not None and subject not in {str(s) for s in subjects}:  # type: ignore[attr-defined]
            continue
        t, acc, gyro, y = read_csv(path, meta, labels=labels)
        t, note = check_recording(path, t, acc, gyro, meta, ok)
        session = path.relative_to(folder / subject).with_suffix("").as_posix()
        out.append(
            Recording(
                dataset=meta.name,
                subject=subject,
                session=session,
                device=meta.device,
                position=meta.position,
                acc=Stream(t, acc),
                gyro=Stream(t.copy(), gyro),
                labels=y,
                nominal_rate=meta.rate_hz,
                meta={
                    "file": path.relative_to(folder).as_posix(),
                    **({"note": note} if note else {}),
                },
            )
        )
    check_dataset(folder, meta, out, ok)
    return out


def folder_fingerprint(folder: str | os.PathLike[str]) -> str:
    """sha256 over every file's relative path and content: the cache key of a folder dataset.

    Content, not modification times: a copied or touched folder keeps its windows, an edited
    value rebuilds them.
    """
    folder = meta_path(folder).parent
    h = hashlib.sha256(b"harnb-csv folder\n")
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        if p.suffix != ".csv" and p.name != META:
            continue
        d = hashlib.sha256()
        with open(p, "rb") as fh:
            while chunk := fh.read(1 << 20):
                d.update(chunk)
        h.update(f"{p.relative_to(folder).as_posix()}\t{d.hexdigest()}\n".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- export


def export_csv(
    recordings: Iterable[Recording],
    out: str | os.PathLike[str],
    name: str,
    *,
    full_name: str = "",
    citation: str = "",
    terms: str = "",
    subjects: Sequence[str] | None = None,
    derived_from: str = "",
    progress: bool = False,
) -> Path:
    """Write recordings in the CSV folder format (SI units, union class names as labels).

    The folder is written under a temporary name and renamed into place, so a crash never
    leaves a folder that validates. ``subjects`` keeps only those subject ids; ``derived_from``
    names the dataset the recordings come from (recorded, so the two never load together).
    """
    out = Path(out).expanduser().resolve()
    if out.exists() and any(out.iterdir()):
        raise DatasetError(f"{out} exists and is not empty; choose a new folder")
    if not _NAME_RE.match(name):
        raise ValueError(f"dataset name {name!r}: a letter then letters, digits, '_' or '-'")
    keep = {str(s) for s in subjects} if subjects is not None else None
    recs = [r for r in recordings if keep is None or str(r.subject) in keep]
    if not recs:
        raise DatasetError(f"no recording to export (subjects {sorted(keep or [])} not found)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        used: set[int] = set()
        counts: dict[tuple[str, str], int] = {}
        it: Iterable[Recording] = recs
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(recs, desc=f"export {name}", unit="rec", leave=False)
        for r in it:
            sub = re.sub(r"[^A-Za-z0-9_.-]", "_", str(r.subject)) or "subject"
            base = re.sub(r"[^A-Za-z0-9_.-]", "_", str(r.session)) or "recording"
            k = counts.get((sub, base), 0)
            counts[(sub, base)] = k + 1
            stem = base if k == 0 else f"{base}_{k}"
            (tmp / sub).mkdir(exist_ok=True)
            used.update(int(v) for v in np.unique(r.labels))
            _write_recording(tmp / sub / f"{stem}.csv", r)
        present = [config.CLASSES[i] for i in sorted(used) if i >= 0]
        labels: dict[str, str | None] = {c: c for c in present}
        if -1 in used:
            labels["none"] = None
        doc = {
            "format": FORMAT,
            "name": name,
            "full_name": full_name,
            "citation": citation,
            "terms": terms,
            **({"derived_from": derived_from} if derived_from else {}),
            "device": ", ".join(sorted({r.device for r in recs})),
            "position": ", ".join(sorted({r.position for r in recs})),
            "rate_hz": _export_rate(recs),
            "units": {"timestamp": "s", "acc": "m/s^2", "gyro": "rad/s"},
            "acc_includes_gravity": True,
            "subjects": sorted({p.name for p in tmp.iterdir() if p.is_dir()}),
            "classes": "union",
            "labels": labels,
        }
        (tmp / META).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _export_rate(recs: Sequence[Recording]) -> float:
    """One declared rate for recordings of several devices (HHAR: 50–200 Hz): the geometric
    middle of their nominal rates, within :data:`RATE_FACTOR` of each while they span less
    than 9×."""
    rates = [
        float(r.nominal_rate) for r in recs if np.isfinite(r.nominal_rate) and r.nominal_rate > 0
    ]
    if not rates:
        return config.RATE_HZ
    return float(round(math.sqrt(min(rates) * max(rates)), 3))


def _write_recording(path: Path, r: Recording) -> None:
    """One recording as CSV; gyro samples are put on the acc timestamps when they differ."""
    t = np.asarray(r.acc.t, np.float64)
    acc = np.asarray(r.acc.xyz, np.float64)
    gt = np.asarray(r.gyro.t, np.float64)
    gyro = np.asarray(r.gyro.xyz, np.float64)
    if len(gt) != len(t) or not np.array_equal(gt, t):
        gyro = np.column_stack([np.interp(t, gt, gyro[:, c]) for c in range(3)])
    ok = np.isfinite(t) & np.isfinite(acc).all(1) & np.isfinite(gyro).all(1)
    t, acc, gyro, y = t[ok], acc[ok], gyro[ok], np.asarray(r.labels)[ok]
    if len(t) > 1 and not (np.diff(t) > 0).all():
        order = np.argsort(t, kind="stable")
        t, acc, gyro, y = t[order], acc[order], gyro[order], y[order]
        keep = np.r_[True, np.diff(t) > 0]
        t, acc, gyro, y = t[keep], acc[keep], gyro[keep], y[keep]
    names = np.array([*config.CLASSES, "none"], dtype=object)
    df = pd.DataFrame(
        {
            "timestamp": np.char.mod("%.6f", t),
            **{c: np.char.mod("%.9g", v) for c, v in zip(COLUMNS[1:4], acc.T, strict=True)},
            **{c: np.char.mod("%.9g", v) for c, v in zip(COLUMNS[4:7], gyro.T, strict=True)},
            "label": names[np.where(y >= 0, y, len(config.CLASSES))],
        }
    )
    df.to_csv(path, index=False, lineterminator="\n")
