"""Writers of tiny files in each dataset's exact published format, for loader tests.

The header lines and template rows are genuine excerpts of the original files (see
``../shared/reference/format-excerpts``), embedded here so the format tests run without the
shared folder. Generated rows reuse those exact textual layouts (separators, number formats,
header blocks), only with values the tests choose.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------- HHAR (Phones_*.csv)
HHAR_HEADER = "Index,Arrival_Time,Creation_Time,x,y,z,User,Model,Device,gt"
#: the first three rows of the real Phones_accelerometer.csv
HHAR_ACC_EXCERPT = (
    "0,1424696633908,1424696631913248572,-5.958191,0.6880646,8.135345,a,nexus4,nexus4_1,stand\n"
    "1,1424696633909,1424696631918283972,-5.95224,0.6702118,8.136536,a,nexus4,nexus4_1,stand\n"
    "2,1424696633918,1424696631923288855,-5.9950867,0.6535491999999999,8.204376,a,nexus4,nexus4_1,stand\n"
)


def hhar_row(
    index: int, t_ns: int, xyz: Sequence[float], user: str, model: str, device: str, gt: str
) -> str:
    """One row as in Phones_*.csv: Arrival_Time (ms) is Creation_Time rounded plus ~2 s."""
    arrival = t_ns // 1_000_000 + 1995
    return f"{index},{arrival},{t_ns},{xyz[0]!r},{xyz[1]!r},{xyz[2]!r},{user},{model},{device},{gt}"


def write_hhar(root: Path, acc_rows: Iterable[str], gyro_rows: Iterable[str]) -> Path:
    """``root/Activity recognition exp/Phones_{accelerometer,gyroscope}.csv``."""
    d = root / "Activity recognition exp"
    d.mkdir(parents=True, exist_ok=True)
    for fname, rows in (
        ("Phones_accelerometer.csv", acc_rows),
        ("Phones_gyroscope.csv", gyro_rows),
    ):
        (d / fname).write_text(HHAR_HEADER + "\n" + "".join(r + "\n" for r in rows))
    return d


# ---------------------------------------------------------------- MobiAct / MobiFall raw
#: the genuine header block of MobiAct v1's WAL_acc_1_1.txt
MOBIACT_ACC_HEADER = """#Acceleration force along the x y z axes (including gravity).
#timestamp(ns),x,y,z(m/s^2)
#Datetime: 22/12/2015 09:57:17
##########################################
#Activity: 2 - WAL - Walking - 300s
#Subject ID: 1
#First Name: sub1
#Last Name: sub1
#Age: 32
#Height(cm): 180
#Weight(kg): 85
#Gender: Male
##########################################

@DATA
"""
#: its first data rows
MOBIACT_ACC_EXCERPT = """2037202661000, -1.5035586, 9.270349, -1.9919758
2037400848000, -0.94810385, 10.381259, -1.6376339
2037601240000, -5.841852, 8.695741, -2.8634653
2037801633000, -1.292869, 11.779472, 1.8962077
2038001435000, -1.3120226, 10.936713, 5.4300494
"""
#: the gyro header block as in MobiFall v2.0's files
MOBIACT_GYRO_HEADER = """#Rate of rotation around the x y z axes (Angular velocity).
#timestamp(ns),x,y,z(rad/s)
#Datetime: 22/12/2015 09:57:17
##########################################
#Activity: 2 - WAL - Walking - 300s
#Subject ID: 1
#First Name: sub1
#Last Name: sub1
#Age: 32
#Height(cm): 180
#Weight(kg): 85
#Gender: Male
##########################################


@DATA
"""


def mobiact_rows(t_ns: Sequence[int], xyz: np.ndarray) -> str:
    """Data rows ``timestamp, x, y, z`` with the files' ', ' separator."""
    return "".join(
        f"{t}, {v[0]!r}, {v[1]!r}, {v[2]!r}\n" for t, v in zip(t_ns, xyz.tolist(), strict=True)
    )


def write_mobiact_raw(
    root: Path,
    code: str,
    sensor: str,
    subject: int,
    trial: int,
    body: str,
    layout: str = "mobiact",
) -> Path:
    """One ``<CODE>_<sensor>_<subject>_<trial>.txt`` in the MobiAct v1 or MobiFall layout."""
    if layout == "mobifall":
        d = root / "MobiFall_Dataset_v2.0" / f"sub{subject}" / "ADL" / code
    else:
        d = root / "MobiAct_Dataset" / code
    d.mkdir(parents=True, exist_ok=True)
    header = MOBIACT_ACC_HEADER if sensor == "acc" else MOBIACT_GYRO_HEADER
    p = d / f"{code}_{sensor}_{subject}_{trial}.txt"
    p.write_text(header + body)
    return p


MOBIACT_ANNOTATED_HEADER = (
    "timestamp,rel_time,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,azimuth,pitch,roll,label"
)


def write_mobiact_annotated(
    root: Path,
    code: str,
    subject: int,
    trial: int,
    t_ns: Sequence[int],
    x: np.ndarray,
    labels: Sequence[str],
) -> Path:
    """``Annotated Data/<CODE>/<CODE>_<subject>_<trial>_annotated.csv`` (MobiAct v2)."""
    d = root / "MobiAct_Dataset_v2.0" / "Annotated Data" / code
    d.mkdir(parents=True, exist_ok=True)
    t0 = t_ns[0]
    lines = [MOBIACT_ANNOTATED_HEADER]
    for t, v, lab in zip(t_ns, x.tolist(), labels, strict=True):
        vals = ",".join(repr(float(a)) for a in v)
        lines.append(f"{t},{(t - t0) / 1e9!r},{vals},12.5,-80.1,3.2,{lab}")
    p = d / f"{code}_{subject}_{trial}_annotated.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


# ---------------------------------------------------------------- PAMAP2
#: the first row of Protocol/subject101.dat (54 fields)
PAMAP2_ROW1 = (
    "8.38 0 104 30 2.37223 8.60074 3.51048 2.43954 8.76165 3.35465 -0.0922174 0.0568115 "
    "-0.0158445 14.6806 -69.2128 -5.58905 1 0 0 0 31.8125 0.23808 9.80003 -1.68896 0.265304 "
    "9.81549 -1.41344 -0.00506495 -0.00678097 -0.00566295 0.47196 -51.0499 43.2903 1 0 0 0 "
    "30.3125 9.65918 -1.65569 -0.0997967 9.64689 -1.55576 0.310404 0.00830026 0.00925038 "
    "-0.0175803 -61.1888 -38.9599 -58.1438 1 0 0 0"
)


def pamap2_row(t: float, activity: int, nan_imu: str | None = None, **shift: float) -> str:
    """A row like PAMAP2_ROW1 with another timestamp/activity; ``nan_imu`` blanks an IMU (NaN).

    ``shift`` adds a value to every acc16 field of an IMU (e.g. ``chest=1.0``) so tests can
    tell which IMU a loader read.
    """
    f = PAMAP2_ROW1.split(" ")
    f[0] = f"{t:.2f}"
    f[1] = str(activity)
    f[2] = "NaN" if activity else f[2]
    for imu, off in (("hand", 3), ("chest", 20), ("ankle", 37)):
        if imu in shift:
            for j in range(off + 1, off + 4):
                f[j] = repr(float(f[j]) + shift[imu])
        if nan_imu == imu:
            for j in range(off, off + 17):
                f[j] = "NaN"
    return " ".join(f)


def write_pamap2(
    root: Path, subject: int, rows: Iterable[str], top: str = "PAMAP2_Dataset"
) -> Path:
    """``root/PAMAP2_Dataset/Protocol/subject<id>.dat`` (space-separated, no header)."""
    d = (root / top / "Protocol") if top else (root / "Protocol")
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"subject{subject}.dat"
    p.write_text("".join(r + "\n" for r in rows))
    return p


# ---------------------------------------------------------------- RealWorld 2016
RW_HEADER = "id,attr_time,attr_x,attr_y,attr_z"
#: genuine rows of acc_walking_shin.csv / gyr_walking_shin.csv (header lines absent there)
RW_ACC_EXCERPT = (
    "10870,1435993377002,-2.606687,8.921394,-2.428319\n"
    "10871,1435993377022,0.008379706,9.179369,0.0053869537\n"
    "10872,1435993377043,-0.80325466,4.8458643,5.217564\n"
)
RW_GYR_EXCERPT = (
    "1,1435993159432,-0.002443461,0.04062254,-0.023823744\n"
    "2,1435993159452,-0.0033597588,0.02107485,-0.017715093\n"
    "3,1435993159471,-0.0018325958,0.015882496,-0.019547688\n"
)


def rw_csv(t_ms: Sequence[int], xyz: np.ndarray, first_id: int = 1) -> str:
    """A RealWorld sensor CSV (with its header) for the given epoch-ms times and values."""
    rows = [RW_HEADER]
    for i, (t, v) in enumerate(zip(t_ms, xyz.tolist(), strict=True)):
        rows.append(f"{first_id + i},{t},{v[0]!r},{v[1]!r},{v[2]!r}")
    return "\n".join(rows) + "\n"


def zip_bytes(members: dict[str, bytes | str]) -> bytes:
    """A zip archive in memory with the given members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def write_realworld(
    root: Path, proband: int, sensor: str, activity: str, members: dict[str, bytes | str]
) -> Path:
    """``root/proband<k>/data/<acc|gyr>_<activity>_csv.zip`` holding ``members``."""
    d = root / f"proband{proband}" / "data"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{sensor}_{activity}_csv.zip"
    p.write_bytes(zip_bytes(members))
    return p


# ---------------------------------------------------------------- UCI HAR v1 and HAPT raw
def _uci_v1_line(vals: np.ndarray) -> str:
    # UCI HAR v1 writes each value as '  1.0128500e+000' (two spaces, 3-digit exponent)
    out = []
    for v in vals:
        m, e = f"{v:.7e}".split("e")
        out.append(f" {m}e{int(e):+04d}".rjust(16))
    return "".join(out)


def write_uci_v1(
    root: Path,
    split: str,
    acc_g: list[np.ndarray],
    gyro: list[np.ndarray],
    y: list[np.ndarray],
    subjects: list[int],
) -> Path:
    """``UCI HAR Dataset/<split>/`` from continuous per-run signals, cut into 128/64 windows.

    ``acc_g[i]`` (n, 3) in g, ``gyro[i]`` (n, 3), ``y[i]`` one label per window of run i.
    """
    base = root / "UCI HAR Dataset" / split
    sig = base / "Inertial Signals"
    sig.mkdir(parents=True, exist_ok=True)
    acc_w, gyr_w, ys, ss = [], [], [], []
    for a, g, lab, s in zip(acc_g, gyro, y, subjects, strict=True):
        nw = (len(a) - 128) // 64 + 1
        assert len(lab) == nw
        for k in range(nw):
            acc_w.append(a[64 * k : 64 * k + 128])
            gyr_w.append(g[64 * k : 64 * k + 128])
            ys.append(int(lab[k]))
            ss.append(s)
    for j, ax in enumerate("xyz"):
        for kind, ws in (("total_acc", acc_w), ("body_gyro", gyr_w)):
            lines = [_uci_v1_line(w[:, j]) for w in ws]
            (sig / f"{kind}_{ax}_{split}.txt").write_text("\n".join(lines) + "\n")
    (base / f"y_{split}.txt").write_text("".join(f"{v}\n" for v in ys))
    (base / f"subject_{split}.txt").write_text("".join(f"{v}\n" for v in ss))
    return base


def write_uci_hapt(
    root: Path,
    exp: int,
    user: int,
    acc_g: np.ndarray,
    gyro: np.ndarray,
    labels: list[tuple[int, int, int]],
) -> Path:
    """``HAPT Data Set/RawData/{acc,gyro}_expXX_userYY.txt`` and rows of ``labels.txt``."""
    d = root / "HAPT Data Set" / "RawData"
    d.mkdir(parents=True, exist_ok=True)
    for kind, x in (("acc", acc_g), ("gyro", gyro)):
        (d / f"{kind}_exp{exp:02d}_user{user:02d}.txt").write_text(
            "".join(f"{v[0]!r} {v[1]!r} {v[2]!r}\n" for v in x.tolist())
        )
    with open(d / "labels.txt", "a") as fh:
        for act, start, end in labels:
            fh.write(f"{exp} {user} {act} {start} {end}\n")
    return d


# ---------------------------------------------------------------- MotionSense
MS_HEADER = (
    ",attitude.roll,attitude.pitch,attitude.yaw,gravity.x,gravity.y,gravity.z,"
    "rotationRate.x,rotationRate.y,rotationRate.z,"
    "userAcceleration.x,userAcceleration.y,userAcceleration.z"
)
#: the first two data rows of A_DeviceMotion_data/std_6/sub_1.csv
MS_EXCERPT = (
    "0,2.489271,-1.397067,1.89969,0.104929,0.9849469999999999,0.13736500000000001,-0.060667,"
    "-0.333742,-0.008674,0.0071920000000000005,-0.004249,0.06598899999999999\n"
    "1,2.488154,-1.396068,1.905025,0.105682,0.9847739999999999,0.13802999999999999,-0.07334,"
    "-0.302813,-0.006666,-0.082061,0.0048200000000000005,0.022905000000000002\n"
)


def write_motionsense(root: Path, trial: str, subject: int, body: str) -> Path:
    """``A_DeviceMotion_data/<trial>/sub_<N>.csv``."""
    d = root / "A_DeviceMotion_data" / trial
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"sub_{subject}.csv"
    p.write_text(MS_HEADER + "\n" + body)
    return p


# ---------------------------------------------------------------- HuGaDB v1
#: the column header of every HuGaDB v1 file (tab-separated, the 4th line)
HUGADB_COLUMNS = (
    "acc_rf_x\tacc_rf_y\tacc_rf_z\tgyro_rf_x\tgyro_rf_y\tgyro_rf_z\t"
    "acc_rs_x\tacc_rs_y\tacc_rs_z\tgyro_rs_x\tgyro_rs_y\tgyro_rs_z\t"
    "acc_rt_x\tacc_rt_y\tacc_rt_z\tgyro_rt_x\tgyro_rt_y\tgyro_rt_z\t"
    "acc_lf_x\tacc_lf_y\tacc_lf_z\tgyro_lf_x\tgyro_lf_y\tgyro_lf_z\t"
    "acc_ls_x\tacc_ls_y\tacc_ls_z\tgyro_ls_x\tgyro_ls_y\tgyro_ls_z\t"
    "acc_lt_x\tacc_lt_y\tacc_lt_z\tgyro_lt_x\tgyro_lt_y\tgyro_lt_z\tEMG_r\tEMG_l\tact"
)
#: the header block and first data row of HuGaDB/Data/HuGaDB_v1_walking_08_00.txt (CRLF)
HUGADB_EXCERPT = (
    "#Activity\twalking \r\n#ActivityID\t1 \r\n#Date 09-07-16-13\r\n" + HUGADB_COLUMNS + "\r\n"
    "-8336\t-5652\t12600\t24\t175\t164\t-10808\t-11968\t848\t-565\t1\t535\t-13952\t-3632\t648\t"
    "-276\t2447\t1729\t-10752\t2832\t16072\t791\t-5443\t2839\t-13928\t640\t-2048\t-1326\t-4509\t"
    "2536\t-5024\t2440\t-13760\t-1815\t-2172\t-158\t125\t117\t1\r\n"
)
#: the corrupted-gyroscope table of the authors' README.md, its header and three genuine rows
#: (two cell layouts, and the one blank cell)
HUGADB_README_HEAD = (
    "## Corrupted gyroscope data\n\n"
    "Here is a table with a list of files with various activities which contain incorrect data.\n\n"
    "<details><summary>Corrupted gyroscope data in files with various activities</summary>\n"
    "<p>\n\n"
    "|File| Right foot | Left foot | Right shank | Left shank | Right thigh | Left thigh |\n"
    "|----|------------|-----------|------------|-----------|-------------|------------|\n"
)
HUGADB_README_ROWS = (
    "|HuGaDB_v1_various_03_00.txt | \tCorrupted\t\t|\tOK\t\t| \tCorrupted\t\t|\tOK\t\t| "
    "\tCorrupted\t\t|\tOK\t\t|\t\t\n"
    " | HuGaDB_v1_walking_18_00.txt  | \t Corrupted | \tCorrupted | \tCorrupted | \tCorrupted | "
    "\tOK | \tCorrupted | \t\n"
    "| HuGaDB_v1_sitting_05_01.txt |   OK        | Corrupted |           |     OK        |    OK"
    "       |    OK        |\n"
)
#: the order of the six sensors in a row, and the README's columns
HUGADB_SENSORS = ("rf", "rs", "rt", "lf", "ls", "lt")
HUGADB_README_COLUMNS = {
    "Right foot": "rf",
    "Left foot": "lf",
    "Right shank": "rs",
    "Left shank": "ls",
    "Right thigh": "rt",
    "Left thigh": "lt",
}


def hugadb_rows(sensors: dict[str, np.ndarray], acts: Sequence[int], crlf: bool = True) -> str:
    """Data rows: ``sensors`` maps a sensor code to (n, 6) int16 counts (acc xyz, gyro xyz);
    the others read 0; both EMG columns read 125 (as in the real files); then the activity id."""
    n = len(acts)
    cols = []
    for s in HUGADB_SENSORS:
        cols.append(np.asarray(sensors.get(s, np.zeros((n, 6))), dtype=np.int64))
    body = np.hstack([*cols, np.full((n, 2), 125), np.asarray(acts, np.int64)[:, None]])
    eol = "\r\n" if crlf else "\n"
    return "".join("\t".join(str(int(v)) for v in row) + eol for row in body)


def write_hugadb(
    root: Path,
    activity: str,
    subject: int,
    counter: int,
    sensors: dict[str, np.ndarray],
    acts: Sequence[int],
    crlf: bool = True,
) -> Path:
    """``root/HuGaDB/Data/HuGaDB_v1_<activity>_<SS>_<CC>.txt``, header as in the real files
    (the activity names and ids in order of appearance, each followed by a space)."""
    d = root / "HuGaDB" / "Data"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"HuGaDB_v1_{activity}_{subject:02d}_{counter:02d}.txt"
    ids = list(dict.fromkeys(int(a) for a in acts))
    eol = "\r\n" if crlf else "\n"
    head = (
        f"#Activity\t{activity} {eol}#ActivityID\t{''.join(f'{i} ' for i in ids)}{eol}"
        f"#Date 09-07-16-13{eol}{HUGADB_COLUMNS}{eol}"
    )
    p.write_bytes((head + hugadb_rows(sensors, acts, crlf)).encode())
    return p


def write_hugadb_readme(root: Path, rows: dict[str, dict[str, str]] | None = None) -> Path:
    """``root/HuGaDB/README.md`` with the corrupted-gyroscope table: the genuine rows, then
    ``rows`` (file name -> {README column: 'OK' | 'Corrupted'}; unnamed columns 'OK')."""
    lines = []
    for name, cells in (rows or {}).items():
        vals = [cells.get(c, "OK") for c in HUGADB_README_COLUMNS]
        lines.append(f"|{name} | " + " | ".join(f"\t{v}\t" for v in vals) + " |\n")
    p = root / "HuGaDB" / "README.md"
    p.parent.mkdir(parents=True, exist_ok=True)
    text = "# HuGaDB\n\n" + HUGADB_README_HEAD + HUGADB_README_ROWS + "".join(lines)
    p.write_text(text + " \n</p>\n</details>\n\n# Citation\n")
    return p
