"""HuGaDB v1 (Chereshnev & Kertész-Farkas 2017): six leg IMUs, 18 subjects, ~58.8 Hz, no clock.

Not one of the paper's six datasets: an extra one (``config.EXTRA_DATASETS``), read the same
way. A thigh IMU sits where a trouser-pocket phone does, so by default the **right thigh**
sensor is read; ``position=`` picks another (``right_thigh``, ``left_thigh``, ``right_shin``,
``left_shin``, ``right_foot``, ``left_foot``; the authors' README also calls the shin "shank").

Files: ``HuGaDB_v1_<activity>_<subject>_<counter>.txt`` anywhere under ``root`` (``activity``
may contain ``_``: ``down_by_elevator``, or ``various`` for a sequence of activities). Each
starts with three header lines, ``#Activity<TAB>names``, ``#ActivityID<TAB>ids``,
``#Date MM-DD-HH-MM``, then a tab-separated column header (``acc_rf_x ... act``: six sensors
right foot, right shin, right thigh, left foot, left shin, left thigh, each acc x/y/z then gyro
x/y/z, then ``EMG_r``, ``EMG_l`` and ``act``), then 39 integer columns per sample. CRLF (the
original files) and LF (some public copies) are both read.

**Units** (``Data/ReadMe.txt``): acc and gyro are int16 over ±2 g and ±2000 °/s, so one count
is 2/32768 g (m/s² with gravity, × ``config.G``) and 2000/32768 °/s (→ rad/s). Standing
thigh samples read about 16,200 counts ≈ 0.99 g.

**Rate.** The files have no timestamps. The authors' README (Table 1) gives, per activity,
seconds and samples whose ratio is the logging rate: 2,111,962 samples in 35,903 s,
58.82 Hz overall (58.82–58.95 Hz per activity). :data:`RATE` is that ratio; samples are placed
every ``1/RATE`` s and resampled to 50 Hz like every other stream.

**Corrupted gyroscopes.** The authors' ``README.md`` lists, per file and per sensor, gyroscope
data that were amplified tenfold and clipped. A file listed as corrupted for the chosen sensor
is **left out** entirely (:func:`left_out` names them; chapter 1 counts them). A cell that is
neither "OK" nor "Corrupted" (one blank cell in the README: ``sitting_05_01``, right shank) is
not known good and counts as corrupted. That README must be under ``root`` (the release and
the mirror carry it); without it the loader refuses to guess.

**Recordings and labels.** One file = one continuous Recording with one label per sample (the
``act`` column), as UCI and MobiAct v2 do; preprocessing cuts windows within one activity.
Activity ids → union: 1 walking → Walking, 2 running → Running, 3 going_up → Upstairs,
4 going_down → Downstairs, 5 sitting → Sitting, 8 standing → Standing, 9 bicycling → Cycling
(only subject 01 cycled). Dropped (-1, never relabelled): 6 sitting_down and 7 standing_up
(transitions), 10 up_by_elevator and 11 down_by_elevator (standing in a moving lift), 12
sitting_in_car (a passenger). Files are read whatever they hold; a file with no union sample
is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harnb import config
from harnb.data.datasets._io import content_end, format_error, read_numeric_tables
from harnb.data.datasets.base import DatasetMissing, Recording, Stream

NAME = "HuGaDB"
#: The authors' Table 1: 2,111,962 samples in 35,903 s (the files carry no timestamps).
RATE = 2_111_962 / 35_903
DEVICE = "HuGaDB leg IMU (int16, ±2 g, ±2000 °/s)"
ACC_PER_COUNT = 2.0 / 32768.0 * config.G  # m/s² per int16 count (±2 g)
GYRO_PER_COUNT = 2000.0 / 32768.0 * np.pi / 180.0  # rad/s per int16 count (±2000 °/s)

#: position option -> (column code in the files, column title in the README's table)
POSITIONS: dict[str, tuple[str, str]] = {
    "right_thigh": ("rt", "Right thigh"),
    "left_thigh": ("lt", "Left thigh"),
    "right_shin": ("rs", "Right shank"),
    "left_shin": ("ls", "Left shank"),
    "right_foot": ("rf", "Right foot"),
    "left_foot": ("lf", "Left foot"),
}
DEFAULT_POSITION = "right_thigh"

#: Activity ids (``Data/ReadMe.txt``) -> union class, None = dropped.
ACTIVITIES: dict[int, tuple[str, str | None]] = {
    1: ("walking", "Walking"),
    2: ("running", "Running"),
    3: ("going_up", "Upstairs"),
    4: ("going_down", "Downstairs"),
    5: ("sitting", "Sitting"),
    6: ("sitting_down", None),
    7: ("standing_up", None),
    8: ("standing", "Standing"),
    9: ("bicycling", "Cycling"),
    10: ("up_by_elevator", None),
    11: ("down_by_elevator", None),
    12: ("sitting_in_car", None),
}
_LUT = np.full(max(ACTIVITIES) + 1, -1, dtype=np.int8)
for _id, (_, _cls) in ACTIVITIES.items():
    if _cls is not None:
        _LUT[_id] = config.CLASS_INDEX[_cls]

_SENSORS = ("rf", "rs", "rt", "lf", "ls", "lt")
COLUMNS: tuple[str, ...] = (
    *(f"{k}_{s}_{a}" for s in _SENSORS for k in ("acc", "gyro") for a in "xyz"),
    "EMG_r",
    "EMG_l",
    "act",
)
_FILE_RE = re.compile(r"^HuGaDB_v1_([a-z_]+)_(\d+)_(\d+)\.txt$")
_ROW_RE = re.compile(r"^\|\s*(HuGaDB_v1_\S+?\.txt)\s*\|(.*)$")
README_MARK = "Corrupted gyroscope data"
_HEADER_LINES = 4  # #Activity, #ActivityID, #Date, the column names


def _check_position(position: str) -> str:
    p = str(position).lower().replace(" ", "_").replace("shank", "shin")
    if p not in POSITIONS:
        raise ValueError(f"HuGaDB position {position!r}; choose one of {', '.join(POSITIONS)}")
    return p


def data_files(root: Path) -> list[Path]:
    """Every ``HuGaDB_v1_*.txt`` data file under ``root``, sorted by name; a name found twice
    (two copies of the release) is read once, from the first path in sorted order."""
    found: dict[str, Path] = {}
    for p in sorted(root.rglob("HuGaDB_v1_*.txt")):
        if _FILE_RE.match(p.name):
            found.setdefault(p.name, p)
    return [found[k] for k in sorted(found)]


def _columns(position: str) -> list[int]:
    """Indices of a sensor's acc x/y/z and gyro x/y/z columns, then the activity id's."""
    code = POSITIONS[position][0]
    six = [COLUMNS.index(f"{k}_{code}_{a}") for k in ("acc", "gyro") for a in "xyz"]
    return [*six, COLUMNS.index("act")]


def find_readme(root: Path) -> Path:
    """The authors' README.md with the corrupted-gyroscope table, or DatasetMissing."""
    for p in sorted(root.rglob("README.md")):
        if README_MARK in p.read_text(encoding="utf-8", errors="replace"):
            return p
    raise DatasetMissing(
        f"no README.md with the authors' table of '{README_MARK}' under {root}: it decides "
        "which files are left out; copy the README.md of github.com/romanchereshnev/HuGaDB "
        "next to the Data folder"
    )


def corrupted_table(readme: Path) -> dict[str, dict[str, bool]]:
    """``{file name: {README column title: corrupted?}}`` from the authors' README table.

    A cell other than "OK" (a blank) counts as corrupted: such a sensor is not known good.
    """
    titles: list[str] | None = None
    out: dict[str, dict[str, bool]] = {}
    for lineno, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1):
        s = line.strip()
        if s.startswith("|File"):
            titles = [c.strip() for c in s.strip("|").split("|")][1:]
            continue
        m = _ROW_RE.match(s)
        if not m:
            continue
        if titles is None:
            raise format_error(readme, lineno, "a file row before the table's '|File|' header")
        cells = [c.strip() for c in m.group(2).split("|")][: len(titles)]
        if len(cells) < len(titles) or any(c not in ("OK", "Corrupted", "") for c in cells):
            raise format_error(readme, lineno, f"unexpected cells {cells!r}")
        out[m.group(1)] = {t: c != "OK" for t, c in zip(titles, cells, strict=True)}
    wanted = {title for _, title in POSITIONS.values()}
    if not out or titles is None or set(titles) != wanted:
        raise format_error(readme, None, f"no table of '{README_MARK}' with columns {wanted}")
    return out


def left_out(root: Path, position: str = DEFAULT_POSITION) -> list[str]:
    """Names of the data files under ``root`` the authors list as corrupted for ``position``."""
    title = POSITIONS[_check_position(position)][1]
    table = corrupted_table(find_readme(root))
    return [p.name for p in data_files(root) if table.get(p.name, {}).get(title, False)]


def load(root: Path, position: str = DEFAULT_POSITION, **options: object) -> list[Recording]:
    """Every HuGaDB v1 file under ``root`` for one sensor, less those corrupted for it."""
    if options:
        raise TypeError(f"HuGaDB options: position; got {sorted(options)}")
    position = _check_position(position)
    files = data_files(root)
    if not files:
        raise DatasetMissing(f"no HuGaDB_v1_<activity>_<subject>_<counter>.txt files under {root}")
    drop = set(left_out(root, position))
    todo = [p for p in files if p.name not in drop]
    # all files through one bulk parser (a few read_csv calls), read lazily
    tables = read_numeric_tables(
        (_body(p) for p in todo), "i" * len(COLUMNS), sep="\t", usecols=_columns(position)
    )
    recs = []
    for path, x in zip(todo, tables, strict=True):
        rec = _recording(path, x, _HEADER_LINES, position)
        if (rec.labels >= 0).any():
            recs.append(rec)
    return recs


def read_file(path: Path, position: str = DEFAULT_POSITION) -> Recording:
    """One HuGaDB file as a Recording of one sensor (no corrupted-file check: see :func:`load`)."""
    position = _check_position(position)
    body = _body(path)
    (x,) = read_numeric_tables([body], "i" * len(COLUMNS), sep="\t", usecols=_columns(position))
    return _recording(path, x, _HEADER_LINES, position)


def _body(path: Path) -> tuple[Path, bytes, int, int]:
    """The file's bytes (line ends made LF), where its rows start, after checking its header."""
    if not _FILE_RE.match(path.name):
        raise format_error(path, None, "not named HuGaDB_v1_<activity>_<subject>_<counter>.txt")
    raw = path.read_bytes().replace(b"\r\n", b"\n")
    lines = raw.split(b"\n", 4)
    if len(lines) < 5:
        raise format_error(path, None, "fewer than the 4 header lines and a data row")
    head = [ln.decode("utf-8", "replace").strip() for ln in lines[:4]]
    for i, tag in enumerate(("#Activity", "#ActivityID", "#Date")):
        if head[i].split(maxsplit=1)[0:1] != [tag]:
            raise format_error(path, i + 1, f"expected a {tag} header line, found {head[i]!r}")
    if tuple(head[3].split("\t")) != COLUMNS:
        raise format_error(path, 4, f"unexpected column header {head[3][:80]!r}")
    start = len(raw) - len(lines[4])
    if content_end(raw, start) == start:
        raise format_error(path, 4, "no data rows after the header")
    return path, raw, start, _HEADER_LINES


def _recording(path: Path, x: np.ndarray, offset: int, position: str) -> Recording:
    """A Recording from the parsed sensor columns (acc xyz, gyro xyz, activity id)."""
    m = _FILE_RE.match(path.name)
    if not m:  # checked by _body
        raise format_error(path, None, "not named HuGaDB_v1_<activity>_<subject>_<counter>.txt")
    activity, subject, counter = m.group(1), m.group(2), m.group(3)
    _check_range(path, x, offset)
    n = len(x)
    t = np.arange(n, dtype=np.float64) / RATE
    return Recording(
        dataset=NAME,
        subject=str(int(subject)),
        session=f"{activity}_{counter}",
        device=DEVICE,
        position=position.replace("_", " "),
        acc=Stream(t, x[:, 0:3] * ACC_PER_COUNT),
        gyro=Stream(t.copy(), x[:, 3:6] * GYRO_PER_COUNT),
        labels=_LUT[x[:, 6].astype(np.int64)],
        nominal_rate=RATE,
        meta={"file": path.name, "activity": activity, "counter": int(counter)},
    )


def _check_range(path: Path, x: np.ndarray, offset: int) -> None:
    """int16 sensor values and known activity ids, else the file and line of the first bad row."""
    bad_value = ((x[:, :6] < -32768) | (x[:, :6] > 32767)).any(axis=1)
    bad_id = ~np.isin(x[:, 6], list(ACTIVITIES))
    bad = np.flatnonzero(bad_value | bad_id)
    if len(bad):
        i = int(bad[0])
        what = (
            f"activity id {int(x[i, 6])} is not one of 1-12"
            if bad_id[i]
            else "a sensor value outside int16"
        )
        raise format_error(path, offset + i + 1, what)
